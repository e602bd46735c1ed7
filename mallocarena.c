/*
 * One malloc arena for all of rt's threads. glibc gives each thread that first calls malloc(3) or free(3) an
 * arena of its own (mallopt(3) M_ARENA_MAX: up to 8 per CPU): a 128 MiB reservation, an mprotect(2) and its first
 * page faulted in. Every thread the Go runtime starts in a cgo binary does that (runtime/cgo: the new thread
 * frees the block pthread_create(3) handed it, and pthread_getattr_np(3) mallocs), though rt's C code (nsenter,
 * libseccomp) mallocs little, from one thread at a time: the main arena serves them all. The same as
 * GLIBC_TUNABLES=glibc.malloc.arena_max=1, before the runtime starts its first thread.
 */
#include <malloc.h>

__attribute__((constructor)) static void rt_one_malloc_arena(void)
{
	mallopt(M_ARENA_MAX, 1);
}
