// Package report holds the JSON shapes the probe prints (tests/probe) and the integration tests decode
// (tests/integration), so the two cannot drift apart.
package report

// Self is what `probe self` prints: the calling process as the kernel sees it.
type Self struct {
	Args       []string          `json:"args"`
	Pid        int               `json:"pid"`
	Ppid       int               `json:"ppid"`
	UID        int               `json:"uid"`
	GID        int               `json:"gid"`
	Groups     []int             `json:"groups"`
	Umask      string            `json:"umask"`
	Cwd        string            `json:"cwd"`
	Hostname   string            `json:"hostname"`
	Domainname string            `json:"domainname"`
	Caps       map[string]string `json:"caps"`
	// Rlimits maps RLIMIT_* names to {soft, hard}. Go (1.19+) raises its own RLIMIT_NOFILE soft limit to the
	// hard one at start-up, so the NOFILE soft value seen here is not the one the runtime set; read it with
	// busybox `ulimit -n` instead.
	Rlimits    map[string][2]uint64 `json:"rlimits"`
	NoNewPrivs int                  `json:"no_new_privs"`
	Seccomp    int                  `json:"seccomp"`
	OOMScore   int                  `json:"oom_score_adj"`
	Env        []string             `json:"env"`
	Fds        map[string]string    `json:"fds"`
	Namespaces map[string]string    `json:"namespaces"`
	Mountinfo  []string             `json:"mountinfo"`
	// SessionKeyring is the serial of the session keyring (keyctl(2) KEYCTL_GET_KEYRING_ID), 0 if none.
	SessionKeyring int `json:"session_keyring"`
	// UIDMap and GIDMap are /proc/self/uid_map and gid_map as the kernel prints them (user_namespaces(7)).
	UIDMap string `json:"uid_map"`
	GIDMap string `json:"gid_map"`
	// Clocks maps "monotonic" and "boottime" to clock_gettime(2) in seconds: both are shifted by a time
	// namespace's offsets (time_namespaces(7)).
	Clocks map[string]float64 `json:"clocks"`

	// SchedPolicy, Nice and RTPriority are fields 41, 19 and 40 of /proc/self/stat (proc(5)): the SCHED_* number,
	// the nice value, the static real-time priority.
	SchedPolicy int `json:"sched_policy"`
	Nice        int `json:"nice"`
	RTPriority  int `json:"rt_priority"`
	// IOPrio is ioprio_get(2) of the process (IOPRIO_WHO_PROCESS, its pid): class<<13 | level.
	IOPrio int `json:"ioprio"`
	// CpusAllowed is the Cpus_allowed_list line of /proc/self/status, e.g. "0-1".
	CpusAllowed string `json:"cpus_allowed_list"`
	// Personality is /proc/self/personality (8 hex digits), Machine uname(2)'s machine (i686 under PER_LINUX32
	// on x86_64).
	Personality string `json:"personality"`
	Machine     string `json:"machine"`
	// MemPolicy is get_mempolicy(2)'s mode (with its MPOL_F_* mode flags), MemPolicyNodes the first word of its
	// node mask.
	MemPolicy      int    `json:"mempolicy"`
	MemPolicyNodes uint64 `json:"mempolicy_nodes"`
}

// Mount is one /proc/self/mountinfo line (proc(5)).
type Mount struct {
	Root       string `json:"root"`
	Mountpoint string `json:"mountpoint"`
	Options    string `json:"options"`
	FSType     string `json:"fstype"`
	Source     string `json:"source"`
	Super      string `json:"super"`
}

// Stat is the lstat(2) of one path.
type Stat struct {
	Path  string `json:"path"`
	Error string `json:"error,omitempty"`
	Type  string `json:"type,omitempty"` // file, dir, link, char, block, fifo, socket
	Mode  string `json:"mode,omitempty"` // permission bits incl. setuid/setgid/sticky, octal
	Major uint32 `json:"major"`
	Minor uint32 `json:"minor"`
	UID   int    `json:"uid"`
	GID   int    `json:"gid"`
	Link  string `json:"link,omitempty"`
}

// Result reports the outcome of `probe write`: Error is the errno name (EROFS, EACCES, ...) or "".
type Result struct {
	Error string `json:"error"`
}

// Iface is one network interface.
type Iface struct {
	Name  string `json:"name"`
	Up    bool   `json:"up"`
	Flags string `json:"flags"`
}

// Alloc is what `probe alloc` prints once every page is resident.
type Alloc struct {
	Allocated int `json:"allocated"`
}
