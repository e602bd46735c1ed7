/*
 * spawn: run a command as this process's child and print what it cost, the whole process tree included.
 *
 * Every measured command of `make bench` runs under its own spawn, so that what one command costs is not mixed
 * with the driver's or another command's: spawn marks itself a child subreaper (prctl(2)
 * PR_SET_CHILD_SUBREAPER), starts the command with vfork+execv, waits for it with wait4(2) and reaps every
 * orphan of the tree that has exited by then. Its RUSAGE_CHILDREN before and after are then the tree's cost
 * (getrusage(2): the children "that have terminated and been waited for", and their own waited-for
 * descendants). A process still alive at the end (a created container's init) is not counted.
 *
 * Usage: spawn [-p N] [-o FILE] CMD [ARG...] [--- CMD [ARG...] | --- @wait]...
 *   CMD is an absolute path. Steps separated by "---" run one after another; "@wait" waits until every child
 *   (including orphans reparented here) has exited. With -p N each step is started N times at once and the
 *   copy i gets "-i" appended to its last argument (a container id).
 * Output, one line on stdout, or in FILE with -o (the commands' own output goes to stdout):
 *   cpu_us minflt majflt maxrss_kib wall_us self_cpu_us self_minflt
 * cpu_us is user+system time of the tree, maxrss_kib the largest peak RSS of one process in it, wall_us the
 * time from the first start to the last reap; self_* are spawn's own cost of starting and reaping (what a
 * caller such as a shim pays on top). Exit status 0 when every command exited 0, else 1 with a message.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_PAR 64
#define MAX_ARGS 64

static long tv_us(struct timeval tv)
{
	return tv.tv_sec * 1000000L + tv.tv_usec;
}

static long cpu_us(const struct rusage *r)
{
	return tv_us(r->ru_utime) + tv_us(r->ru_stime);
}

static long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000L + ts.tv_nsec / 1000;
}

/* start_one starts argv[0] with vfork+execv (no copy of this process's pages) and returns its pid, or -1. */
static pid_t __attribute__((noinline)) start_one(char **argv)
{
	pid_t pid = vfork();

	if (pid == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* run_step starts argv n times at once and waits for each copy; it returns 0 when all exited 0. */
static int run_step(char **argv, int argc, int n)
{
	static char ids[MAX_PAR][256];
	char *copies[MAX_PAR][MAX_ARGS + 1];
	pid_t pids[MAX_PAR];
	int i, j, st, rc = 0;

	if (argc > MAX_ARGS) {
		fprintf(stderr, "spawn: more than %d arguments\n", MAX_ARGS);
		return 1;
	}
	/* Built before the vfork: the child shares this memory until its execv. */
	for (i = 0; i < n; i++) {
		for (j = 0; j < argc; j++)
			copies[i][j] = argv[j];
		copies[i][argc] = NULL;
		if (n > 1) {
			snprintf(ids[i], sizeof(ids[i]), "%s-%d", argv[argc - 1], i);
			copies[i][argc - 1] = ids[i];
		}
	}
	for (i = 0; i < n; i++) {
		pids[i] = start_one(copies[i]);
		if (pids[i] < 0) {
			perror("spawn: vfork");
			return 1;
		}
	}
	for (i = 0; i < n; i++) {
		while (waitpid(pids[i], &st, 0) < 0) {
			if (errno != EINTR) {
				perror("spawn: waitpid");
				return 1;
			}
		}
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "spawn: %s: %s %d\n", copies[i][0], WIFEXITED(st) ? "exit status" : "signal",
				WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
			rc = 1;
		}
	}
	return rc;
}

int main(int argc, char **argv)
{
	struct rusage c0, c1, s0, s1;
	long t0, t1;
	const char *result = NULL;
	int n = 1, first = 1, rc = 0, i, start;
	FILE *out = stdout;

	for (; first + 1 < argc && argv[first][0] == '-' && argv[first][1] != '-'; first += 2) {
		if (strcmp(argv[first], "-p") == 0)
			n = atoi(argv[first + 1]);
		else if (strcmp(argv[first], "-o") == 0)
			result = argv[first + 1];
		else
			n = 0;
	}
	if (n < 1 || n > MAX_PAR || first >= argc) {
		fprintf(stderr, "usage: spawn [-p N] [-o FILE] CMD [ARG...] [--- CMD [ARG...] | --- @wait]...\n");
		return 2;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
		perror("spawn: prctl");
		return 1;
	}
	getrusage(RUSAGE_CHILDREN, &c0);
	getrusage(RUSAGE_SELF, &s0);
	t0 = now_us();
	for (start = first; start < argc && rc == 0; start = i + 1) {
		for (i = start; i < argc && strcmp(argv[i], "---") != 0; i++)
			;
		argv[i < argc ? i : argc] = NULL;
		if (i - start == 1 && strcmp(argv[start], "@wait") == 0) {
			while (wait(NULL) > 0 || errno == EINTR)
				;
			continue;
		}
		rc = run_step(argv + start, i - start, n);
	}
	/* Orphans of the tree that have already exited are part of its cost. */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	t1 = now_us();
	getrusage(RUSAGE_SELF, &s1);
	getrusage(RUSAGE_CHILDREN, &c1);
	if (result && !(out = fopen(result, "we"))) {
		perror(result);
		return 1;
	}
	fprintf(out, "%ld %ld %ld %ld %ld %ld %ld\n", cpu_us(&c1) - cpu_us(&c0), c1.ru_minflt - c0.ru_minflt,
	       c1.ru_majflt - c0.ru_majflt, c1.ru_maxrss, t1 - t0, cpu_us(&s1) - cpu_us(&s0),
	       s1.ru_minflt - s0.ru_minflt);
	if (fclose(out) != 0) {
		perror("spawn: write result");
		return 1;
	}
	return rc;
}
