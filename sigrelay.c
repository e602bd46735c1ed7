/*
 * The handler writes the signal's number to a pipe; the Go side reads it (sigrelay.go). It follows the rules of
 * os/signal's "Go programs that use cgo": SA_ONSTACK (Go threads run on small stacks, the handler runs on the
 * thread's signal stack); a fault in the synchronous signals is handed to the Go runtime's own handler, which
 * turns it into a panic or a crash as before, and so is a signal rt raises at itself (raised); SIGURG (goroutine
 * preemption) and SIGPROF (profiling) stay the runtime's, and 32 to 34 the libc's (see caught). The handler calls
 * only getpid(2) and write(2), which are async-signal-safe (signal-safety(7)), and keeps errno.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "sigrelay.h"

static int relay_fd = -1;
static pid_t relay_pid;
static struct sigaction go_action[NSIG];

/* fault says whether the kernel raised a synchronous signal for a faulting instruction (si_code > 0); one sent
 * by kill(2), tgkill(2) or sigqueue(3) has si_code <= 0 and is forwarded, as os/signal would (runc does). */
static int fault(int sig, const siginfo_t *info)
{
	switch (sig) {
	case SIGSEGV:
	case SIGBUS:
	case SIGFPE:
	case SIGILL:
	case SIGTRAP:
	case SIGSYS:
		return info->si_code > 0;
	}
	return 0;
}

/* raised says whether a thread of rt sent the signal to itself (raise(3): tgkill(2) of its own pid). The Go runtime
 * does that only to die of a signal (dieFromSignal: its crash() with GOTRACEBACK=crash raises SIGABRT once it no
 * longer handles it, and expects its handler to apply the default action), and libc's abort(3) to abort: rt's
 * own end, which the runtime's handler deals with as it would without the relay, never a signal to relay. */
static int raised(const siginfo_t *info)
{
	return info->si_code == SI_TKILL && info->si_pid == getpid();
}

static void relay(int sig, siginfo_t *info, void *ctx)
{
	int go_handles = go_action[sig].sa_flags & SA_SIGINFO;
	if (fault(sig, info) || (go_handles && raised(info))) {
		if (go_handles) {
			go_action[sig].sa_sigaction(sig, info, ctx);
			return;
		}
		/* Not the runtime's handler (it always installs one for these): put the old action back, under
		 * which the faulting instruction, run again, faults again. */
		sigaction(sig, &go_action[sig], NULL);
		return;
	}
	/* A child between Go's fork and its exec still has this handler for the signals whose handler the Go
	 * runtime did not own before (SIGPIPE, the job-control ones, SIGHUP/SIGINT when rt started with them
	 * ignored), which it does not reset there: it must not write to what may no longer be the pipe.
	 * getpid(2) is a system call in glibc >= 2.25, never a stale cache. */
	if (getpid() != relay_pid)
		return;
	int saved = errno;
	unsigned char b = (unsigned char)sig;
	/* The write end is non-blocking: with the pipe full (64 KiB of signals unread) one is dropped, as a
	 * signal already pending is. */
	if (write(relay_fd, &b, 1) < 0) {
		/* nothing to do in a handler */
	}
	errno = saved;
}

/* caught says whether rt_catch_signals takes sig: not the uncatchable ones, nor the Go runtime's, nor 32 to 34, which
 * the runtime leaves to the libc (glibc's SIGCANCEL and SIGSETXID, musl's SIGSYNCCALL; runtime/sigtab_linux_generic.go)
 * and os/signal never catches. 34 (glibc's SIGRTMIN) so keeps its default action, as in runc: a foreground run
 * dies of it rather than relaying it. */
static int caught(int sig)
{
	return sig != SIGKILL && sig != SIGSTOP && sig != SIGURG && sig != SIGPROF && !(sig >= 32 && sig <= 34);
}

int rt_catch_signals(int fd)
{
	/* Once per process: a second call would save this handler as the runtime's and hand a fault to itself. */
	if (relay_fd >= 0)
		return EBUSY;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = relay;
	/* SA_RESTART as the Go runtime's own handlers; every signal blocked while the handler runs, as there. */
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
	sigfillset(&sa.sa_mask);
	relay_fd = fd;
	relay_pid = getpid();
	for (int sig = 1; sig < NSIG; sig++) {
		if (!caught(sig))
			continue;
		if (sigaction(sig, &sa, &go_action[sig]) != 0) {
			/* The caller closes the pipe: no handler may be left to write to its number once reused. */
			int err = errno;
			while (--sig > 0)
				if (caught(sig))
					sigaction(sig, &go_action[sig], NULL);
			relay_fd = -1;
			return err;
		}
	}
	return 0;
}
