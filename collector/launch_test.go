package collector

import (
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
