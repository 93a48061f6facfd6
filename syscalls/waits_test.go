package syscalls

import "testing"

// TestWaitingSyscallsExist: every name in the waiting list is a syscall of
// some table (a typo would silently never match), and the calls that should
// be quick are not in it.
func TestWaitingSyscallsExist(t *testing.T) {
	amd64, arm64 := mustTable(t, "amd64"), mustTable(t, "arm64")
	for name := range waiting {
		if _, ok := amd64.Lookup(name); !ok {
			if _, ok := arm64.Lookup(name); !ok {
				t.Errorf("%q waits, but no table has it", name)
			}
		}
	}
	for _, name := range []string{"openat", "close", "write", "getppid", "fsync", "mmap"} {
		if Waits(name) {
			t.Errorf("Waits(%q) = true: its latency is the kernel's work", name)
		}
	}
	if !Waits("epoll_wait") || !Waits("ppoll") {
		t.Error("epoll_wait and ppoll wait by design")
	}
}
