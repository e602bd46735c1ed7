// Command imageserver serves, from memory, the images critest pulls (under the exact names cri-tools v1.37.0's
// pkg/validate and pkg/framework use), as an OCI distribution registry on a loopback address. Nothing is fetched: the
// images are built at start from Debian's static busybox and from this binary itself, which is, under other names,
// the programs inside them (the pause of every pod, the nginx and httpd stand-ins, the nonewprivs probe, and pgrep
// and ipcs, which Debian's busybox lacks).
//
//	imageserver -addr 127.0.0.1:5000 -busybox build/cri/busybox /lib64/ld-linux-x86-64.so.2 /lib/x86_64-linux-gnu/libc.so.6
//
// Only what containerd's puller asks for is answered: GET/HEAD of /v2/, of /v2/NAME/manifests/REF and of
// /v2/NAME/blobs/DIGEST. The registry host is not part of the lookup (containerd's hosts.toml mirrors send every
// upstream registry here), so registry.k8s.io/pause and k8s.gcr.io/pause are one image, as critest expects.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
)

func main() {
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	switch filepath.Base(exe) {
	case "pause":
		pause()
	case "nginx":
		nginx(exe)
	case "httpd":
		httpd()
	case "nnp":
		fmt.Printf("Effective uid: %d\n", os.Geteuid())
	case "pgrep":
		pgrep()
	case "ipcs":
		ipcs()
	default:
		serve()
	}
}

func serve() {
	addr := flag.String("addr", "127.0.0.1:5000", "address to listen on")
	busybox := flag.String("busybox", "/bin/busybox", "busybox, the base of every image")
	flag.Parse()
	// The arguments are busybox's shared libraries, by the paths its dynamic loader finds them at.
	libs := flag.Args()
	log.SetFlags(0)
	log.SetPrefix("imageserver: ")
	self, err := os.Executable()
	if err != nil {
		log.Fatal(err)
	}
	reg, err := buildImages(*busybox, libs, self)
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	// The harness waits for this line before it starts containerd.
	fmt.Printf("serving %d images on %s\n", len(reg.tags), ln.Addr())
	log.Fatal(http.Serve(ln, reg))
}

// pause is the sandbox's init: it holds the pod's namespaces, reaps what is reparented to it, and exits on SIGINT or
// SIGTERM, as Kubernetes' pause does.
func pause() {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for sig := range sigs {
		if sig != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}

// nginx stands in for nginx as critest checks it: a process named nginx whose command line says "master process"
// (the PID namespace tests read /proc/1/cmdline and pidof nginx), its pid in /var/run/nginx.pid, and a 200 on
// $PORT (80 by default; 12003 in the host-network image).
func nginx(exe string) {
	const title = "nginx: master process nginx -g daemon off;"
	if os.Args[0] != title {
		// Exec the file by its own name, so that the comm stays "nginx", with nginx's process title as argv.
		err := syscall.Exec(exe, []string{title}, os.Environ())
		log.Fatalf("exec %s: %v", exe, err)
	}
	if err := os.MkdirAll("/var/run", 0o755); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile("/var/run/nginx.pid", fmt.Appendf(nil, "%d\n", os.Getpid()), 0o644); err != nil {
		log.Fatal(err)
	}
	port := os.Getenv("PORT")
	if port == "" {
		port = "80"
	}
	listen(":"+port, "<h1>Welcome to nginx!</h1>\n")
}

// httpd stands in for Apache httpd: a line naming it in the log (the multi-container test looks for "httpd") and a
// 200 on port 80.
func httpd() {
	fmt.Println("httpd: serving on :80")
	listen(":80", "<html><body><h1>It works!</h1></body></html>\n")
}

// listen serves page on addr until SIGTERM or SIGINT, on which it exits 0.
func listen(addr, page string) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sigs
		os.Exit(0)
	}()
	log.Fatal(http.ListenAndServe(addr, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = fmt.Fprint(w, page)
	})))
}

// pgrep PATTERN prints the pid of every process whose name matches PATTERN, and exits 1 when there is none.
func pgrep() {
	if len(os.Args) != 2 {
		log.Fatal("usage: pgrep PATTERN")
	}
	re, err := regexp.Compile(os.Args[1])
	if err != nil {
		log.Fatal(err)
	}
	found := false
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		comm, err := os.ReadFile("/proc/" + e.Name() + "/comm")
		if _, nerr := strconv.Atoi(e.Name()); nerr != nil || err != nil || e.Name() == strconv.Itoa(os.Getpid()) {
			continue
		}
		if re.MatchString(strings.TrimSpace(string(comm))) {
			fmt.Println(e.Name())
			found = true
		}
	}
	if !found {
		os.Exit(1)
	}
}

// ipcs -m lists the IPC namespace's shared memory segments from /proc/sysvipc/shm, in util-linux's layout.
func ipcs() {
	b, err := os.ReadFile("/proc/sysvipc/shm")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("\n------ Shared Memory Segments --------\n%-10s %-10s %-10s %-10s %-10s %-10s\n",
		"key", "shmid", "owner", "perms", "bytes", "nattch")
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	for _, l := range lines[1:] {
		// key shmid perms size cpid lpid nattch uid gid ...
		f := strings.Fields(l)
		if len(f) < 8 {
			continue
		}
		key, _ := strconv.ParseInt(f[0], 10, 64)
		fmt.Printf("0x%08x %-10s %-10s %-10s %-10s %-10s\n", uint32(key), f[1], f[7], f[2], f[3], f[6])
	}
}
