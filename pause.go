package main

import (
	"github.com/urfave/cli/v2"

	"github.com/rt-runtime/rt/libcontainer"
)

var pauseCommand = &cli.Command{
	Name:      "pause",
	Usage:     "freeze every process of a container",
	ArgsUsage: "CONTAINER_ID",
	Action:    func(cliCtx *cli.Context) error { return withContainer(cliCtx, (*libcontainer.Container).Pause) },
}

var resumeCommand = &cli.Command{
	Name:      "resume",
	Usage:     "thaw a paused container",
	ArgsUsage: "CONTAINER_ID",
	Action:    func(cliCtx *cli.Context) error { return withContainer(cliCtx, (*libcontainer.Container).Resume) },
}
