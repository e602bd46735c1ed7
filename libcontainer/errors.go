package libcontainer

import (
	"errors"
	"fmt"
)

// Error classes, checked with errors.Is.
var (
	ErrNotExist  = errors.New("container does not exist")
	ErrExist     = errors.New("container already exists")
	ErrInvalidID = errors.New("invalid container id")
	ErrState     = errors.New("container is not in the right state")
	ErrConfig    = errors.New("invalid config")
	// ErrUnreadable is a state.json that does not parse: only a machine crash tears one (see saveLocked), after
	// which nothing it recorded exists any more, so `delete --force` may remove its directory (RemoveUnreadable).
	ErrUnreadable = errors.New("container state is unreadable")
)

// errNotRunning is runc's ErrNotRunning, word for word: containerd's runc shim takes a kill error as "the process
// already exited" only when its text contains "container not running" (checkKillError in
// cmd/containerd-shim-runc-v2/process/utils.go); any other text fails the stop of the container and of its pod.
//
// A literal, not classErr's fmt.Errorf, so that it is data rather than built in package initialisation.
var errNotRunning error = &classed{err: errors.New("container not running"), class: ErrState}

// classed is an error of one of the classes above whose message does not repeat the class's name.
type classed struct {
	err   error
	class error
}

func (e *classed) Error() string { return e.err.Error() }

func (e *classed) Unwrap() error { return e.err }

func (e *classed) Is(target error) bool { return target == e.class }

// classErr formats an error (with %w if it wraps a cause) that errors.Is reports as class.
func classErr(class error, format string, args ...any) error {
	return &classed{err: fmt.Errorf(format, args...), class: class}
}
