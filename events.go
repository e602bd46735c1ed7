package main

import (
	"encoding/json"
	"fmt"
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
			ev, _, err := statsEvent(root, id)
			if err != nil {
				return err
			}
			return enc.Encode(ev)
		}
		interval := cliCtx.Duration("interval")
		if interval <= 0 {
			return fmt.Errorf("--interval %s: must be positive", interval)
		}
		var ooms uint64
		for {
			ev, n, err := statsEvent(root, id)
			if err != nil {
				return err
			}
			if n > ooms {
				if err := enc.Encode(event{Type: "oom", ID: id}); err != nil {
					return err
				}
				ooms = n
			}
			if err := enc.Encode(ev); err != nil {
				return err
			}
			time.Sleep(interval) // the interval the caller asked for, not a wait for state
		}
	},
}

// statsEvent reads the container's cgroup stats and OOM kill count; the container is locked only meanwhile.
func statsEvent(root, id string) (event, uint64, error) {
	c, err := libcontainer.Load(root, id)
	if err != nil {
		return event{}, 0, err
	}
	defer c.Close()
	if c.Status() == libcontainer.Stopped {
		return event{}, 0, fmt.Errorf("container %q is stopped", id)
	}
	stats, err := c.Stats()
	if err != nil {
		return event{}, 0, err
	}
	ooms, _ := c.OOMKillCount()
	return event{Type: "stats", ID: id, Data: stats}, ooms, nil
}
