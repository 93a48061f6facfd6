package collector

import (
	"os"
	"testing"
	"time"
)

func TestV1LabelPrefersTheSystemdHierarchy(t *testing.T) {
	tests := []struct{ text, want string }{
		{"12:pids:/system.slice/a.service\n1:name=systemd:/system.slice/nginx.service\n0::/\n", "/system.slice/nginx.service"},
		{"9:name=systemd:/\n4:memory:/process_api/ab12\n0::/\n", "memory:/process_api/ab12"},
		{"9:name=systemd:/\n4:memory:/\n0::/\n", ""},
		{"0::/user.slice/user-1000.slice\n", ""}, // pure v2
	}
	for _, tt := range tests {
		if got := V1Label(tt.text); got != tt.want {
			t.Errorf("V1Label(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

func TestBootTimeIsInThePast(t *testing.T) {
	boot := BootTime()
	if boot.IsZero() || !boot.Before(time.Now()) {
		t.Fatalf("boot time %v", boot)
	}
	// A process started just now started about now.
	start, err := StartTicks(uint32(os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	started := boot.Add(time.Duration(start) * 10 * time.Millisecond)
	if d := time.Since(started); d < -time.Second || d > time.Minute {
		t.Errorf("this test's process started %v ago by BootTime", d)
	}
}
