package session

import (
	"os"
	"testing"

	"tlmon/bpf"
	"tlmon/internal/probetest"
	"tlmon/model"
)

// TestAttachLimitsTheListAndKeepsCountsBackToEverything: attaching to a
// process limits what is listed to its scope and starts afresh; rescoping
// back to everything keeps the counts rather than resetting them silently.
func TestAttachLimitsTheListAndKeepsCountsBackToEverything(t *testing.T) {
	p := probetest.Load(t, bpf.Options{})
	c, n := newControl(t, p)
	self := model.Target{Kind: model.TargetPID, PID: uint32(os.Getpid())}
	if err := c.Attach(self); err != nil {
		t.Fatal(err)
	}
	if n.scope != self || n.cleared != 1 {
		t.Errorf("attach to a pid: scope %+v, cleared %d times, want the pid's, once", n.scope, n.cleared)
	}
	if err := c.Attach(model.Target{Kind: model.TargetAll}); err != nil {
		t.Fatal(err)
	}
	if n.scope.Kind != model.TargetAll || n.cleared != 1 {
		t.Errorf("back to everything: scope %+v, cleared %d times, want everything, counts kept", n.scope, n.cleared)
	}
	if c.Meta().Scope != "all" {
		t.Errorf("scope %q", c.Meta().Scope)
	}
}
