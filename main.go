// Command rt is a daemonless OCI container runtime with runc's command-line contract.
//
// Every rt process lives for one command, so the Go runtime is told not to watch the cgroup's CPU limit
// (updatemaxprocs: no updater goroutine) and not to name its anonymous mappings (decoratemappings: a prctl(2) per
// mapping); go.dev/doc/godebug.
//
//go:debug updatemaxprocs=0
//go:debug decoratemappings=0
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v2"

	"github.com/rt-runtime/rt/libcontainer"
)

// Set at build time by the Makefile.
var (
	version = "0.1.0-dev"
	commit  = "unknown"
)

// exitError carries a process's exit status out of a command (run, exec) without printing anything.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// errUsage marks a command-line mistake: the command's usage is the rest of the message.
var errUsage = errors.New("usage")

func init() {
	// No runtime.GOMAXPROCS(1) here: its stop-the-world and the release of the other P's cache cost more (~1.5 ms
	// of CPU and ~10-75 page faults measured here) than one P saves in a process this short. `rt init` gets
	// GOMAXPROCS=1 in its environment instead (startInit), so its runtime starts with one P at no cost.
	// `rt init` runs inside the container; its namespaces were set up by the nsenter constructor before this.
	// Capabilities and the seccomp filter are per thread: stay on the thread that will execve.
	if len(os.Args) > 1 && os.Args[1] == "init" {
		runtime.LockOSThread()
	}
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "init" {
		libcontainer.Init()
	}
	app := newApp()
	err := app.Run(prepareApp(app, os.Args))
	os.Exit(report(err))
}

func newApp() *cli.App {
	cli.VersionPrinter = func(cliCtx *cli.Context) {
		fmt.Fprint(cliCtx.App.Writer, versionText())
	}
	app := &cli.App{
		Name:    "rt",
		Usage:   "a daemonless OCI container runtime",
		Version: version,
		// Shown by none of rt's help or version text; given, so that urfave/cli does not stat(2) the binary to fill
		// it in (compileTime) in every command.
		Compiled: time.Unix(0, 0),
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "root", Value: defaultRoot(), Usage: "directory for container state"},
			&cli.StringFlag{Name: "log", Usage: "log file (default stderr)"},
			&cli.StringFlag{Name: "log-format", Value: "text", Usage: "log format: text or json"},
			&cli.BoolFlag{Name: "debug", Usage: "log debug messages"},
			&cli.BoolFlag{Name: "systemd-cgroup", Usage: "make the container's cgroup a transient systemd unit (linux.cgroupsPath \"slice:prefix:name\")"},
			&cli.StringFlag{Name: "rootless", Value: "auto", Usage: "rootless mode: true, false or auto"},
			&cli.StringFlag{Name: "criu", Hidden: true, Usage: "accepted for runc compatibility; unused"},
		},
		// runc's `help, h` command is urfave/cli's own; prepareApp shows it when the app may list or run it.
		HideHelpCommand: true,
		// A repeated flag's values are kept whole, as runc's (urfave/cli v1) are: `exec -e A=1,2` sets A to "1,2".
		DisableSliceFlagSeparator: true,
		Before:                    setup,
		Commands: []*cli.Command{
			createCommand, startCommand, runCommand, stateCommand, listCommand, killCommand, deleteCommand,
			execCommand, psCommand, pauseCommand, resumeCommand, updateCommand, eventsCommand, specCommand,
			featuresCommand, checkpointCommand, restoreCommand,
		},
		// Errors are reported once, by report; urfave/cli must not print them or exit on its own.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError: func(cliCtx *cli.Context, err error, _ bool) error {
			return fmt.Errorf("%w: %v", errUsage, err)
		},
	}
	cli.HelpFlag = withNames(cli.HelpFlag)
	cli.VersionFlag = withNames(cli.VersionFlag)
	cacheFlagNames(app.Flags)
	return app
}

func versionText() string {
	return fmt.Sprintf("rt version %s\ncommit: %s\nspec: %s\ngo: %s\n%s",
		version, commit, specs.Version, runtime.Version(), libseccompLine())
}

// defaultRoot is /run/rt, or $XDG_RUNTIME_DIR/rt for an unprivileged user (runc does the same with "runc").
func defaultRoot() string {
	if os.Geteuid() != 0 {
		if dir := os.Getenv("XDG_RUNTIME_DIR"); dir != "" {
			return filepath.Join(dir, "rt")
		}
	}
	return "/run/rt"
}

// setup runs before every command: logging and the global flags that can be refused up front.
func setup(cliCtx *cli.Context) error {
	if err := setupLogging(cliCtx.String("log"), cliCtx.String("log-format"), cliCtx.Bool("debug")); err != nil {
		return err
	}
	switch cliCtx.String("rootless") {
	case "true", "false", "auto":
	default:
		return fmt.Errorf("--rootless %q: must be true, false or auto", cliCtx.String("rootless"))
	}
	return nil
}

