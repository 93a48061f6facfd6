package session

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"tlmon/bpf"
	"tlmon/internal/probetest"
	"tlmon/model"
)

// TestThreadsKeepTheirNamesWhenTheyExit: the worker threads of a pool name
// themselves and may be gone by the next look: the Threads view names each by
// the name it had when last read, never by nothing.
func TestThreadsKeepTheirNamesWhenTheyExit(t *testing.T) {
	p := probetest.Load(t, bpf.Options{})
	c, _ := newControl(t, p)
	self := uint32(os.Getpid())
	if _, err := c.Threads(self); err != nil {
		t.Fatal(err)
	}
	defer c.Threads(0)
	var tids [2]uint32
	var ready, done sync.WaitGroup
	seen := make(chan struct{})
	for i := range tids {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
			tids[i] = uint32(unix.Gettid())
			name, _ := unix.BytePtrFromString(fmt.Sprintf("worker-%d", i))
			if err := unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(name)), 0, 0, 0); err != nil {
				t.Error(err)
			}
			for range 100 {
				unix.Getppid()
			}
			ready.Done()
			<-seen
			unix.Getppid()
		}()
	}
	ready.Wait()
	live, err := c.Threads(self)
	if err != nil {
		t.Fatal(err)
	}
	close(seen)
	done.Wait()
	gone, err := c.Threads(self)
	if err != nil {
		t.Fatal(err)
	}
	for look, stats := range map[string][]model.ThreadStat{"alive": live, "exited": gone} {
		names := map[uint32]string{}
		for _, s := range stats {
			names[s.TID] = s.Comm
		}
		for i, tid := range tids {
			if want := fmt.Sprintf("worker-%d", i); names[tid] != want {
				t.Errorf("%s: thread %d is named %q, want %q", look, tid, names[tid], want)
			}
		}
	}
}
