// nsenter: the part of `rt init` that must run before the Go runtime starts its threads.
//
// setns(2) into a user or mount namespace, and unshare(CLONE_NEWUSER), require a single-threaded caller, and a new
// pid or time namespace only applies to children. So this constructor runs first, in the process that the parent
// exec'd as `rt init`, and does all namespace work there: it reads the bootstrap records (up to REC_END; the config
// that follows later is the Go init's), joining a container's v1 cgroups as their records come (join_cgroup: moving
// itself, which only a single thread can do for the whole process), joins and creates the namespaces, asks the
// parent for uid/gid maps (MSG_USERMAP), clones the container process with CLONE_PARENT, reports its pid (MSG_PID)
// and exits. The protocol and its one diagram: libcontainer/sync.go.
//
// Every failure is sent to the parent as MSG_ERROR with a message naming the operation, then the child exits 1.
// The parent reports it; nothing is printed here.

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include "nsenter.h"

#define MAX_PATHS 16
#define MAX_PAYLOAD 4096

struct bootstrap {
	uint32_t cloneflags;
	int npaths;
	uint32_t pathtypes[MAX_PATHS];
	char paths[MAX_PATHS][MAX_PAYLOAD];
	char timeoffsets[MAX_PAYLOAD];
	int has_timeoffsets;
	int nondumpable;
};

static int syncfd = -1;

unsigned long rt_caller_timerslack;

// Every rt process runs with a timer slack of RT_TIMERSLACK_NS (1 ms) rather than the usual 50 us, set here so
// that every thread the Go runtime starts inherits it (prctl(2): new threads and children inherit the slack, and
// execve(2) keeps it). The runtime's sysmon thread polls with 20 us sleeps while any goroutine runs or sits in a
// syscall, backing off only after 50 quiet rounds: with the larger slack it wakes about a quarter as often
// (nanosleeps per `rt run` 207 -> 59) for timers up to 1 ms late, which nothing in rt waits on closely. Every
// child gets the caller's slack back: they are started on a thread that has it (nsenter.WithCallerTimerSlack),
// and `rt init` restores it before it starts or execs anything (nsenter.RestoreCallerTimerSlack). A caller's
// slack of 1 ms or more, or one prctl cannot return whole, is left as it is. In `rt init` it is raised only once
// the container's process is cloned: a clone's default slack, which PR_SET_TIMERSLACK 0 or a 0 written to
// /proc/PID/timerslack_ns gives back, is the slack its parent has at the clone (kernel/fork.c copy_process), and
// must be the caller's, as with runc.
static void raise_timerslack(void)
{
	int slack = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);

	if (slack <= 0 || slack >= RT_TIMERSLACK_NS)
		return;
	if (prctl(PR_SET_TIMERSLACK, RT_TIMERSLACK_NS, 0, 0, 0) == 0)
		rt_caller_timerslack = slack;
}

// Send one framed message to the parent in a single write, so that it cannot interleave with one from the
// cloned init on the same socket. Errors are ignored because there is nobody left to tell.
static void send_msg(uint32_t type, const void *data, uint32_t len)
{
	char buf[sizeof(uint32_t) * 2 + 1024];
	uint32_t hdr[2] = { type, len };

	if (len > sizeof(buf) - sizeof(hdr))
		len = hdr[1] = sizeof(buf) - sizeof(hdr);
	memcpy(buf, hdr, sizeof(hdr));
	if (len > 0)
		memcpy(buf + sizeof(hdr), data, len);
	if (write(syncfd, buf, sizeof(hdr) + len) < 0)
		return;
}

// Report a failure to the parent and exit. The message carries the operation and errno text.
static void __attribute__((noreturn, format(printf, 1, 2))) fail(const char *fmt, ...)
{
	char buf[1024];
	int saved = errno;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if (saved != 0 && (size_t)n < sizeof(buf))
		snprintf(buf + n, sizeof(buf) - n, ": %s", strerror(saved));
	send_msg(MSG_ERROR, buf, strlen(buf));
	_exit(1);
}

// Read exactly len bytes or fail.
static void read_full(void *buf, size_t len)
{
	char *p = buf;
	while (len > 0) {
		ssize_t n = read(syncfd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			errno = n == 0 ? EPIPE : errno;
			fail("nsenter: read bootstrap message");
		}
		p += n;
		len -= n;
	}
}

