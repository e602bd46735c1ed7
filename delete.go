package main

import (
	"errors"

	"github.com/urfave/cli/v2"

	"github.com/rt-runtime/rt/libcontainer"
)

var deleteCommand = &cli.Command{
	Name:      "delete",
	Aliases:   []string{"rm"},
	Usage:     "delete a stopped or created container (--force: any container)",
	ArgsUsage: "CONTAINER_ID",
	Flags: []cli.Flag{
		&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "kill the container first if it is running"},
	},
	Action: func(cliCtx *cli.Context) error {
		force := cliCtx.Bool("force")
		if force {
			id, err := idArg(cliCtx)
			if err != nil {
				return err
			}
			if libcontainer.ValidateID(id) == nil {
				// What a create killed before its state directory was in place left, which no state records.
				defer libcontainer.RemovePending(cliCtx.String("root"), id)
			}
			if c, err := libcontainer.Read(cliCtx.String("root"), id); err == nil {
				if err := c.Kill(); err != nil {
					return err
				}
			}
		}
		c, err := loadContainer(cliCtx)
		// Managers call delete --force after the container is gone; runc answers 0.
		if errors.Is(err, libcontainer.ErrNotExist) && force {
			return nil
		}
		if errors.Is(err, libcontainer.ErrUnreadable) && force {
			id, _ := idArg(cliCtx)
			return libcontainer.RemoveUnreadable(cliCtx.String("root"), id)
		}
		if err != nil {
			return err
		}
		defer c.Close()
		return c.Delete(force)
	},
}
