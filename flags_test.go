package main

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// unwrapped returns the urfave/cli flag inside one of rt's flag types, or nil for any other type.
func unwrapped(f cli.Flag) cli.Flag {
	switch f := f.(type) {
	case *boolFlag:
		return f.BoolFlag
	case *stringFlag:
		return f.StringFlag
	case *intFlag:
		return f.IntFlag
	case *durationFlag:
		return f.DurationFlag
	case *stringSliceFlag:
		return f.StringSliceFlag
	}
	return nil
}

// allFlags lists the app's flags, every command's (with names cached, as main does for the command it runs), and
// urfave/cli's help and version flags.
func allFlags(app *cli.App) []cli.Flag {
	flags := append([]cli.Flag{cli.HelpFlag, cli.VersionFlag}, app.Flags...)
	for _, cmd := range app.Commands {
		cacheFlagNames(cmd.Flags)
		flags = append(flags, cmd.Flags...)
	}
	return flags
}

// TestFlagNamesAsUrfave checks that every flag rt gives urfave/cli has its names cached, and that they are the
// names urfave/cli's FlagNames (the regexp) gives.
func TestFlagNamesAsUrfave(t *testing.T) {
	app := newApp()
	for _, f := range allFlags(app) {
		inner := unwrapped(f)
		if inner == nil {
			t.Errorf("flag %q is a %T: add its type to withNames", f.Names(), f)
			continue
		}
		if got, want := f.Names(), inner.Names(); !slices.Equal(got, want) {
			t.Errorf("Names() = %q, urfave/cli's FlagNames gives %q", got, want)
		}
	}
}

// helpTexts runs `rt --help` and `rt CMD --help` for every command and returns what each printed.
func helpTexts(t *testing.T, app *cli.App) map[string]string {
	t.Helper()
	texts := map[string]string{}
	args := [][]string{{"rt", "--help"}, {"rt", "--version"}}
	for _, cmd := range app.Commands {
		args = append(args, []string{"rt", cmd.Name, "--help"})
	}
	for _, a := range args {
		var out bytes.Buffer
		app.Writer = &out
		if err := app.Run(a); err != nil {
			t.Fatalf("%q: %v", a, err)
		}
		texts[a[1]+" "+a[len(a)-1]] = out.String()
	}
	return texts
}

// TestHelpAsUrfave checks that the flags with cached names print the same help and version text as urfave/cli's own.
func TestHelpAsUrfave(t *testing.T) {
	app := newApp()
	allFlags(app)
	got := helpTexts(t, app)

	plain := newApp()
	help, version := cli.HelpFlag, cli.VersionFlag
	t.Cleanup(func() { cli.HelpFlag, cli.VersionFlag = help, version })
	cli.HelpFlag, cli.VersionFlag = unwrapped(help), unwrapped(version)
	unwrap := func(flags []cli.Flag) []cli.Flag {
		var out []cli.Flag
		for _, f := range flags {
			if f == help {
				continue
			}
			if inner := unwrapped(f); inner != nil {
				f = inner
			}
			out = append(out, f)
		}
		return out
	}
	plain.Flags = unwrap(plain.Flags)
	for i, cmd := range plain.Commands {
		c := *cmd
		c.Flags = unwrap(cmd.Flags)
		c.HelpName = "" // set to "rt NAME" by the first app's Setup
		plain.Commands[i] = &c
	}
	want := helpTexts(t, plain)
	if len(got) != len(want) {
		t.Fatalf("%d help texts, want %d", len(got), len(want))
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s:\n%s\nwant (urfave/cli's flags):\n%s", k, got[k], w)
		}
	}
}

