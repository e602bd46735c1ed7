package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/rt-runtime/rt/libcontainer"
)

// event is one line of `rt events`, in runc's shape: {"type":"stats"|"oom","id":...,"data":...}.
type event struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Data any    `json:"data,omitempty"`
}

var eventsCommand = &cli.Command{
	Name:      "events",
	Usage:     "print a container's resource usage (--stats) or a stream of stats and OOM events",
	ArgsUsage: "CONTAINER_ID",
	Flags: []cli.Flag{
		&cli.DurationFlag{Name: "interval", Value: 5 * time.Second, Usage: "time between stats events"},
		&cli.BoolFlag{Name: "stats", Usage: "print the stats once and exit"},
	},
	Action: func(cliCtx *cli.Context) error {
		id, err := idArg(cliCtx)
		if err != nil {
			return err
		}
		root := cliCtx.String("root")
		enc := json.NewEncoder(os.Stdout)
		if cliCtx.Bool("stats") {
			ev, err := statsEvent(root, id)
			if err != nil {
				return err
			}
			return enc.Encode(ev)
		}
		interval := cliCtx.Duration("interval")
		if interval <= 0 {
			return fmt.Errorf("--interval %s: must be positive", interval)
		}
		c, err := libcontainer.Load(root, id)
		if err != nil {
			return err
		}
		if c.Status() == libcontainer.Stopped {
			c.Close()
			return fmt.Errorf("container %q is stopped", id)
		}
		ooms, err := c.NotifyOOM()
		c.Close()
		if err != nil {
			return err
		}
		// As runc: an "oom" event as each OOM happens, a "stats" event every interval (a failed read is logged and
		// skipped), and the end, with status 0, once the cgroup is gone (the container was deleted).
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case _, ok := <-ooms:
				if !ok {
					return nil
				}
				if err := enc.Encode(event{Type: "oom", ID: id}); err != nil {
					return err
				}
			case <-tick.C:
				ev, err := statsEvent(root, id)
				if errors.Is(err, libcontainer.ErrNotExist) {
					return nil // deleted between the tick and the cgroup's removal
				}
				if err != nil {
					slog.Error(err.Error())
					continue
				}
				if err := enc.Encode(ev); err != nil {
					return err
				}
			}
		}
	},
}

// statsEvent reads the container's cgroup stats; the container is locked only meanwhile.
func statsEvent(root, id string) (event, error) {
	c, err := libcontainer.Load(root, id)
	if err != nil {
		return event{}, err
	}
	defer c.Close()
	if c.Status() == libcontainer.Stopped {
		return event{}, fmt.Errorf("container %q is stopped", id)
	}
	stats, err := c.Stats()
	if err != nil {
		return event{}, err
	}
	return event{Type: "stats", ID: id, Data: stats}, nil
}
