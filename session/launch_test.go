package session

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestAUserCommandGetsNoLoaderVariables: under sudo the command runs as the
// user, without the loader's variables and with the user's own HOME.
func TestAUserCommandGetsNoLoaderVariables(t *testing.T) {
	env := userEnv([]string{"PATH=/usr/bin", "LD_PRELOAD=/tmp/evil.so", "LD_LIBRARY_PATH=/tmp", "GCONV_PATH=/tmp", "HOME=/root", "TERM=xterm"}, "65534")
	got := strings.Join(env, " ")
	for _, bad := range []string{"LD_PRELOAD", "LD_LIBRARY_PATH", "GCONV_PATH", "HOME=/root"} {
		if strings.Contains(got, bad) {
			t.Errorf("%s is left in %q", bad, got)
		}
	}
	for _, good := range []string{"PATH=/usr/bin", "TERM=xterm", "USER=nobody", "HOME=/nonexistent"} {
		if !strings.Contains(got, good) {
			t.Errorf("%s is missing from %q", good, got)
		}
	}
}

// TestOnlyGoneOwnersMakeACgroupStale: a command cgroup is stale when no
// process has its owner's PID and start time (or, named the old way, when no
// tlmon has its PID); a running tlmon's and other cgroups never are.
func TestOnlyGoneOwnersMakeACgroupStale(t *testing.T) {
	self := ownCgroupName()
	pid := os.Getpid()
	for name, want := range map[string]bool{
		self:                           false, // this process, alive
		fmt.Sprintf("tlmon-%d-1", pid): true,  // this PID, another start: reused
		"tlmon-999999999-5":            true,  // no such PID
		"tlmon-999999999":              true,  // the old name, no such PID
		fmt.Sprintf("tlmon-%d", pid):   true,  // the old name, a PID that is no tlmon
		"system.slice":                 false,
		"tlmon-abc":                    false,
		fmt.Sprintf("tlmon-%d-x", pid): false,
	} {
		if got := ownerGone(name); got != want {
			t.Errorf("ownerGone(%q) = %v, want %v", name, got, want)
		}
	}
}