// join_cgroup moves this process into the cgroup v1 cgroup whose `tasks` file is path by writing "0", the writing
// thread (cgroups(7)): the process is single-threaded, so the thread is all of it, and the container process cloned
// later starts there. A thread that moves itself takes no cgroup_threadgroup_rwsem (kernel/cgroup/cgroup.c,
// cgroup_procs_write_start), where the parent's write of a pid to cgroup.procs takes it for writing: the first
// writer after an idle spell waits for an RCU grace period (percpu_down_write -> rcu_sync_enter), 1-10 ms here,
// holding cgroup_mutex, which every other cgroup change on the host then waits for too.
static void join_cgroup(const char *path)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		fail("nsenter: join cgroup: open %s", path);
	if (write(fd, "0", 1) != 1)
		fail("nsenter: join cgroup: write %s", path);
	close(fd);
}

static void read_bootstrap(struct bootstrap *b)
{
	for (;;) {
		uint32_t hdr[2];
		char payload[MAX_PAYLOAD];

		read_full(hdr, sizeof(hdr));
		if (hdr[0] == REC_END)
			return;
		if (hdr[1] >= sizeof(payload)) {
			errno = E2BIG;
			fail("nsenter: record %u", hdr[0]);
		}
		read_full(payload, hdr[1]);
		payload[hdr[1]] = '\0';

		switch (hdr[0]) {
		case REC_CLONE_FLAGS:
			if (hdr[1] != sizeof(uint32_t)) {
				errno = EINVAL;
				fail("nsenter: clone flags record");
			}
			memcpy(&b->cloneflags, payload, sizeof(uint32_t));
			break;
		case REC_NS_PATH:
			// payload: 4-byte CLONE_NEW* type, then the path.
			if (hdr[1] <= sizeof(uint32_t) || b->npaths == MAX_PATHS) {
				errno = EINVAL;
				fail("nsenter: namespace path record");
			}
			memcpy(&b->pathtypes[b->npaths], payload, sizeof(uint32_t));
			strcpy(b->paths[b->npaths], payload + sizeof(uint32_t));
			b->npaths++;
			break;
		case REC_TIME_OFFSETS:
			strcpy(b->timeoffsets, payload);
			b->has_timeoffsets = 1;
			break;
		case REC_NONDUMPABLE:
			b->nondumpable = 1;
			break;
		case REC_CGROUP_TASKS:
			// Joined as it comes: before any namespace is joined or made, from the host's mount namespace,
			// and before the clone, which then inherits it.
			join_cgroup(payload);
			break;
		default:
			errno = EINVAL;
			fail("nsenter: unknown record type %u", hdr[0]);
		}
	}
}

