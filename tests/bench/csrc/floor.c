/*
 * floor: the kernel work of `runc spec`'s config done as cheaply as C can, for `make bench`'s lower bound.
 *
 * Usage: floor ROOTFS
 * It does what a runtime must do for the bench bundle and nothing else: a cgroup in every v1 hierarchy (the
 * devices one denying all but the default devices), clone(2) into new mount, pid, network, ipc and uts
 * namespaces, the mounts of the config (proc, /dev tmpfs with its nodes and links, devpts, shm, mqueue, a
 * read-only sysfs), pivot_root(2), the masked and read-only paths, a read-only root, the hostname, the rlimit,
 * the three capabilities, no_new_privs, and execve of /bin/true; then it waits and removes the cgroups. No
 * config parsing, no state on disk, no checks: a runtime can only be slower.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#define CGROUP_V1_MAGIC 0x27e0eb
#define MAX_CG 32

static char cgroups[MAX_CG][512];
static int ncg;
static int sync_pipe[2];
static const char *rootfs;

static void die(const char *what)
{
	perror(what);
	_exit(1);
}

static void write_file(const char *dir, const char *name, const char *val)
{
	char path[600];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, val, strlen(val)) < 0)
		die(path);
	close(fd);
}

/* make_cgroups creates rt-bench-floor-PID in every cgroup v1 hierarchy under /sys/fs/cgroup. */
static void make_cgroups(void)
{
	DIR *d = opendir("/sys/fs/cgroup");
	struct dirent *e;
	struct statfs fs;
	char path[256];

	if (!d)
		die("/sys/fs/cgroup");
	while ((e = readdir(d)) && ncg < MAX_CG) {
		if (e->d_type != DT_DIR || e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/fs/cgroup/%.200s", e->d_name);
		if (statfs(path, &fs) < 0 || fs.f_type != CGROUP_V1_MAGIC)
			continue;
		snprintf(cgroups[ncg], sizeof(cgroups[ncg]), "%s/rt-bench-floor-%d", path, getpid());
		if (mkdir(cgroups[ncg], 0755) < 0)
			die(cgroups[ncg]);
		ncg++;
	}
	closedir(d);
}

/* copy_parent copies a cpuset file from the parent cgroup: a v1 cpuset takes no task while it is empty. */
static void copy_parent(const char *dir, const char *name)
{
	char path[600], val[256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/../%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || (n = read(fd, val, sizeof(val) - 1)) < 0)
		die(path);
	close(fd);
	val[n] = 0;
	write_file(dir, name, val);
}

static void do_mount(const char *src, const char *dst, const char *type, unsigned long flags, const char *data)
{
	if (mount(src, dst, type, flags, data) < 0)
		die(dst);
}

/* mask hides path: /dev/null over a file, an empty read-only tmpfs over a directory. */
static void mask(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return;
	if (S_ISDIR(st.st_mode))
		do_mount("tmpfs", path, "tmpfs", MS_RDONLY, NULL);
	else
		do_mount("/dev/null", path, NULL, MS_BIND, NULL);
}

static void read_only(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return;
	do_mount(path, path, NULL, MS_BIND | MS_REC, NULL);
	do_mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC, NULL);
}

