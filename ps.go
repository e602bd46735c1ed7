package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/rt-runtime/rt/libcontainer"
)

var psCommand = &cli.Command{
	Name:      "ps",
	Usage:     "list the processes of a container",
	ArgsUsage: "CONTAINER_ID [PS_ARG...]",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "table", Usage: "table or json"},
	},
	Action: func(cliCtx *cli.Context) error {
		if cliCtx.NArg() < 1 {
			return fmt.Errorf("ps: %w: rt ps [-f table|json] CONTAINER_ID [PS_ARG...]", errUsage)
		}
		c, err := libcontainer.Load(cliCtx.String("root"), cliCtx.Args().First())
		if err != nil {
			return err
		}
		pids, err := c.Processes()
		c.Close()
		if err != nil {
			return err
		}
		switch cliCtx.String("format") {
		case "json":
			if pids == nil {
				pids = []int{}
			}
			return json.NewEncoder(os.Stdout).Encode(pids)
		case "table":
			return psTable(pids, cliCtx.Args().Slice()[1:])
		}
		return fmt.Errorf("--format %q: must be table or json", cliCtx.String("format"))
	},
}

// psTable runs ps(1) (default "-ef") and keeps its header and the lines of the container's processes, as runc does.
func psTable(pids []int, args []string) error {
	if len(args) == 0 {
		args = []string{"-ef"}
	}
	cmd := exec.Command("ps", args...)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	err := libcontainer.RunCommand(cmd)
	out := stdout.Bytes()
	if err != nil {
		return fmt.Errorf("ps %s: %w", strings.Join(args, " "), err)
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	pidCol := -1
	for i, f := range strings.Fields(lines[0]) {
		if f == "PID" {
			pidCol = i
		}
	}
	if pidCol < 0 {
		return fmt.Errorf("ps %s: no PID column in its output", strings.Join(args, " "))
	}
	in := map[int]bool{}
	for _, p := range pids {
		in[p] = true
	}
	var b bytes.Buffer
	b.WriteString(lines[0] + "\n")
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) <= pidCol {
			continue
		}
		if pid, err := strconv.Atoi(f[pidCol]); err == nil && in[pid] {
			b.WriteString(l + "\n")
		}
	}
	_, err = os.Stdout.Write(b.Bytes())
	return err
}