// TestPrepareApp checks that the app trimmed to the command run (prepareApp) prints and returns what the whole app
// does, help and version included.
func TestPrepareApp(t *testing.T) {
	root := t.TempDir()
	tests := [][]string{
		{"rt", "--help", "state"},
		{"rt", "-h", "state"},
		{"rt", "--version", "state"},
		{"rt", "-v=true", "state"},
		{"rt", "--debug", "--help=true", "kill"},
		{"rt", "state", "--help"},
		{"rt", "state", "-h"},
		{"rt", "rm", "--help"},
		{"rt", "--log-format", "json", "update", "--help"},
		{"rt", "--root", root, "state", "nosuch"},
		{"rt", "--root", root, "state", "--nosuch"},
		{"rt", "--root", root, "kill", "nosuch", "9", "--all"},
		{"rt", "--root", root, "list", "-q"},
		{"rt", "--nosuch", "state", "x"},
		{"rt", "nosuch"},
		{"rt"},
		{"rt", "--help"},
		{"rt", "--version"},
		{"rt", "-v"},
		{"rt", "--root", root, "--version"},
		{"rt", "help"},
		{"rt", "h"},
		{"rt", "help", "state"},
		{"rt", "h", "rm"},
		{"rt", "--debug", "help", "kill", "extra"},
		{"rt", "help", "help"},
		{"rt", "help", "nosuch"},
	}
	run := func(args []string, prepare func(*cli.App, []string) []string) string {
		out, err := runApp(args, prepare)
		return fmt.Sprintf("%s\nerror: %v\nexit: %d", out, err, exitCode(err))
	}
	for _, args := range tests {
		t.Run(strings.Join(args[1:], " "), func(t *testing.T) {
			got := run(args, prepareApp)
			whole := func(app *cli.App, args []string) []string {
				app.HideHelpCommand = false // every command, runc's help command too
				return reorderArgs(app, args)
			}
			if want := run(args, whole); got != want {
				t.Errorf("prepared app:\n%s\nwhole app:\n%s", got, want)
			}
		})
	}
}

// runApp runs a fresh copy of main's app (Setup of an earlier run changed the shared commands) on args, as
// prepare makes them ready, and returns what it wrote to stdout and stderr, and its error.
func runApp(args []string, prepare func(*cli.App, []string) []string) (string, error) {
	app := newApp()
	for i, cmd := range app.Commands {
		c := *cmd
		c.HelpName, c.Subcommands, c.BashComplete = "", nil, nil
		app.Commands[i] = &c
	}
	var out bytes.Buffer
	app.Writer, app.ErrWriter = &out, &out
	err := app.Run(prepare(app, slices.Clone(args)))
	return out.String(), err
}

// exitCode is report's exit status for err, without printing it.
func exitCode(err error) int {
	var code cli.ExitCoder
	if errors.As(err, &code) {
		return code.ExitCode()
	}
	if err != nil {
		return 1
	}
	return 0
}

// TestHelpCommand checks rt's help command against runc 1.5's: listed last in COMMANDS as "help, h"; `help` and `h`
// print what --help prints, `help CMD` what `CMD --help` prints, exit 0; `help nosuch` prints nothing and exits 3.
func TestHelpCommand(t *testing.T) {
	run := func(args ...string) (string, error) { return runApp(append([]string{"rt"}, args...), prepareApp) }
	appHelp, err := run("--help")
	if err != nil {
		t.Fatal(err)
	}
	commands := strings.Split(strings.TrimSpace(strings.Split(strings.Split(appHelp, "COMMANDS:\n")[1], "\n\n")[0]), "\n")
	if last := strings.Fields(commands[len(commands)-1]); len(last) < 3 || last[0] != "help," || last[1] != "h" {
		t.Errorf("last command listed %q, want \"help, h ...\" (runc's)", commands[len(commands)-1])
	}
	stateHelp, err := run("state", "--help")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
		code int
	}{
		{name: "help", args: []string{"help"}, want: appHelp},
		{name: "h", args: []string{"h"}, want: appHelp},
		{name: "help command", args: []string{"help", "state"}, want: stateHelp},
		{name: "h command", args: []string{"h", "state"}, want: stateHelp},
		{name: "after global flags", args: []string{"--debug", "help", "state"}, want: stateHelp},
		{name: "unknown command", args: []string{"help", "nosuch"}, code: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := run(tc.args...)
			if got != tc.want {
				t.Errorf("printed:\n%s\nwant:\n%s", got, tc.want)
			}
			if code := exitCode(err); code != tc.code {
				t.Errorf("exit %d (%v), want %d", code, err, tc.code)
			}
		})
	}
}