static int child(void *arg)
{
	static const char *masked[] = {"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
				       "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
				       "/proc/sched_debug", "/sys/firmware", "/proc/scsi"};
	static const char *ro[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
	static const struct {
		const char *name;
		int major, minor;
	} devs[] = {{"dev/null", 1, 3}, {"dev/zero", 1, 5},  {"dev/full", 1, 7},
		    {"dev/random", 1, 8}, {"dev/urandom", 1, 9}, {"dev/tty", 5, 0}};
	static const int keep[] = {CAP_AUDIT_WRITE, CAP_KILL, CAP_NET_BIND_SERVICE};
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2] = {{0, 0, 0}, {0, 0, 0}};
	struct rlimit nofile = {1024, 1024};
	char *argv[] = {"/bin/true", NULL};
	char *envp[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm", NULL};
	char c;
	size_t i;
	int cap;

	(void)arg;
	/* Wait until the parent has put this process into its cgroups. */
	close(sync_pipe[1]);
	if (read(sync_pipe[0], &c, 1) != 1)
		die("sync");
	do_mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
	do_mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL);
	if (chdir(rootfs) < 0)
		die(rootfs);
	do_mount("proc", "proc", "proc", 0, NULL);
	do_mount("tmpfs", "dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
	mkdir("dev/pts", 0755);
	mkdir("dev/shm", 0755);
	mkdir("dev/mqueue", 0755);
	do_mount("devpts", "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5");
	do_mount("shm", "dev/shm", "tmpfs", MS_NOSUID | MS_NOEXEC | MS_NODEV, "mode=1777,size=65536k");
	do_mount("mqueue", "dev/mqueue", "mqueue", MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL);
	do_mount("sysfs", "sys", "sysfs", MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY, NULL);
	for (i = 0; i < sizeof(devs) / sizeof(devs[0]); i++)
		if (mknod(devs[i].name, S_IFCHR | 0666, makedev(devs[i].major, devs[i].minor)) < 0)
			die(devs[i].name);
	if (symlink("/proc/self/fd", "dev/fd") < 0 || symlink("/proc/self/fd/0", "dev/stdin") < 0 ||
	    symlink("/proc/self/fd/1", "dev/stdout") < 0 || symlink("/proc/self/fd/2", "dev/stderr") < 0 ||
	    symlink("pts/ptmx", "dev/ptmx") < 0)
		die("dev symlinks");
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		die("pivot_root");
	if (umount2(".", MNT_DETACH) < 0)
		die("umount old root");
	if (chdir("/") < 0)
		die("chdir /");
	for (i = 0; i < sizeof(masked) / sizeof(masked[0]); i++)
		mask(masked[i]);
	for (i = 0; i < sizeof(ro) / sizeof(ro[0]); i++)
		read_only(ro[i]);
	do_mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL);
	if (sethostname("runc", 4) < 0)
		die("sethostname");
	if (setrlimit(RLIMIT_NOFILE, &nofile) < 0)
		die("setrlimit");
	for (cap = 0; cap <= CAP_LAST_CAP; cap++)
		if (cap != CAP_AUDIT_WRITE && cap != CAP_KILL && cap != CAP_NET_BIND_SERVICE &&
		    prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			die("PR_CAPBSET_DROP");
	for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		data[keep[i] / 32].effective |= 1u << (keep[i] % 32);
		data[keep[i] / 32].permitted |= 1u << (keep[i] % 32);
	}
	if (syscall(SYS_capset, &hdr, data) < 0)
		die("capset");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		die("no_new_privs");
	execve(argv[0], argv, envp);
	die("execve /bin/true");
	return 1;
}

int main(int argc, char **argv)
{
	static char stack[64 * 1024] __attribute__((aligned(16)));
	char pid[32];
	int i, st;
	pid_t p;

	if (argc != 2) {
		fprintf(stderr, "usage: floor ROOTFS\n");
		return 2;
	}
	rootfs = argv[1];
	if (pipe2(sync_pipe, O_CLOEXEC) < 0)
		die("pipe");
	make_cgroups();
	p = clone(child, stack + sizeof(stack),
		  CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | SIGCHLD, NULL);
	if (p < 0)
		die("clone");
	snprintf(pid, sizeof(pid), "%d", p);
	for (i = 0; i < ncg; i++) {
		if (strstr(cgroups[i], "/cpuset/")) {
			copy_parent(cgroups[i], "cpuset.cpus");
			copy_parent(cgroups[i], "cpuset.mems");
		}
		if (strstr(cgroups[i], "/devices/")) {
			write_file(cgroups[i], "devices.deny", "a");
			write_file(cgroups[i], "devices.allow", "c 1:3 rwm");
			write_file(cgroups[i], "devices.allow", "c 1:5 rwm");
			write_file(cgroups[i], "devices.allow", "c 1:7 rwm");
			write_file(cgroups[i], "devices.allow", "c 1:8 rwm");
			write_file(cgroups[i], "devices.allow", "c 1:9 rwm");
			write_file(cgroups[i], "devices.allow", "c 5:0 rwm");
			write_file(cgroups[i], "devices.allow", "c 5:2 rwm");
			write_file(cgroups[i], "devices.allow", "c 136:* rwm");
		}
		write_file(cgroups[i], "cgroup.procs", pid);
	}
	if (write(sync_pipe[1], "", 1) != 1)
		die("sync");
	if (waitpid(p, &st, 0) < 0)
		die("waitpid");
	for (i = 0; i < ncg; i++)
		rmdir(cgroups[i]);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
