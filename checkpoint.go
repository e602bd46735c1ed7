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
// Their flags are runc 1.5's names, accepted and unused. Built by newApp (they append to criuFlags), not at
// start-up, which every rt process pays.
func checkpointCommand() *cli.Command {
	return &cli.Command{
		Name:      "checkpoint",
		Usage:     "checkpoint a running container (not supported by rt)",
		ArgsUsage: "CONTAINER_ID",
		Hidden:    true,
		Flags: append(criuFlags(),
			&cli.StringFlag{Name: "parent-path", Usage: "directory of a pre-dump's image files"},
			&cli.BoolFlag{Name: "leave-running", Usage: "keep the container running after the checkpoint"},
			&cli.IntFlag{Name: "status-fd", Value: -1, Usage: "fd to write \\0 to once lazy pages are ready"},
			&cli.StringFlag{Name: "page-server", Usage: "page server ADDRESS:PORT"},
			&cli.BoolFlag{Name: "pre-dump", Usage: "dump memory only and leave the container running"},
		),
		Action: func(*cli.Context) error { return fmt.Errorf("checkpoint: %w", errNoCRIU) },
	}
}

func restoreCommand() *cli.Command {
	return &cli.Command{
		Name:      "restore",
		Usage:     "restore a container from a checkpoint (not supported by rt)",
		ArgsUsage: "CONTAINER_ID",
		Hidden:    true,
		Flags: append(criuFlags(),
			&cli.StringFlag{Name: "console-socket", Usage: "AF_UNIX socket to receive the pty master"},
			&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Usage: "bundle directory"},
			&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "do not wait for the container's process"},
			&cli.StringFlag{Name: "pid-file", Usage: "file to write the init's pid to"},
			&cli.BoolFlag{Name: "no-subreaper", Usage: "do not become a child subreaper"},
			&cli.BoolFlag{Name: "no-pivot", Usage: "enter the rootfs with chroot instead of pivot_root"},
			&cli.StringFlag{Name: "lsm-profile", Usage: "LSM profile TYPE:NAME for the restored process"},
			&cli.StringFlag{Name: "lsm-mount-context", Usage: "LSM mount context for the restore"},
		),
		Action: func(*cli.Context) error { return fmt.Errorf("restore: %w", errNoCRIU) },
	}
}

// criuFlags are the flags runc's checkpoint and restore share.
func criuFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "image-path", Usage: "directory of the CRIU image files"},
		&cli.StringFlag{Name: "work-path", Usage: "directory for CRIU's work files and logs"},
		&cli.BoolFlag{Name: "tcp-established", Usage: "allow established TCP connections"},
		&cli.BoolFlag{Name: "ext-unix-sk", Usage: "allow external unix sockets"},
		&cli.BoolFlag{Name: "shell-job", Usage: "allow a shell job"},
		&cli.BoolFlag{Name: "file-locks", Usage: "checkpoint or restore file locks"},
		&cli.StringFlag{Name: "manage-cgroups-mode", Usage: "CRIU cgroups mode: soft, full, strict or ignore"},
		&cli.StringSliceFlag{Name: "empty-ns", Usage: "namespace to create without restoring its properties"},
		&cli.BoolFlag{Name: "auto-dedup", Usage: "deduplicate memory images"},
		&cli.BoolFlag{Name: "lazy-pages", Usage: "move memory pages lazily with userfaultfd"},
	}
}
