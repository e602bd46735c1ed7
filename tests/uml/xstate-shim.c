// LD_PRELOAD shim that lets the Debian bookworm UML kernel (6.1) run on hosts
// whose XSAVE area is larger than the 832 bytes UML knows (AVX-512, AMX).
//
// Why: UML saves and restores each guest thread's FPU state with
// PTRACE_GETREGSET/PTRACE_SETREGSET(NT_X86_XSTATE) using a buffer of
// sizeof(struct _xstate) (legacy area + header + YMM, 832 bytes). A short GET is
// truncated and succeeds, but since Linux 5.14 the host's xstateregs_set()
// refuses any SET whose size is not the full user XSAVE size with EFAULT
// (arch/x86/kernel/fpu/regset.c), so the guest's init dies at its first
// context restore with "userspace - ptrace set fp regs failed, errno = 14".
//
// What: for short NT_X86_XSTATE requests the shim keeps a full-size shadow
// buffer per UML buffer address (one per guest thread): GET fills the shadow and
// hands UML its prefix; SET lays UML's prefix over the shadow (or over the
// task's current state when there is none) and sets the full size. The state
// beyond UML's prefix (ZMM, opmask, AMX) is thereby saved and restored per
// guest thread too, as on a host where everything fits.
//
// Built by run.sh with gcc; used only for the `linux` process it starts.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/uio.h>

typedef long (*ptrace_fn)(int request, pid_t pid, void *addr, void *data);

// Larger than any x86 XSAVE area so far (AMX: about 11 KiB).
enum { probeSize = 64 * 1024, nslots = 1 << 14 };

struct slot {
	void *key;
	unsigned char *buf;
};

static ptrace_fn real_ptrace;
static size_t full_size; // the host's NT_X86_XSTATE size, learned on first GET
static struct slot slots[nslots];
// Scratch space is static, not on the stack: UML calls ptrace on its own
// kernel stacks, which are a few pages (THREAD_SIZE). UML 6.1 is not SMP, so
// one caller at a time.
static unsigned char scratch[probeSize];

__attribute__((constructor)) static void init_shim(void)
{
	real_ptrace = (ptrace_fn)dlsym(RTLD_NEXT, "ptrace");
}

static struct slot *lookup(void *key, int create)
{
	uintptr_t h = ((uintptr_t)key >> 4) * 0x9E3779B97F4A7C15ull;
	for (size_t i = 0; i < nslots; i++) {
		struct slot *s = &slots[(h + i) & (nslots - 1)];
		if (s->key == key)
			return s;
		if (s->key == NULL) {
			if (!create)
				return NULL;
			s->buf = malloc(full_size);
			if (s->buf == NULL)
				return NULL;
			s->key = key;
			return s;
		}
	}
	return NULL; // table full: callers fall back to a temporary buffer
}

// full_get reads the task's whole XSAVE area into buf (probeSize bytes when
// the size is still unknown) and records the size the kernel reports.
static long full_get(pid_t pid, unsigned char *buf, size_t cap)
{
	struct iovec iov = { .iov_base = buf, .iov_len = cap };
	long ret = real_ptrace(PTRACE_GETREGSET, pid, (void *)(uintptr_t)NT_X86_XSTATE, &iov);
	if (ret == 0 && full_size == 0)
		full_size = iov.iov_len;
	return ret;
}

static long short_get(pid_t pid, struct iovec *uml)
{
	unsigned char *probe = scratch;
	unsigned char *buf = probe;
	size_t cap = sizeof(scratch);
	if (full_size != 0) {
		struct slot *s = lookup(uml->iov_base, 1);
		if (s != NULL) {
			buf = s->buf;
			cap = full_size;
		}
	}
	long ret = full_get(pid, buf, cap);
	if (ret != 0)
		return ret;
	if (buf == probe) {
		// First call: now the size is known, keep a shadow from here on.
		struct slot *s = lookup(uml->iov_base, 1);
		if (s != NULL)
			memcpy(s->buf, probe, full_size);
	}
	if (uml->iov_len > full_size)
		uml->iov_len = full_size;
	memcpy(uml->iov_base, buf, uml->iov_len);
	return 0;
}

static long short_set(pid_t pid, struct iovec *uml)
{
	unsigned char *tmp = scratch;
	struct slot *s = lookup(uml->iov_base, 0);
	unsigned char *buf = s != NULL ? s->buf : tmp;
	if (s == NULL) {
		long ret = full_get(pid, tmp, sizeof(scratch));
		if (ret != 0)
			return ret;
	}
	memcpy(buf, uml->iov_base, uml->iov_len);
	struct iovec iov = { .iov_base = buf, .iov_len = full_size };
	return real_ptrace(PTRACE_SETREGSET, pid, (void *)(uintptr_t)NT_X86_XSTATE, &iov);
}

long ptrace(enum __ptrace_request request, ...)
{
	va_list ap;
	va_start(ap, request);
	pid_t pid = va_arg(ap, pid_t);
	void *addr = va_arg(ap, void *);
	void *data = va_arg(ap, void *);
	va_end(ap);

	if ((request == PTRACE_GETREGSET || request == PTRACE_SETREGSET) &&
	    (uintptr_t)addr == NT_X86_XSTATE && data != NULL) {
		struct iovec *uml = data;
		if (request == PTRACE_GETREGSET && (full_size == 0 || uml->iov_len < full_size))
			return short_get(pid, uml);
		if (request == PTRACE_SETREGSET && full_size != 0 && uml->iov_len < full_size)
			return short_set(pid, uml);
	}
	return real_ptrace(request, pid, addr, data);
}
