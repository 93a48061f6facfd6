// Package bpftest holds test helpers for tests that load BPF programs.
package bpftest

import (
	"os"
	"testing"
)

// RequireEnv names the variable CI sets so that a test needing BPF fails instead
// of skipping: CI can never pass by skipping.
const RequireEnv = "TLMON_REQUIRE_BPF"

// Require skips the test when it cannot load BPF programs (not root), or fails it
// when RequireEnv is set.
func Require(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv(RequireEnv) != "" {
		t.Fatalf("%s is set but the test is not running as root: BPF tests cannot run", RequireEnv)
	}
	t.Skip("needs root to load BPF programs")
}
