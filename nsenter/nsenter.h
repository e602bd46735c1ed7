// The bootstrap records and messages between rt's parent and the nsenter constructor. The Go side takes these
// constants through cgo (nsenter.go); the protocol they belong to is libcontainer/sync.go.
#ifndef RT_NSENTER_H
#define RT_NSENTER_H

// The environment variable naming the init socket's fd in `rt init`.
#define ENV_INITSOCK "_RT_INITSOCK"

// Records parent -> child: 4-byte type, 4-byte length, payload; REC_END closes the part this constructor reads.
#define REC_END 0
#define REC_CLONE_FLAGS 1
#define REC_NS_PATH 2
#define REC_TIME_OFFSETS 3
#define REC_NONDUMPABLE 4

// Messages child -> parent, framed the same way.
#define MSG_ERROR 100
#define MSG_USERMAP 101
#define MSG_USERMAP_DONE 102
#define MSG_PID 103

#endif
