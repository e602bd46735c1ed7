package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"
)

// errNoCRIU is what checkpoint and restore answer: rt has no CRIU integration (README "Known gaps").
var errNoCRIU = errors.New("not supported: rt has no checkpoint/restore (CRIU) support")

// checkpointCommand and restoreCommand exist, hidden, so that a caller that asks (`rt checkpoint -h`, runc's
// help.bats) or tries gets runc's command with its flags and one clear error, rather than "No help topic".
// Their flags are runc 1.5's names, accepted and unused. Laid out as data, as the other commands (create.go): the
// compiler initialises them, so no rt process builds them (newApp built both, ~30 flags: 4 of the ~115 page
// faults of `rt run`'s own main, and of every other command's).
var checkpointCommand = &cli.Command{
	Name:      "checkpoint",
	Usage:     "checkpoint a running container (not supported by rt)",
	ArgsUsage: "CONTAINER_ID",
	Hidden:    true,
	Flags: []cli.Flag{
		imagePathFlag, workPathFlag, tcpEstablishedFlag, extUnixSkFlag, shellJobFlag, fileLocksFlag,
		manageCgroupsModeFlag, emptyNsFlag, autoDedupFlag, lazyPagesFlag,
		&cli.StringFlag{Name: "parent-path", Usage: "directory of a pre-dump's image files"},
		&cli.BoolFlag{Name: "leave-running", Usage: "keep the container running after the checkpoint"},
		&cli.IntFlag{Name: "status-fd", Value: -1, Usage: "fd to write \\0 to once lazy pages are ready"},
		&cli.StringFlag{Name: "page-server", Usage: "page server ADDRESS:PORT"},
		&cli.BoolFlag{Name: "pre-dump", Usage: "dump memory only and leave the container running"},
	},
	Action: func(*cli.Context) error { return fmt.Errorf("checkpoint: %w", errNoCRIU) },
}

var restoreCommand = &cli.Command{
	Name:      "restore",
	Usage:     "restore a container from a checkpoint (not supported by rt)",
	ArgsUsage: "CONTAINER_ID",
	Hidden:    true,
	Flags: []cli.Flag{
		imagePathFlag, workPathFlag, tcpEstablishedFlag, extUnixSkFlag, shellJobFlag, fileLocksFlag,
		manageCgroupsModeFlag, emptyNsFlag, autoDedupFlag, lazyPagesFlag,
		&cli.StringFlag{Name: "console-socket", Usage: "AF_UNIX socket to receive the pty master"},
		&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Usage: "bundle directory"},
		&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "do not wait for the container's process"},
		&cli.StringFlag{Name: "pid-file", Usage: "file to write the init's pid to"},
		&cli.BoolFlag{Name: "no-subreaper", Usage: "do not become a child subreaper"},
		&cli.BoolFlag{Name: "no-pivot", Usage: "enter the rootfs with chroot instead of pivot_root"},
		&cli.StringFlag{Name: "lsm-profile", Usage: "LSM profile TYPE:NAME for the restored process"},
		&cli.StringFlag{Name: "lsm-mount-context", Usage: "LSM mount context for the restore"},
	},
	Action: func(*cli.Context) error { return fmt.Errorf("restore: %w", errNoCRIU) },
}

// The flags runc's checkpoint and restore share, named in both lists.
var (
	imagePathFlag         = &cli.StringFlag{Name: "image-path", Usage: "directory of the CRIU image files"}
	workPathFlag          = &cli.StringFlag{Name: "work-path", Usage: "directory for CRIU's work files and logs"}
	tcpEstablishedFlag    = &cli.BoolFlag{Name: "tcp-established", Usage: "allow established TCP connections"}
	extUnixSkFlag         = &cli.BoolFlag{Name: "ext-unix-sk", Usage: "allow external unix sockets"}
	shellJobFlag          = &cli.BoolFlag{Name: "shell-job", Usage: "allow a shell job"}
	fileLocksFlag         = &cli.BoolFlag{Name: "file-locks", Usage: "checkpoint or restore file locks"}
	manageCgroupsModeFlag = &cli.StringFlag{Name: "manage-cgroups-mode", Usage: "CRIU cgroups mode: soft, full, strict or ignore"}
	emptyNsFlag           = &cli.StringSliceFlag{Name: "empty-ns", Usage: "namespace to create without restoring its properties"}
	autoDedupFlag         = &cli.BoolFlag{Name: "auto-dedup", Usage: "deduplicate memory images"}
	lazyPagesFlag         = &cli.BoolFlag{Name: "lazy-pages", Usage: "move memory pages lazily with userfaultfd"}
)
