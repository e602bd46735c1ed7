package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/rt-runtime/rt/libcontainer"
)

var execCommand = &cli.Command{
	Name:      "exec",
	Usage:     "run a new process inside a running container",
	ArgsUsage: "CONTAINER_ID [COMMAND [ARG...]]",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "console-socket", Usage: "unix socket to send the pty master to"},
		&cli.StringFlag{Name: "pidfd-socket", Usage: "unix socket to send a pidfd of the process to"},
		&cli.StringFlag{Name: "cwd", Usage: "working directory in the container"},
		&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "add an environment variable KEY=VALUE"},
		&cli.BoolFlag{Name: "tty", Aliases: []string{"t"}, Usage: "allocate a pseudo-terminal"},
		&cli.StringFlag{Name: "user", Aliases: []string{"u"}, Usage: "UID[:GID] to run as"},
		&cli.StringSliceFlag{Name: "additional-gids", Aliases: []string{"g"}, Usage: "an additional group id"},
		&cli.StringFlag{Name: "process", Aliases: []string{"p"}, Usage: "process.json giving the whole process"},
		&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "do not wait for the process"},
		&cli.StringFlag{Name: "pid-file", Usage: "file to write the process's pid to"},
		&cli.StringFlag{Name: "process-label", Usage: "SELinux label for the process"},
		&cli.StringFlag{Name: "apparmor", Usage: "AppArmor profile for the process"},
		&cli.BoolFlag{Name: "no-new-privs", Usage: "set no_new_privs for the process"},
		&cli.StringSliceFlag{Name: "cap", Aliases: []string{"c"}, Usage: "add a capability"},
		&cli.IntFlag{Name: "preserve-fds", Usage: "pass N more fds (3 to 3+N-1) to the process"},
		&cli.StringSliceFlag{Name: "cgroup", Usage: "run in an existing cgroup below the container's: PATH, or CONTROLLER[,CONTROLLER]:PATH (v1), repeatable"},
		&cli.BoolFlag{Name: "ignore-paused", Usage: "allow exec in a paused container (the process starts frozen)"},
	},
	Action: func(cliCtx *cli.Context) error {
		code, err := execProcess(cliCtx)
		if err != nil {
			// runc's contract: 255 when the exec itself fails, so callers can tell it from the process's status.
			return &exitCodeError{err: err, code: 255}
		}
		return &exitError{code: code}
	},
}

func execProcess(cliCtx *cli.Context) (int, error) {
	if cliCtx.NArg() < 1 {
		return 0, fmt.Errorf("exec: %w: rt exec CONTAINER_ID COMMAND [ARG...] (or -p process.json)", errUsage)
	}
	sub, err := subCgroups(cliCtx.StringSlice("cgroup"))
	if err != nil {
		return 0, err
	}
	c, err := libcontainer.Load(cliCtx.String("root"), cliCtx.Args().First())
	if err != nil {
		return 0, err
	}
	base, err := c.Process()
	if err != nil {
		c.Close()
		return 0, err
	}
	process, err := execSpec(cliCtx, base)
	if err != nil {
		c.Close()
		return 0, err
	}
	io, _, err := passedFiles(cliCtx.Int("preserve-fds"))
	if err != nil {
		c.Close()
		return 0, err
	}
	detach := cliCtx.Bool("detach")
	var relay *ttyRelay
	io.Console, relay, err = consoleFor(process.Terminal, detach, cliCtx.String("console-socket"))
	if err != nil {
		c.Close()
		return 0, err
	}
	pidfdConn, err := dialPidfdSocket(cliCtx)
	if err != nil {
		c.Close()
		return 0, err
	}
	if pidfdConn != nil {
		defer pidfdConn.Close()
	}
	var signals *sigRelay
	if !detach {
		if signals, err = catchSignals(); err != nil {
			c.Close()
			return 0, err
		}
	}
	pid, err := c.Exec(process, &io, libcontainer.ExecOptions{IgnorePaused: cliCtx.Bool("ignore-paused"), SubCgroups: sub})
	c.Close()
	if err != nil {
		return 0, err
	}
	if pidfdConn != nil {
		if err := libcontainer.SendPidfd(pidfdConn, pid, "setns"); err != nil {
			terminate(pid)
			return 0, err
		}
	}
	if path := cliCtx.String("pid-file"); path != "" {
		if err := writePidFile(path, pid); err != nil {
			terminate(pid)
			return 0, err
		}
	}
	if detach {
		return 0, nil
	}
	relay.start()
	defer relay.stop()
	return forwardAndWait(pid, signals, relay)
}

