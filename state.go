package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/rt-runtime/rt/libcontainer"
)

// containerState is what `state` and `list -f json` print: runc's shape, which managers parse.
type containerState struct {
	Version        string            `json:"ociVersion"`
	ID             string            `json:"id"`
	InitProcessPid int               `json:"pid"`
	Status         string            `json:"status"`
	Bundle         string            `json:"bundle"`
	Rootfs         string            `json:"rootfs"`
	Created        time.Time         `json:"created"`
	Annotations    map[string]string `json:"annotations,omitempty"`
	Owner          string            `json:"owner"`
}

// stateOf derives the status once, so that pid and status always agree (pid 0 when stopped, as runc).
func stateOf(c *libcontainer.Container) containerState {
	status, pid := c.Status(), c.State().InitPid
	if status == libcontainer.Stopped {
		pid = 0
	}
	return containerState{
		Version:        c.OCIVersion(),
		ID:             c.ID(),
		InitProcessPid: pid,
		Status:         status.String(),
		Bundle:         c.Bundle(),
		Rootfs:         c.Rootfs(),
		Created:        c.State().Created,
		Annotations:    c.Annotations(),
	}
}

var stateCommand = &cli.Command{
	Name:      "state",
	Usage:     "print a container's state as JSON",
	ArgsUsage: "CONTAINER_ID",
	Action: func(cliCtx *cli.Context) error {
		id, err := idArg(cliCtx)
		if err != nil {
			return err
		}
		// Without the lock: state must answer whatever another rt process is waiting on (issue 17).
		c, err := libcontainer.Read(cliCtx.String("root"), id)
		if err != nil {
			return err
		}
		data, err := json.MarshalIndent(stateOf(c), "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(os.Stdout, string(data))
		return err
	},
}
