package session

import (
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"tlmon/bpf"
	"tlmon/collector"
	"tlmon/internal/probetest"
	"tlmon/model"
)

// detailPIDs counts, per PID, the syscall events buffered now in r.
func detailPIDs(t *testing.T, r *bpf.EventReader) map[uint32]int {
	t.Helper()
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	seen := map[uint32]int{}
	var e model.Event
	for {
		ok, _, err := r.Read(&e)
		if err == bpf.ErrFlushed {
			return seen
		}
		if err != nil {
			t.Fatal(err)
		}
		if ok && e.Kind == model.EventSyscall {
			seen[e.Proc.PID]++
		}
	}
}

// TestTraceSendsTheCallsOfOneProcess traces a cat with no class in detail:
// its calls come as detail events. A ProcID whose start time is not the
// process's (it exited, and another took its PID), and tlmon itself, are
// refused and change nothing; the zero ProcID stops the trace.
func TestTraceSendsTheCallsOfOneProcess(t *testing.T) {
	p := probetest.Load(t, bpf.Options{})
	c, _ := newControl(t, p)
	r, err := p.NewDetailReader()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cat := startCat(t)
	start, err := collector.StartTicks(uint32(cat.pid))
	if err != nil {
		t.Fatal(err)
	}
	id := model.ProcID{PID: uint32(cat.pid), Start: start}
	if err := c.Trace(id); err != nil {
		t.Fatal(err)
	}
	if c.Traced() != id {
		t.Fatalf("Traced() is %v after Trace(%v)", c.Traced(), id)
	}
	cat.feed()
	if seen := detailPIDs(t, r); seen[id.PID] == 0 || len(seen) != 1 {
		t.Errorf("detail events per pid while tracing cat %d: %v", id.PID, seen)
	}

	gone := model.ProcID{PID: id.PID, Start: id.Start + 1}
	if err := c.Trace(gone); err == nil || !strings.Contains(err.Error(), "exited") {
		t.Errorf("tracing a process that is gone: %v", err)
	}
	if err := c.Trace(model.ProcID{PID: uint32(os.Getpid())}); err == nil {
		t.Error("tracing tlmon itself did not fail")
	}
	if c.Traced() != id {
		t.Errorf("a refused trace changed the process traced to %v", c.Traced())
	}

	if err := c.Trace(model.ProcID{}); err != nil {
		t.Fatal(err)
	}
	if c.Traced() != (model.ProcID{}) {
		t.Errorf("Traced() is %v once stopped", c.Traced())
	}
	cat.feed()
	if seen := detailPIDs(t, r); len(seen) != 0 {
		t.Errorf("detail events once the trace stopped: %v", seen)
	}

	// Once the process traced has exited, the trace ends by itself.
	if err := c.Trace(id); err != nil {
		t.Fatal(err)
	}
	cat.end()
	if got := c.Traced(); got != (model.ProcID{}) {
		t.Errorf("Traced() is %v once the process exited", got)
	}
}

// TestTraceIsRefusedWithoutDetail: on a rung without detail events, Trace
// says what it needs and nothing is traced.
func TestTraceIsRefusedWithoutDetail(t *testing.T) {
	p := probetest.Load(t, bpf.Options{Hook: bpf.HookTracepoint})
	if p.HasDetail() {
		t.Skip("the tracepoint rung sends detail here")
	}
	c, _ := newControl(t, p)
	cat := startCat(t)
	start, err := collector.StartTicks(uint32(cat.pid))
	if err != nil {
		t.Fatal(err)
	}
	err = c.Trace(model.ProcID{PID: uint32(cat.pid), Start: start})
	if err == nil || !strings.Contains(err.Error(), "rung 1 or 2") {
		t.Errorf("tracing on rung %d: %v, want it refused, naming rungs 1 and 2", p.Rung().Number, err)
	}
	if c.Traced() != (model.ProcID{}) {
		t.Errorf("Traced() is %v after a refusal", c.Traced())
	}
}

// catProc is a cat that reads lines fed to it.
type catProc struct {
	pid   int
	stdin io.WriteCloser
	cmd   *exec.Cmd
}

// end closes the cat's input and waits for it to exit.
func (c *catProc) end() {
	c.stdin.Close()
	c.cmd.Wait()
}

// startCat starts a cat blocked in read, its output thrown away.
func startCat(t *testing.T) *catProc {
	t.Helper()
	cat := exec.Command("cat")
	stdin, err := cat.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cat.Start(); err != nil {
		t.Fatal(err)
	}
	c := &catProc{pid: cat.Process.Pid, stdin: stdin, cmd: cat}
	t.Cleanup(c.end)
	return c
}

// feed gives the cat a line to read and write, and gives it time to.
func (c *catProc) feed() {
	c.stdin.Write([]byte("line\n"))
	time.Sleep(100 * time.Millisecond)
}