// subCgroups reads the --cgroup values, as runc does: one PATH for every hierarchy, or CONTROLLER[,CONTROLLER]:PATH
// (each controller once), which may be repeated.
func subCgroups(args []string) (map[string]string, error) {
	if len(args) == 0 {
		return nil, nil
	}
	sub := make(map[string]string, len(args))
	for _, a := range args {
		ctrls, p, ok := strings.Cut(a, ":")
		if !ok {
			if len(args) != 1 {
				return nil, fmt.Errorf("--cgroup %s: a path without CONTROLLER: must be the only --cgroup", a)
			}
			sub[""] = a
			continue
		}
		for _, c := range strings.Split(ctrls, ",") {
			if c == "" {
				return nil, fmt.Errorf("--cgroup %s: empty controller name", a)
			}
			if _, dup := sub[c]; dup {
				return nil, fmt.Errorf("--cgroup %s: controller %s given twice", a, c)
			}
			sub[c] = p
		}
	}
	return sub, nil
}

// terminate kills and reaps the exec'd process pid, rt's own child, when exec fails after it has started (runc's
// runner.terminate): nothing of a failed exec is left running in the container.
func terminate(pid int) {
	_ = unix.Kill(pid, unix.SIGKILL)
	var ws unix.WaitStatus
	_, _ = unix.Wait4(pid, &ws, 0, nil)
}

// execSpec builds the process to exec: process.json as given, or the container's process with the command line
// and the flags applied (runc's rules).
func execSpec(cliCtx *cli.Context, base *specs.Process) (*specs.Process, error) {
	if path := cliCtx.String("process"); path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("--process: %w", err)
		}
		var p specs.Process
		if err := json.Unmarshal(data, &p); err != nil {
			return nil, fmt.Errorf("--process %s: %w", path, err)
		}
		return &p, nil
	}
	if cliCtx.NArg() < 2 {
		return nil, fmt.Errorf("exec: %w: give a command after the container id, or -p process.json", errUsage)
	}
	p := specs.Process{Cwd: "/"}
	if base != nil {
		p = *base
		p.Env = append([]string{}, base.Env...)
		if base.Capabilities != nil {
			caps := *base.Capabilities
			p.Capabilities = &caps
		}
	}
	p.Args = cliCtx.Args().Slice()[1:]
	p.Terminal = cliCtx.Bool("tty")
	p.Env = append(p.Env, cliCtx.StringSlice("env")...)
	if cwd := cliCtx.String("cwd"); cwd != "" {
		p.Cwd = cwd
	}
	if u := cliCtx.String("user"); u != "" {
		uidStr, gidStr, hasGid := strings.Cut(u, ":")
		uid, err := strconv.ParseUint(uidStr, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("--user %q: want UID[:GID] in numbers", u)
		}
		// Without :GID the container's process.user.gid stays, as in runc.
		p.User.UID = uint32(uid)
		if hasGid {
			gid, err := strconv.ParseUint(gidStr, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("--user %q: want UID[:GID] in numbers", u)
			}
			p.User.GID = uint32(gid)
		}
	}
	for _, g := range cliCtx.StringSlice("additional-gids") {
		gid, err := strconv.ParseUint(g, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("--additional-gids %q: not a number", g)
		}
		p.User.AdditionalGids = append(p.User.AdditionalGids, uint32(gid))
	}
	if caps := cliCtx.StringSlice("cap"); len(caps) > 0 {
		if p.Capabilities == nil {
			p.Capabilities = &specs.LinuxCapabilities{}
		}
		// As runc 1.2+: into the bounding, effective and permitted sets, not the inheritable one; and ambient only
		// when the config has an inheritable set, without which the kernel would refuse to raise them.
		c := p.Capabilities
		c.Bounding = append(append([]string{}, c.Bounding...), caps...)
		c.Effective = append(append([]string{}, c.Effective...), caps...)
		c.Permitted = append(append([]string{}, c.Permitted...), caps...)
		if c.Inheritable != nil {
			c.Ambient = append(append([]string{}, c.Ambient...), caps...)
		}
	}
	if cliCtx.Bool("no-new-privs") {
		p.NoNewPrivileges = true
	}
	if a := cliCtx.String("apparmor"); a != "" {
		p.ApparmorProfile = a
	}
	if l := cliCtx.String("process-label"); l != "" {
		p.SelinuxLabel = l
	}
	return &p, nil
}
