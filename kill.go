package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/libcontainer"
)

var killCommand = &cli.Command{
	Name:      "kill",
	Usage:     "send a signal (default TERM) to a container's init",
	ArgsUsage: "CONTAINER_ID [SIGNAL]",
	Flags: []cli.Flag{
		&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "send the signal to every process of the container"},
	},
	Action: func(cliCtx *cli.Context) error {
		if n := cliCtx.NArg(); n < 1 || n > 2 {
			return fmt.Errorf("kill: %w: rt kill [--all] CONTAINER_ID [SIGNAL]", errUsage)
		}
		sig := unix.SIGTERM
		if cliCtx.NArg() == 2 {
			var err error
			if sig, err = parseSignal(cliCtx.Args().Get(1)); err != nil {
				return err
			}
		}
		c, err := libcontainer.Load(cliCtx.String("root"), cliCtx.Args().First())
		if err != nil {
			return err
		}
		defer c.Close()
		return c.Signal(sig, cliCtx.Bool("all"))
	},
}

// parseSignal accepts a number, a name, or a SIG name, in any case: 9, KILL, SIGKILL, sigkill. 0 sends nothing and
// only checks that the init is alive (kill(2)), as runc's `kill ID 0` does.
func parseSignal(s string) (unix.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 0 || n > 64 {
			return 0, fmt.Errorf("signal %q: out of range", s)
		}
		return unix.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("signal %q: unknown signal name", s)
}