// report prints err once (stderr, and the log file as a level=error line) and returns the exit status.
func report(err error) int {
	if err == nil {
		return 0
	}
	var exit *exitError
	if errors.As(err, &exit) {
		return exit.code
	}
	logError(err)
	var code *exitCodeError
	if errors.As(err, &code) {
		return code.code
	}
	// urfave/cli's "No help topic for 'X'" (`rt help X`, `rt X`) exits 3, as runc's does.
	var cliCode cli.ExitCoder
	if errors.As(err, &cliCode) {
		return cliCode.ExitCode()
	}
	return 1
}

// exitCodeError is an error to print with a given exit status (exec's 255 when the exec itself fails).
type exitCodeError struct {
	err  error
	code int
}

func (e *exitCodeError) Error() string { return e.err.Error() }
func (e *exitCodeError) Unwrap() error { return e.err }

// idArg returns the command's single container id argument.
func idArg(cliCtx *cli.Context) (string, error) {
	if cliCtx.NArg() != 1 {
		return "", fmt.Errorf("%s: %w: rt %s CONTAINER_ID", cliCtx.Command.Name, errUsage, cliCtx.Command.Name)
	}
	return cliCtx.Args().First(), nil
}

// loadContainer opens the container named by the command's id argument.
func loadContainer(cliCtx *cli.Context) (*libcontainer.Container, error) {
	id, err := idArg(cliCtx)
	if err != nil {
		return nil, err
	}
	return libcontainer.Load(cliCtx.String("root"), id)
}

// withContainer opens the container named by the command's id argument, acts on it, and closes it. It is called
// from an action rather than returning one, so that the command that uses it stays a literal the compiler lays out
// as data, not a value built at start-up.
func withContainer(cliCtx *cli.Context, act func(*libcontainer.Container) error) error {
	c, err := loadContainer(cliCtx)
	if err != nil {
		return err
	}
	defer c.Close()
	return act(c)
}

// reorderArgs moves a command's flags that follow its arguments in front of them, so `rt kill ID 9 --all` and
// `rt update ID --memory 1M` parse as with runc. exec and ps keep their trailing arguments: they belong to the
// process. A "--" ends the flags.
func reorderArgs(app *cli.App, args []string) []string {
	i, cmd := findCommand(app, args)
	return reorderCommandArgs(args, i, cmd)
}

// reorderCommandArgs is reorderArgs for the command cmd found at args[i] (findCommand).
func reorderCommandArgs(args []string, i int, cmd *cli.Command) []string {
	if cmd == nil || cmd.Name == "exec" || cmd.Name == "ps" {
		return args
	}
	withValue := flagsWithValue(cmd.Flags)
	var flags, positional []string
	rest := args[i+1:]
	for j := 0; j < len(rest); j++ {
		a := rest[j]
		if a == "--" {
			positional = append(positional, rest[j:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			positional = append(positional, a)
			continue
		}
		flags = append(flags, a)
		if withValue[flagName(a)] && !strings.Contains(a, "=") && j+1 < len(rest) {
			flags = append(flags, rest[j+1])
			j++
		}
	}
	out := append([]string{}, args[:i+1]...)
	out = append(out, flags...)
	return append(out, positional...)
}

// prepareApp readies app for the one command in args and returns the arguments to run it with (reorderArgs).
// urfave/cli's Setup prepares every command of the app (flag categories, help name, duplicate check: ~80k
// instructions for 17 commands) though a run uses one, so the app keeps only the command named. Nothing lists the
// commands once one is named: `rt --help CMD` prints CMD's help, `rt --version CMD` the version (TestPrepareApp).
// Nor do they list or run the help command, so urfave/cli adds it (runc's `help, h`, listed last) only when no
// other command is named, and not for a bare `rt --version` (go-runc's call), which prints the version only.
func prepareApp(app *cli.App, args []string) []string {
	i, cmd := findCommand(app, args)
	if cmd == nil {
		app.HideHelpCommand = len(args) == 2 && (args[1] == "--version" || args[1] == "-v")
		return args
	}
	cacheFlagNames(cmd.Flags)
	app.Commands = []*cli.Command{cmd}
	return reorderCommandArgs(args, i, cmd)
}

// findCommand returns the index in args of the command named after the global flags, and the command; nil if
// there is none or it is unknown.
func findCommand(app *cli.App, args []string) (int, *cli.Command) {
	globalsWithValue := flagsWithValue(app.Flags)
	i := 1
	for i < len(args) && strings.HasPrefix(args[i], "-") && args[i] != "--" {
		if name := flagName(args[i]); globalsWithValue[name] && !strings.Contains(args[i], "=") {
			i++
		}
		i++
	}
	if i >= len(args) {
		return i, nil
	}
	return i, app.Command(args[i])
}

func flagName(arg string) string {
	name := strings.TrimLeft(arg, "-")
	name, _, _ = strings.Cut(name, "=")
	return name
}

// flagsWithValue lists the names (and aliases) of the flags that take a value. rt's flags are wrapped (flags.go) so
// that Names() is computed once, not by urfave/cli's regexp on every call.
func flagsWithValue(flags []cli.Flag) map[string]bool {
	m := map[string]bool{}
	for _, f := range flags {
		if df, ok := f.(cli.DocGenerationFlag); ok && !df.TakesValue() {
			continue
		}
		for _, n := range f.Names() {
			m[n] = true
		}
	}
	return m
}
