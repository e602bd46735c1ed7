package main

import "github.com/urfave/cli/v2"

var pauseCommand = &cli.Command{
	Name:      "pause",
	Usage:     "freeze every process of a container",
	ArgsUsage: "CONTAINER_ID",
	Action: func(cliCtx *cli.Context) error {
		c, err := loadContainer(cliCtx)
		if err != nil {
			return err
		}
		defer c.Close()
		return c.Pause()
	},
}

var resumeCommand = &cli.Command{
	Name:      "resume",
	Usage:     "thaw a paused container",
	ArgsUsage: "CONTAINER_ID",
	Action: func(cliCtx *cli.Context) error {
		c, err := loadContainer(cliCtx)
		if err != nil {
			return err
		}
		defer c.Close()
		return c.Resume()
	},
}
