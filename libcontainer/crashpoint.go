//go:build !rtcrashpoint

package libcontainer

// crashpoint marks a named step of a command, where the crash test (tests/crash) can kill rt. A release build has
// no way to reach that: the hook is only in a binary built with the rtcrashpoint tag (build/rt-crash, made by
// `make test-crash`), and this empty function is inlined away.
func crashpoint(string) {}
