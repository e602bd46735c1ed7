package libcontainer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// runHooks runs each hook in order with the container state on its stdin (runtime-spec config.md "POSIX-platform
// Hooks"): the first failure stops the rest and is returned in runc's words ("error running createContainer hook
// #0: exit status 1, stdout: ..., stderr: ..."), which users and their tools match.
func runHooks(kind string, hooks []specs.Hook, state *specs.State) error {
	return runHooksIn(kind, hooks, state, hookEnv{})
}

// hookEnv is where a hook runs: its working directory ("": the caller's) and the environment a hook without env
// of its own gets (nil: none, not rt's).
type hookEnv struct {
	dir string
	env []string
}

// runHooksIn is runHooks in a given working directory and default environment (the init's hooks: runc runs the
// createContainer hooks in the rootfs, and the startContainer hooks with the process's environment).
func runHooksIn(kind string, hooks []specs.Hook, state *specs.State, where hookEnv) error {
	if len(hooks) == 0 {
		return nil
	}
	data, err := json.Marshal(state)
	if err != nil {
		return fmt.Errorf("encode state for %s hooks: %w", kind, err)
	}
	for i, h := range hooks {
		if err := runHook(h, data, where); err != nil {
			return fmt.Errorf("error running %s hook #%d: %w", kind, i, err)
		}
	}
	return nil
}

// runHooksWarn runs hooks whose failures the spec says to log and go on from (poststop).
func runHooksWarn(kind string, hooks []specs.Hook, state *specs.State) {
	data, err := json.Marshal(state)
	if err != nil {
		slog.Warn("encode state for hooks", "kind", kind, "error", err)
		return
	}
	for i, h := range hooks {
		if err := runHook(h, data, hookEnv{}); err != nil {
			slog.Warn(fmt.Sprintf("error running %s hook #%d: %v", kind, i, err))
		}
	}
}

func runHook(h specs.Hook, state []byte, where hookEnv) error {
	ctx := context.Background()
	if h.Timeout != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(*h.Timeout)*time.Second)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, h.Path)
	if h.Timeout != nil {
		// A child the hook forked may hold its stdout or stderr open long after the hook exits or is killed, and
		// Wait would wait for it, holding the container's lock: the output gets as long again as the hook did,
		// then the pipes are closed. runc waits for the pipes' end and then says the hook ran past its timeout.
		cmd.WaitDelay = time.Duration(*h.Timeout) * time.Second
	}
	cmd.Args = h.Args
	if len(cmd.Args) == 0 {
		cmd.Args = []string{h.Path}
	}
	cmd.Dir = where.dir
	cmd.Env = h.Env
	if len(cmd.Env) == 0 {
		cmd.Env = where.env
	}
	if cmd.Env == nil {
		cmd.Env = []string{} // the hook gets only its own env, not rt's
	}
	cmd.Stdin = bytes.NewReader(state)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := RunCommand(cmd)
	// A hook that exited while a child of its own keeps its output open ends with ErrWaitDelay, whose timer runs
	// out at the same moment as the context's: either one is the timeout.
	if ctx.Err() == context.DeadlineExceeded || errors.Is(err, exec.ErrWaitDelay) {
		return fmt.Errorf("hook ran past specified timeout of %.1fs", float64(*h.Timeout))
	}
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			// One line: the outputs' own line breaks would split rt's error.
			flat := func(b bytes.Buffer) string { return strings.Join(strings.Fields(b.String()), " ") }
			return fmt.Errorf("%w, stdout: %s, stderr: %s", err, flat(stdout), flat(stderr))
		}
		return err
	}
	return nil
}
