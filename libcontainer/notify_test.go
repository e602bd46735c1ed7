package libcontainer

import "testing"

// TestNotifyFilter: of what the workload sends, only READY=1 and the last STATUS= line pass; MAINPID=, WATCHDOG=,
// STOPPING=, EXTEND_TIMEOUT_USEC=, FDSTORE= and the rest are dropped (issue 17).
func TestNotifyFilter(t *testing.T) {
	tests := []struct {
		name, msg  string
		wantStatus string
		wantReady  bool
	}{
		{name: "ready", msg: "READY=1", wantReady: true},
		{name: "ready with a trailing newline", msg: "READY=1\n", wantReady: true},
		{name: "ready with steering", msg: "MAINPID=1\nREADY=1\nSTOPPING=1\nWATCHDOG=trigger", wantReady: true},
		{name: "status", msg: "STATUS=up\nMAINPID=1", wantStatus: "STATUS=up"},
		{name: "last status wins", msg: "STATUS=a\nSTATUS=b\nREADY=1", wantStatus: "STATUS=b", wantReady: true},
		{name: "status not UTF-8", msg: "STATUS=\xff"},
		{name: "not quite ready", msg: "READY=0\nREADY=1x\n READY=1"},
		{name: "steering only", msg: "MAINPID=1\nWATCHDOG=trigger\nSTOPPING=1\nEXTEND_TIMEOUT_USEC=1\nFDSTORE=1"},
		{name: "empty", msg: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, ready := notifyFilter([]byte(tc.msg))
			if string(status) != tc.wantStatus || ready != tc.wantReady {
				t.Errorf("notifyFilter(%q) = %q, %v; want %q, %v", tc.msg, status, ready, tc.wantStatus, tc.wantReady)
			}
		})
	}
}

// TestWaitsReady: a foreground run starts its goroutine for AwaitReady only when there is a READY=1 to pass on,
// that is while Start's notify socket is held; AwaitReady of a container without one returns at once.
func TestWaitsReady(t *testing.T) {
	var c Container
	if c.WaitsReady() {
		t.Error("WaitsReady of a container without a notify socket = true")
	}
	if err := c.AwaitReady(true); err != nil {
		t.Errorf("AwaitReady without a notify socket = %v, want nil at once", err)
	}
	c.notifyFd = 100 // as Start leaves it: the bound socket, until AwaitReady takes it
	if !c.WaitsReady() {
		t.Error("WaitsReady with Start's notify socket held = false")
	}
}
