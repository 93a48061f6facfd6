package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"tlmon/dev/internal/devtool"
)

// snapshot is the part of one of tlmon's JSON reports the soak reads.
type snapshot struct {
	At     time.Time `json:"at"`
	Totals struct {
		Calls uint64 `json:"calls"`
	} `json:"totals"`
	Processes []procRow `json:"processes"`
	Retired   struct {
		Processes uint64 `json:"processes"`
		Calls     uint64 `json:"calls"`
	} `json:"retired"`
	// Lost holds numbers, and "unattributed", an object.
	Lost         map[string]json.RawMessage `json:"lost"`
	Files        []fileRow                  `json:"files"`
	DetailEvents uint64                     `json:"detail_events"`
	// PendingCalls are the calls counted system-wide and in no process yet:
	// young processes' counts on their way (at most two intervals).
	PendingCalls int64 `json:"pending_calls"`
	// FilesRefused counts opens of paths the full Files table did not take.
	FilesRefused uint64 `json:"files_refused"`
}

type procRow struct {
	PID      int    `json:"pid"`
	Comm     string `json:"comm"`
	Alive    bool   `json:"alive"`
	Calls    uint64 `json:"calls"`
	Syscalls []struct {
		Name   string `json:"name"`
		Calls  uint64 `json:"calls"`
		Errors uint64 `json:"errors"`
	} `json:"syscalls"`
}

type fileRow struct {
	Path   string            `json:"path"`
	Opens  uint64            `json:"opens"`
	Errors uint64            `json:"errors"`
	Errno  map[string]uint64 `json:"errno"`
}

// losses returns lost's counters (all but the unattributed object) and the
// calls counted unattributed.
func (s *snapshot) losses() (counters map[string]uint64, unattributed uint64) {
	counters = map[string]uint64{}
	for k, raw := range s.Lost {
		if k == "unattributed" {
			var u struct {
				Calls uint64 `json:"calls"`
			}
			json.Unmarshal(raw, &u)
			unattributed = u.Calls
			continue
		}
		var n uint64
		if json.Unmarshal(raw, &n) == nil {
			counters[k] = n
		}
	}
	return counters, unattributed
}

// watch reads tlmon's JSON reports as they come, keeps the latest for the
// checks, and tracks over all of them the most each loss counter reached and
// whether the invariant held: processes + retired + unattributed + pending =
// system-wide, with pending never below 0 (that would be a call counted twice)
// and 0 in the final summary.
type watch struct {
	mu      sync.Mutex
	changed *sync.Cond
	latest  *snapshot
	ended   bool

	reports       int
	maxLost       map[string]uint64
	firstLost     map[string]time.Time // when each loss counter left 0
	invariantBad  int
	invariantNote string
	maxPending    int64
	lineBytes     int           // the longest report line
	maxLag        time.Duration // the longest from a report's time to its line read
}

func newWatch() *watch {
	w := &watch{maxLost: map[string]uint64{}, firstLost: map[string]time.Time{}}
	w.changed = sync.NewCond(&w.mu)
	return w
}

// read consumes report lines from r until it ends.
func (w *watch) read(r io.Reader) {
	br := bufio.NewReaderSize(r, 1<<20)
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 1 {
			var s snapshot
			if json.Unmarshal(line, &s) == nil && !s.At.IsZero() {
				w.add(&s, len(line))
			}
		}
		if err != nil {
			break
		}
	}
	w.mu.Lock()
	w.ended = true
	w.changed.Broadcast()
	w.mu.Unlock()
}

