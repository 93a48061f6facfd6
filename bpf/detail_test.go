package bpf

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"tlmon/model"
)

func TestCallEventLayoutMatchesModel(t *testing.T) {
	var c tlmonCallEvent
	if len(c.Data) != model.CallDataLen || len(c.Args) != 6 {
		t.Errorf("call event carries %d bytes and %d args, model %d and 6", len(c.Data), len(c.Args), model.CallDataLen)
	}
	if unsafe.Offsetof(c.Kind) != 0 || unsafe.Offsetof(te.Kind) != 0 {
		t.Error("the kind must be every record's first byte")
	}
}

// drain reads every event buffered now from r, calling fn with each.
func drain(t *testing.T, r *EventReader, fn func(e *model.Event)) {
	t.Helper()
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	var e model.Event
	for {
		ok, _, err := r.Read(&e)
		if err == ErrFlushed {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			fn(&e)
		}
	}
}

// TestOpenatDetailIsExact opens a unique path n times and a missing one n times
// with file detail on, over every buffer and call store: exactly n events each,
// with the path, the flags and the result.
func TestOpenatDetailIsExact(t *testing.T) {
	for _, buf := range []string{BufferRingbuf, BufferPerf} {
		for _, store := range EnterStores() {
			t.Run(buf+"/"+store, func(t *testing.T) {
				p := loadForTest(t, Options{Buffer: buf, EnterStore: store, PerfBytes: 1 << 20})
				r, err := p.NewDetailReader()
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				dir := t.TempDir()
				path, missing := filepath.Join(dir, "present"), filepath.Join(dir, "missing")
				if err := os.WriteFile(path, nil, 0o600); err != nil {
					t.Fatal(err)
				}
				if err := p.SetDetail([]int{unix.SYS_OPENAT}, false); err != nil {
					t.Fatal(err)
				}
				const n = 200
				const flags = unix.O_RDONLY | unix.O_CLOEXEC
				fds := map[int64]bool{}
				for range n {
					fd, err := unix.Openat(unix.AT_FDCWD, path, flags, 0)
					if err != nil {
						t.Fatal(err)
					}
					fds[int64(fd)] = true
					unix.Close(fd)
					if _, err := unix.Openat(unix.AT_FDCWD, missing, flags, 0); err != unix.ENOENT {
						t.Fatalf("open of a missing path: %v", err)
					}
				}
				var ok, enoent int
				var other []string
				drain(t, r, func(e *model.Event) {
					if e.Kind != model.EventSyscall {
						return
					}
					c := &e.Call
					got := string(c.Bytes(c.Str[0]))
					switch {
					case c.Nr != unix.SYS_OPENAT || e.Proc.PID != uint32(os.Getpid()):
						other = append(other, fmt.Sprintf("nr %d pid %d", c.Nr, e.Proc.PID))
					case got == path && c.Ret >= 0 && fds[c.Ret] && c.Args[2] == flags && int32(c.Args[0]) == unix.AT_FDCWD:
						ok++
					case got == missing && c.Ret == -int64(unix.ENOENT) && c.Args[2] == flags:
						enoent++
					case got == path || got == missing:
						other = append(other, fmt.Sprintf("%q ret %d args %x", got, c.Ret, c.Args))
					}
				})
				if ok != n || enoent != n || len(other) > 0 {
					t.Errorf("%d opens and %d ENOENT seen, want %d each; unexpected: %v", ok, enoent, n, other)
				}
			})
		}
	}
}

// TestNoDetailMeansNoEvents checks that with detail off nothing is sent but
// lifecycle events: the kernel's count of detail events stays 0.
func TestNoDetailMeansNoEvents(t *testing.T) {
	p := loadForTest(t, Options{})
	for range 1000 {
		fd, _ := unix.Openat(unix.AT_FDCWD, "/", unix.O_RDONLY, 0)
		unix.Close(fd)
	}
	var c Counters
	if err := p.ReadCounters(&c); err != nil {
		t.Fatal(err)
	}
	if c.System[unix.SYS_OPENAT].Calls < 1000 {
		t.Fatalf("openat counted %d times, want ≥1000", c.System[unix.SYS_OPENAT].Calls)
	}
	if c.DetailAttempted != 0 {
		t.Errorf("%d detail events sent with detail off", c.DetailAttempted)
	}
}

// TestSlowReadIsSentOnce blocks a read on a pipe for 300 ms with a 100 ms
// threshold: exactly one slow-call event, with the fd and the count asked for;
// a read that does not block sends nothing.
func TestSlowReadIsSentOnce(t *testing.T) {
	p := loadForTest(t, Options{Slow: 100 * time.Millisecond})
	rd, err := p.NewDetailReader()
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	go func() {
		time.Sleep(300 * time.Millisecond)
		unix.Write(fds[1], []byte("slow"))
	}()
	runtime.LockOSThread()
	buf := make([]byte, 4096)
	if _, err := unix.Read(fds[0], buf); err != nil { // blocks 300 ms
		t.Fatal(err)
	}
	unix.Write(fds[1], []byte("fast"))
	if _, err := unix.Read(fds[0], buf[:1000]); err != nil { // does not block
		t.Fatal(err)
	}
	runtime.UnlockOSThread()
	var reads []string
	drain(t, rd, func(e *model.Event) {
		c := &e.Call
		if e.Kind == model.EventSyscall && c.Nr == unix.SYS_READ && int(c.Args[0]) == fds[0] {
			reads = append(reads, fmt.Sprintf("count %d ret %d in %v flags %b", c.Args[2], c.Ret, time.Duration(c.Duration), c.Flags))
			if c.Args[2] != 4096 || c.Ret != 4 || c.Duration < uint64(250*time.Millisecond) || c.Flags&model.CallSlow == 0 {
				t.Errorf("slow read: %s", reads[len(reads)-1])
			}
		}
	})
	if len(reads) != 1 {
		t.Errorf("%d slow-call events for the pipe's reads, want 1: %v", len(reads), reads)
	}
}
