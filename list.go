package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"runtime"
	"strconv"
	"sync"
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
		// One write(2) for the whole output: tabwriter writes each cell and its padding separately.
		out := bufio.NewWriter(os.Stdout)
		if cliCtx.Bool("quiet") {
			for _, s := range states {
				fmt.Fprintln(out, s.ID)
			}
			return out.Flush()
		}
		if format == "json" {
			if states == nil {
				states = []containerState{}
			}
			if err := json.NewEncoder(out).Encode(states); err != nil {
				return err
			}
			return out.Flush()
		}
		w := tabwriter.NewWriter(out, 12, 1, 3, ' ', 0)
		fmt.Fprint(w, "ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER\n")
		for _, s := range states {
			fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\n",
				s.ID, s.InitProcessPid, s.Status, s.Bundle, s.Created.Format(time.RFC3339Nano), s.Owner)
		}
		if err := w.Flush(); err != nil {
			return err
		}
		return out.Flush()
	},
}

// listStates loads every container under root; one that disappears meanwhile is skipped. The containers are read
// by one goroutine per CPU (at most 2): each costs a state file, /proc/PID/stat and a freezer file, so among 100 the
// wall time is that of the slowest share rather than of the sum.
func listStates(root string) ([]containerState, error) {
	ids, err := libcontainer.List(root)
	if err != nil {
		return nil, err
	}
	type result struct {
		s   containerState
		uid uint32
		ok  bool // false: gone meanwhile, or err
		err error
	}
	results := make([]result, len(ids))
	load := func(i int) {
		// Without the lock, as `state`; a container being created (no state yet) is not listed.
		c, err := libcontainer.Read(root, ids[i])
		if errors.Is(err, libcontainer.ErrNotExist) {
			return
		}
		if err != nil {
			results[i].err = err
			return
		}
		results[i] = result{s: stateOf(c), ok: true, uid: noOwner}
		var st syscall.Stat_t
		if syscall.Stat(c.Dir(), &st) == nil {
			results[i].uid = st.Uid
		}
	}
	workers := min(runtime.GOMAXPROCS(0), 2, len(ids)/listPerWorker)
	var wg sync.WaitGroup
	for w := 1; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(ids); i += workers {
				load(i)
			}
		}()
	}
	for i := 0; i < len(ids); i += max(workers, 1) {
		load(i)
	}
	wg.Wait()
	states := make([]containerState, 0, len(ids))
	names := map[uint32]string{} // uid -> owner: /etc/passwd is read once per uid, not once per container
	for _, r := range results {
		if r.err != nil {
			return nil, r.err
		}
		if r.ok {
			r.s.Owner = owner(r.uid, names)
			states = append(states, r.s)
		}
	}
	return states, nil
}

// listPerWorker is the fewest containers each goroutine gets, so a second one starts from 2*listPerWorker
// containers: for fewer, waking another thread costs more than it saves.
const listPerWorker = 8

// noOwner is the uid of a state directory that could not be stat'ed: its owner is empty.
const noOwner = ^uint32(0)

// owner names the user uid, as runc's list does ("#uid" when it has no name); names caches the answer per uid.
func owner(uid uint32, names map[uint32]string) string {
	if uid == noOwner {
		return ""
	}
	if name, ok := names[uid]; ok {
		return name
	}
	id := strconv.FormatUint(uint64(uid), 10)
	name := "#" + id
	if u, err := user.LookupId(id); err == nil {
		name = u.Username
	}
	names[uid] = name
	return name
}
