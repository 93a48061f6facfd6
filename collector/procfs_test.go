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

// TestKernelThreadsAreToldByTheirFlags: kthreadd and its children carry
// PF_KTHREAD; this process does not. A stat without readable flags falls back
// on kthreadd's place.
func TestKernelThreadsAreToldByTheirFlags(t *testing.T) {
	kthreadd, err := ReadProc(2, nil)
	if err != nil {
		t.Skipf("no pid 2 here (a PID namespace?): %v", err)
	}
	if !kthreadd.Kernel {
		t.Errorf("kthreadd (%s) is not a kernel thread", kthreadd.Comm)
	}
	self, err := ReadProc(uint32(os.Getpid()), nil)
	if err != nil {
		t.Fatal(err)
	}
	if self.Kernel {
		t.Error("this test's process is taken for a kernel thread")
	}
	tests := []struct {
		name      string
		pid, ppid uint32
		stat      string
		want      bool
	}{
		{"flags with PF_KTHREAD", 14, 2, "14 (ksoftirqd/0) S 2 0 0 0 -1 69238848 0 0", true},
		{"flags without", 900, 1, "900 (sh) S 1 900 900 0 -1 4194560 0 0", false},
		{"a comm with spaces and parens", 901, 1, "901 (a (b) c) S 1 901 901 0 -1 4194560 0 0", false},
		{"no flags, child of kthreadd", 15, 2, "15 (x) S 2", true},
		{"no flags, kthreadd", 2, 0, "2 (kthreadd)", true},
		{"no flags, a user process", 902, 1, "902 (x) S 1", false},
	}
	for _, tt := range tests {
		if got := IsKernelThread(tt.pid, tt.ppid, []byte(tt.stat)); got != tt.want {
			t.Errorf("%s: IsKernelThread = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestSyscallFileOfAKernelThreadIsNoSyscall: /proc/PID/syscall of a kernel
// thread reads as read (0) with no user context; it is not inside a syscall.
func TestSyscallFileOfAKernelThreadIsNoSyscall(t *testing.T) {
	tests := []struct {
		text   string
		nr     int
		inside bool
	}{
		{"0 0x0 0x0 0x0 0x0 0x0 0x0 0x0 0x0\n", 0, false}, // a kernel thread
		{"0 0x3 0x7fd852b9f000 0x20000 0x7fd852c32b60 0xffffffff 0x0 0x7ffe268e58a8 0x7fd852d1b2ad\n", 0, true},
		{"232 0x4 0x7ffc 0x400 0xffffffff 0x0 0x0 0x7ffe268e58a8 0x7fd852d1b2ad\n", 232, true},
		{"running\n", 0, false},
		{"-1 0x7ffe268e58a8 0x7fd852d1b2ad\n", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		nr, inside := parseSyscallFile([]byte(tt.text))
		if inside != tt.inside || (inside && nr != tt.nr) {
			t.Errorf("%q: %d %v, want %d %v", tt.text, nr, inside, tt.nr, tt.inside)
		}
	}
}