// join_pass joins the namespaces of the kinds in allow that are not joined yet, and returns those it joined. A
// namespace the caller may not join yet (EPERM) is left for a later pass; any other error is fatal.
static uint32_t join_pass(struct bootstrap *b, int *fds, uint32_t allow)
{
	uint32_t joined = 0;
	int i;

	for (i = 0; i < b->npaths; i++) {
		uint32_t type = b->pathtypes[i];

		if (fds[i] < 0 || !(type & allow))
			continue;
		if (setns(fds[i], type) < 0) {
			if (errno == EPERM)
				continue;
			fail("nsenter: setns %s namespace %s", ns_name(type), b->paths[i]);
		}
		close(fds[i]);
		fds[i] = -1;
		joined |= type;
		// Become the joined namespace's root: the host ids may not be mapped there, and files could not be
		// created with them (EOVERFLOW). runc does the same.
		if (type == CLONE_NEWUSER && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
			fail("nsenter: become root in user namespace %s", b->paths[i]);
	}
	return joined;
}

// Join the namespaces named by path. All paths are opened first: joining a mount namespace changes what later paths
// resolve to. Three passes, as runc's nsexec joins them: every other namespace the caller may join with its own
// credentials (one that the user namespace to join does not own, such as a host netns, can only be joined then),
// then the user namespace, then the rest with the capabilities it gives (a rootless caller's).
static void join_namespaces(struct bootstrap *b)
{
	int fds[MAX_PATHS];
	uint32_t joined = 0;
	int i;

	for (i = 0; i < b->npaths; i++) {
		fds[i] = open(b->paths[i], O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0)
			fail("nsenter: open %s namespace %s", ns_name(b->pathtypes[i]), b->paths[i]);
	}
	joined |= join_pass(b, fds, ~(uint32_t)CLONE_NEWUSER);
	joined |= join_pass(b, fds, CLONE_NEWUSER);
	joined |= join_pass(b, fds, ~(uint32_t)CLONE_NEWUSER & ~joined);
	for (i = 0; i < b->npaths; i++) {
		if (fds[i] >= 0) {
			errno = EPERM;
			fail("nsenter: setns %s namespace %s", ns_name(b->pathtypes[i]), b->paths[i]);
		}
	}
}

// Create a user namespace and wait for the parent to write its uid and gid maps, then become its root.
static void new_user_namespace(void)
{
	uint32_t hdr[2];

	// The parent writes /proc/<pid>/uid_map; that file belongs to root unless the process is dumpable.
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
		fail("nsenter: prctl PR_SET_DUMPABLE");
	if (unshare(CLONE_NEWUSER) < 0)
		fail("nsenter: unshare user namespace");
	send_msg(MSG_USERMAP, NULL, 0);
	read_full(hdr, sizeof(hdr));
	if (hdr[0] != MSG_USERMAP_DONE) {
		errno = EPROTO;
		fail("nsenter: waiting for uid/gid maps");
	}
	if (setresgid(0, 0, 0) < 0)
		fail("nsenter: setresgid 0 in the new user namespace");
	if (setresuid(0, 0, 0) < 0)
		fail("nsenter: setresuid 0 in the new user namespace");
}

// open_timens_offsets opens /proc/self/timens_offsets before any namespace is joined or created, while the file
// is still the caller's: after unshare(CLONE_NEWUSER) and the switch to the new namespace's root, the process is
// not dumpable and its /proc files belong to a host root it no longer is (EACCES). The write through this fd is
// checked against the opener's credentials (CAP_SYS_TIME over the time namespace's owner, proc(5)), which hold.
static int open_timens_offsets(void)
{
	int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		fail("nsenter: open /proc/self/timens_offsets");
	return fd;
}

static void write_timens_offsets(int fd, const char *offsets)
{
	size_t len = strlen(offsets);

	if (write(fd, offsets, len) != (ssize_t)len)
		fail("nsenter: write /proc/self/timens_offsets %s", offsets);
	close(fd);
}

// Runs before main() and before the Go runtime starts any thread; past the timer slack, a no-op unless the parent
// set ENV_INITSOCK.
__attribute__((constructor)) static void rt_nsenter(void)
{
	// Static, so zero from the start (.bss) with its pages faulted in only as far as the records fill them: the
	// memset of a stack copy (~70 KB of path buffers) faulted in 17 pages in every bootstrap.
	static struct bootstrap b;
	const char *env = getenv(ENV_INITSOCK);
	uint32_t rest;
	int timensfd = -1;
	pid_t pid;

	if (env == NULL) {
		raise_timerslack();
		return;
	}
	syncfd = atoi(env);
	read_bootstrap(&b);

	if (b.has_timeoffsets)
		timensfd = open_timens_offsets();
	join_namespaces(&b);
	if (b.cloneflags & CLONE_NEWUSER)
		new_user_namespace();
	rest = b.cloneflags & ~CLONE_NEWUSER;
	if (rest != 0 && unshare(rest) < 0)
		fail("nsenter: unshare namespaces 0x%x", rest);
	if (b.has_timeoffsets)
		write_timens_offsets(timensfd, b.timeoffsets);
	// A process entering a running container must not be ptrace-able or readable through /proc by the
	// container's processes until it has exec'd (CVE-2016-9962); execve(2) resets the flag. The clone inherits it.
	if (b.nondumpable && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		fail("nsenter: prctl PR_SET_DUMPABLE 0");

	// A new (or joined) pid or time namespace applies to children only, so the init is a child. CLONE_PARENT
	// makes it the parent's child, so `rt run` and `rt exec` wait for it directly.
	pid = syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
	if (pid < 0)
		fail("nsenter: clone init");
	if (pid > 0) {
		uint32_t p = pid;
		send_msg(MSG_PID, &p, sizeof(p));
		_exit(0);
	}
	raise_timerslack();
	// The container's processes get their own session, as runc's init does.
	if (setsid() < 0)
		fail("nsenter: setsid");
}
