package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/rt-runtime/rt/libcontainer"
)

var listCommand = &cli.Command{
	Name:    "list",
	Aliases: []string{"ls"},
	Usage:   "list the containers",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "table", Usage: "table or json"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only the ids"},
	},
	Action: func(cliCtx *cli.Context) error {
		format := cliCtx.String("format")
		if format != "table" && format != "json" {
			return fmt.Errorf("--format %q: must be table or json", format)
		}
		states, err := listStates(cliCtx.String("root"))
		// A default root that does not exist yet holds no containers; a --root that does not exist is an error,
		// as in runc 1.5 (`open ROOT: no such file or directory`), so a mistyped --root is not an empty list.
		if errors.Is(err, os.ErrNotExist) && !cliCtx.IsSet("root") {
			states, err = nil, nil
		}
		if err != nil {
			return err
		}
		if cliCtx.Bool("quiet") {
			for _, s := range states {
				fmt.Println(s.ID)
			}
			return nil
		}
		if format == "json" {
			if states == nil {
				states = []containerState{}
			}
			return json.NewEncoder(os.Stdout).Encode(states)
		}
		w := tabwriter.NewWriter(os.Stdout, 12, 1, 3, ' ', 0)
		fmt.Fprint(w, "ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER\n")
		for _, s := range states {
			fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\n",
				s.ID, s.InitProcessPid, s.Status, s.Bundle, s.Created.Format(time.RFC3339Nano), s.Owner)
		}
		return w.Flush()
	},
}

// listStates loads every container under root; one that disappears meanwhile is skipped.
func listStates(root string) ([]containerState, error) {
	ids, err := libcontainer.List(root)
	if err != nil {
		return nil, err
	}
	var states []containerState
	names := map[uint32]string{} // uid -> owner: /etc/passwd is read once per uid, not once per container
	for _, id := range ids {
		// Without the lock, as `state`; a container being created (no state yet) is not listed.
		c, err := libcontainer.Read(root, id)
		if errors.Is(err, libcontainer.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		s := stateOf(c)
		s.Owner = owner(c.Dir(), names)
		states = append(states, s)
	}
	return states, nil
}

// owner names the user owning the state directory, as runc's list does ("#uid" when it has no name); names
// caches the answer per uid.
func owner(dir string, names map[uint32]string) string {
	fi, err := os.Stat(dir)
	if err != nil {
		return ""
	}
	id := fi.Sys().(*syscall.Stat_t).Uid
	if name, ok := names[id]; ok {
		return name
	}
	uid := strconv.FormatUint(uint64(id), 10)
	name := "#" + uid
	if u, err := user.LookupId(uid); err == nil {
		name = u.Username
	}
	names[id] = name
	return name
}
