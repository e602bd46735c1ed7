package libcontainer

// process.rlimits, set in `rt init` before the user switch (setupProcess in init.go).

import (
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/internal/table"
)

// rlimitTypes maps the spec's rlimit names to resource numbers (getrlimit(2)).
var rlimitTypes = table.Table[string, int]{
	{Key: "RLIMIT_AS", Val: unix.RLIMIT_AS}, {Key: "RLIMIT_CORE", Val: unix.RLIMIT_CORE}, {Key: "RLIMIT_CPU", Val: unix.RLIMIT_CPU},
	{Key: "RLIMIT_DATA", Val: unix.RLIMIT_DATA}, {Key: "RLIMIT_FSIZE", Val: unix.RLIMIT_FSIZE}, {Key: "RLIMIT_LOCKS", Val: unix.RLIMIT_LOCKS},
	{Key: "RLIMIT_MEMLOCK", Val: unix.RLIMIT_MEMLOCK}, {Key: "RLIMIT_MSGQUEUE", Val: unix.RLIMIT_MSGQUEUE}, {Key: "RLIMIT_NICE", Val: unix.RLIMIT_NICE},
	{Key: "RLIMIT_NOFILE", Val: unix.RLIMIT_NOFILE}, {Key: "RLIMIT_NPROC", Val: unix.RLIMIT_NPROC}, {Key: "RLIMIT_RSS", Val: unix.RLIMIT_RSS},
	{Key: "RLIMIT_RTPRIO", Val: unix.RLIMIT_RTPRIO}, {Key: "RLIMIT_RTTIME", Val: unix.RLIMIT_RTTIME}, {Key: "RLIMIT_SIGPENDING", Val: unix.RLIMIT_SIGPENDING},
	{Key: "RLIMIT_STACK", Val: unix.RLIMIT_STACK},
}

// setRlimits applies process.rlimits to the calling process.
func setRlimits(rl []specs.POSIXRlimit) error {
	for _, r := range rl {
		lim := unix.Rlimit{Cur: r.Soft, Max: r.Hard}
		if err := unix.Prlimit(0, rlimitTypes.Val(r.Type), &lim, nil); err != nil {
			return fmt.Errorf("process.rlimits %s soft %d hard %d: %w", r.Type, r.Soft, r.Hard, os.NewSyscallError("prlimit", err))
		}
	}
	return nil
}
