package main

import "github.com/urfave/cli/v2"

var startCommand = &cli.Command{
	Name:      "start",
	Usage:     "start the process of a created container",
	ArgsUsage: "CONTAINER_ID",
	Action: func(cliCtx *cli.Context) error {
		c, err := loadContainer(cliCtx)
		if err != nil {
			return err
		}
		err = c.Start()
		c.Close()
		if err != nil {
			return err
		}
		// With NOTIFY_SOCKET, start returns once the workload is ready, as runc's does.
		return c.AwaitReady(false)
	},
}
