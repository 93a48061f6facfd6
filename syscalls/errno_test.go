package syscalls

import (
	"fmt"
	"testing"
)

func TestErrnoNameGivesSymbolicNames(t *testing.T) {
	tests := []struct {
		errno int
		want  string
	}{
		{1, "EPERM"},
		{2, "ENOENT"},
		{-2, "ENOENT"},
		{4, "EINTR"},
		{11, "EAGAIN"},
		{13, "EACCES"},
		{110, "ETIMEDOUT"},
		{512, "ERESTARTSYS"},
		{-516, "ERESTART_RESTARTBLOCK"},
		{0, "E0"},
		{4000, "E4000"},
		{-4000, "E4000"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d_is_%s", tt.errno, tt.want), func(t *testing.T) {
			if got := ErrnoName(tt.errno); got != tt.want {
				t.Errorf("ErrnoName(%d) = %q, want %q", tt.errno, got, tt.want)
			}
		})
	}
}

func TestIsRestartHoldsForMinus512ToMinus516Only(t *testing.T) {
	tests := []struct {
		ret  int64
		want bool
	}{
		{-511, false},
		{-512, true},
		{-513, true},
		{-514, true},
		{-515, true},
		{-516, true},
		{-517, false},
		{512, false},
		{0, false},
		{-4, false},
	}
	for _, tt := range tests {
		if got := IsRestart(tt.ret); got != tt.want {
			t.Errorf("IsRestart(%d) = %v, want %v", tt.ret, got, tt.want)
		}
	}
}

func TestRestartNameNamesTheFiveRestartCodes(t *testing.T) {
	tests := []struct {
		errno int
		want  string
	}{
		{ERestartSys, "ERESTARTSYS"},
		{ERestartNoIntr, "ERESTARTNOINTR"},
		{ERestartNoHand, "ERESTARTNOHAND"},
		{ENoIoctlCmd, "ENOIOCTLCMD"},
		{ERestartRestartBlock, "ERESTART_RESTARTBLOCK"},
		{-513, "ERESTARTNOINTR"},
		{511, ""},
		{517, ""},
		{2, ""},
	}
	for _, tt := range tests {
		if got := RestartName(tt.errno); got != tt.want {
			t.Errorf("RestartName(%d) = %q, want %q", tt.errno, got, tt.want)
		}
		if tt.want != "" && !IsRestart(-int64(abs(tt.errno))) {
			t.Errorf("RestartName names %d but IsRestart(-%d) is false", tt.errno, abs(tt.errno))
		}
	}
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
