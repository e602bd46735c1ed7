package libcontainer

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os/exec"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// runHooks runs each hook in order with the container state on its stdin (runtime-spec config.md "POSIX-platform
// Hooks"): the first failure stops the rest and is returned, naming the hook.
func runHooks(kind string, hooks []specs.Hook, state *specs.State) error {
	if len(hooks) == 0 {
		return nil
	}
	data, err := json.Marshal(state)
	if err != nil {
		return fmt.Errorf("encode state for %s hooks: %w", kind, err)
	}
	for i, h := range hooks {
		if err := runHook(h, data); err != nil {
			return fmt.Errorf("hooks.%s[%d] %s: %w", kind, i, h.Path, err)
		}
	}
	return nil
}

// runHooksWarn runs hooks whose failures the spec says to log and go on from (poststart, poststop).
func runHooksWarn(kind string, hooks []specs.Hook, state *specs.State) {
	data, err := json.Marshal(state)
	if err != nil {
		slog.Warn("encode state for hooks", "kind", kind, "error", err)
		return
	}
	for i, h := range hooks {
		if err := runHook(h, data); err != nil {
			slog.Warn(fmt.Sprintf("hooks.%s[%d] %s: %v", kind, i, h.Path, err))
		}
	}
}

func runHook(h specs.Hook, state []byte) error {
	ctx := context.Background()
	if h.Timeout != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(*h.Timeout)*time.Second)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, h.Path)
	cmd.Args = h.Args
	if len(cmd.Args) == 0 {
		cmd.Args = []string{h.Path}
	}
	cmd.Env = h.Env
	if cmd.Env == nil {
		cmd.Env = []string{} // the hook gets only its own env, not rt's
	}
	cmd.Stdin = bytes.NewReader(state)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	err := cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		return fmt.Errorf("timed out after %ds", *h.Timeout)
	}
	if err != nil {
		if out := bytes.TrimSpace(stderr.Bytes()); len(out) > 0 {
			return fmt.Errorf("%w: %s", err, out)
		}
		return err
	}
	return nil
}
