package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/rt-runtime/rt/libcontainer"
)

var specCommand = &cli.Command{
	Name:  "spec",
	Usage: "write a default config.json into the bundle",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Value: ".", Usage: "bundle directory"},
		&cli.BoolFlag{Name: "rootless", Usage: "a config for an unprivileged user"},
	},
	Action: func(cliCtx *cli.Context) error {
		path := filepath.Join(cliCtx.String("bundle"), "config.json")
		data, err := json.MarshalIndent(libcontainer.DefaultSpec(cliCtx.Bool("rootless")), "", "\t")
		if err != nil {
			return err
		}
		// O_EXCL: an existing config is never overwritten (runc refuses too).
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
		if err != nil {
			return fmt.Errorf("spec: %w", err)
		}
		if _, err := f.Write(append(data, '\n')); err != nil {
			f.Close()
			return fmt.Errorf("spec: %w", err)
		}
		return f.Close()
	},
}
