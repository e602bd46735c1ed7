// The bootstrap records and messages between rt's parent and the nsenter constructor. The Go side takes these
// constants through cgo (nsenter.go); the protocol they belong to is libcontainer/sync.go.
#ifndef RT_NSENTER_H
#define RT_NSENTER_H

// Includers define _GNU_SOURCE before any system header, for the CLONE_NEW* flags of <sched.h>.
#include <sched.h>
#include <stdint.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

// The timer slack of rt's own threads, in ns, and the one rt's caller gave it, which every child gets back
// (nsenter.c raise_timerslack; 0: unchanged).
#define RT_TIMERSLACK_NS 1000000
extern unsigned long rt_caller_timerslack;

// The environment variable naming the init socket's fd in `rt init`.
#define ENV_INITSOCK "_RT_INITSOCK"

// Records parent -> child: 4-byte type, 4-byte length, payload; REC_END closes the part this constructor reads.
#define REC_END 0
#define REC_CLONE_FLAGS 1
#define REC_NS_PATH 2
#define REC_TIME_OFFSETS 3
#define REC_NONDUMPABLE 4
#define REC_CGROUP_TASKS 5

// Messages child -> parent, framed the same way.
#define MSG_ERROR 100
#define MSG_USERMAP 101
#define MSG_USERMAP_DONE 102
#define MSG_PID 103

// The namespace kinds: clone flag and the spec's name, as internal/namespace's table has them (nsenter's
// TestNamespaceTable checks that the two agree).
#define NS_TABLE(X)                     \
	X(CLONE_NEWUSER, "user")        \
	X(CLONE_NEWNS, "mount")         \
	X(CLONE_NEWPID, "pid")          \
	X(CLONE_NEWNET, "network")      \
	X(CLONE_NEWIPC, "ipc")          \
	X(CLONE_NEWUTS, "uts")          \
	X(CLONE_NEWCGROUP, "cgroup")    \
	X(CLONE_NEWTIME, "time")

// ns_name names a namespace by its clone flag, for error messages.
static inline const char *ns_name(uint32_t type)
{
#define NS_CASE(flag, name) \
	case flag:          \
		return name;
	switch (type) {
		NS_TABLE(NS_CASE)
	}
#undef NS_CASE
	return "unknown";
}

#endif