func (w *watch) add(s *snapshot, size int) {
	counters, unattributed := s.losses()
	var sum uint64
	for _, p := range s.Processes {
		sum += p.Calls
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.reports++
	w.lineBytes = max(w.lineBytes, size)
	w.maxLag = max(w.maxLag, time.Since(s.At))
	for k, n := range counters {
		if n > w.maxLost[k] {
			w.maxLost[k] = n
		}
		if _, seen := w.firstLost[k]; n > 0 && !seen && countsLoss(k) {
			w.firstLost[k] = s.At
		}
	}
	w.maxPending = max(w.maxPending, s.PendingCalls)
	if got := int64(sum+s.Retired.Calls+unattributed) + s.PendingCalls; got != int64(s.Totals.Calls) || s.PendingCalls < 0 {
		w.invariantBad++
		if w.invariantNote == "" {
			w.invariantNote = fmt.Sprintf("at %s: processes %d + retired %d + unattributed %d + pending %d = %d, system-wide %d",
				s.At.Format("15:04:05"), sum, s.Retired.Calls, unattributed, s.PendingCalls, got, s.Totals.Calls)
		}
	}
	w.latest = s
	w.changed.Broadcast()
}

// countsLoss tells the loss counters from the two event counts lost also holds.
func countsLoss(key string) bool {
	return key != "events_attempted" && key != "events_received"
}

// after waits for a report taken at or after t and returns it; nil if none
// comes within timeout or tlmon ended.
func (w *watch) after(t time.Time, timeout time.Duration) *snapshot {
	timer := time.AfterFunc(timeout, func() {
		w.mu.Lock()
		w.changed.Broadcast()
		w.mu.Unlock()
	})
	defer timer.Stop()
	deadline := time.Now().Add(timeout)
	w.mu.Lock()
	defer w.mu.Unlock()
	for (w.latest == nil || w.latest.At.Before(t)) && !w.ended && time.Now().Before(deadline) {
		w.changed.Wait()
	}
	if w.latest == nil || w.latest.At.Before(t) {
		return nil
	}
	return w.latest
}

// headless is `tlmon --headless -o json -i INTERVAL --since-start --top 0`, watching the
// whole machine.
type headless struct {
	cmd     *exec.Cmd
	kids    *children
	watch   *watch
	read    chan struct{} // closed when stdout has been read to its end
	errFile string
	stopped bool
}

func startHeadless(ctx context.Context, kids *children, tlmon string, interval time.Duration, errFile string) (*headless, error) {
	h := &headless{kids: kids, watch: newWatch(), read: make(chan struct{}), errFile: errFile}
	// File detail is off by default for the whole machine: the soak's file
	// load needs it (and the churn's file calls make it the heaviest case).
	h.cmd = exec.Command(tlmon, "--headless", "-o", "json", "-i", interval.String(), "--since-start", "--top", "0", "--classes", "process,file,network")
	// Killed with the soak, should it die without cleaning up. The workloads
	// are not: the child's pre-exec PR_SET_PDEATHSIG check calls getppid,
	// which tlmon would count for the storm's process; they end by themselves.
	h.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stderr, err := os.Create(errFile)
	if err != nil {
		return nil, err
	}
	defer stderr.Close()
	h.cmd.Stderr = stderr
	out, err := h.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := kids.start(h.cmd); err != nil {
		return nil, fmt.Errorf("headless tlmon: %w", err)
	}
	go func() { h.watch.read(out); close(h.read) }()
	if h.watch.after(time.Now(), 30*time.Second) == nil {
		h.stop()
		msg, _ := os.ReadFile(errFile)
		return nil, fmt.Errorf("headless tlmon gave no report in 30s: %s", devtool.Tail(msg, 5))
	}
	select {
	case <-ctx.Done():
		h.stop()
		return nil, ctx.Err()
	default:
	}
	return h, nil
}

func (h *headless) pid() int { return h.cmd.Process.Pid }

// stop ends tlmon with SIGINT, as a user would, and returns its final report
// (its summary; nil if none came). A tlmon that does not end within 10 s is
// killed. Calling it again does nothing.
func (h *headless) stop() (*snapshot, error) {
	if h.stopped {
		return nil, nil
	}
	h.stopped = true
	h.cmd.Process.Signal(os.Interrupt)
	var err error
	select {
	case <-h.read:
		err = h.cmd.Wait()
	case <-time.After(10 * time.Second):
		h.cmd.Process.Kill()
		err = h.cmd.Wait() // closes stdout, should something else hold it open
		<-h.read
	}
	h.kids.done(h.cmd)
	if err != nil {
		msg, _ := os.ReadFile(h.errFile)
		err = fmt.Errorf("%v: %s", err, strings.TrimSpace(devtool.Tail(msg, 3)))
	}
	h.watch.mu.Lock()
	defer h.watch.mu.Unlock()
	return h.watch.latest, err
}

// children are the processes the soak started and has not yet waited for,
// so that any left when it ends, fails or is interrupted can be killed.
type children struct {
	mu   sync.Mutex
	cmds map[*exec.Cmd]bool
}

// start starts cmd and keeps it until done is called.
func (c *children) start(cmd *exec.Cmd) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmds == nil {
		c.cmds = map[*exec.Cmd]bool{}
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	c.cmds[cmd] = true
	return nil
}

// done forgets cmd once it has been waited for.
func (c *children) done(cmd *exec.Cmd) {
	c.mu.Lock()
	delete(c.cmds, cmd)
	c.mu.Unlock()
}

// killAll kills every child still running, by its own pid.
func (c *children) killAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for cmd := range c.cmds {
		if err := cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
			fmt.Fprintf(os.Stderr, "soak: kill %d: %v\n", cmd.Process.Pid, err)
		}
	}
}
