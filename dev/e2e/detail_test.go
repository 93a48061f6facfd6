package e2e

// End-to-end tests of detail events: the real binary with --events, against
// workload modes whose reports say exactly which calls, paths, addresses and
// arguments they used.

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"tlmon/internal/bpftest"
)

// eventLine is one line of --events -o json.
type eventLine struct {
	PID      uint32    `json:"pid"`
	TID      uint32    `json:"tid"`
	Syscall  string    `json:"syscall"`
	Args     [6]uint64 `json:"args"`
	Strings  []string  `json:"strings"`
	Argv     []string  `json:"argv"`
	Ret      int64     `json:"ret"`
	Errno    string    `json:"errno"`
	Duration int64     `json:"duration_ns"`
	Slow     bool      `json:"slow"`
	Text     string    `json:"text"`
	TCP      *struct {
		State, Local, Remote string
	} `json:"tcp"`
}

// detailRun starts tlmon on a waiting workload with --events -o json and the
// given flags, runs the workload into rep, and returns tlmon's event lines and
// its final report.
func detailRun(t *testing.T, rep any, mode string, n int, flags ...string) ([]eventLine, report) {
	t.Helper()
	bpftest.Require(t)
	w := startWorkload(t, mode, strconv.Itoa(n))
	tl := startTlmon(t, append([]string{"--headless", "--events", "-o", "json", "-p", pidArg(w.pid)}, flags...)...)
	w.runInto(t, rep)
	got := tl.finish(t, false)
	var events []eventLine
	lines := strings.Split(strings.TrimSpace(tl.stdout.String()), "\n")
	for _, l := range lines[:len(lines)-1] { // the last line is the report
		var e eventLine
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("event line is not JSON: %v: %q", err, l)
		}
		events = append(events, e)
	}
	if got.Lost.Total != 0 {
		t.Errorf("lost %d events", got.Lost.Total)
	}
	return events, got
}

func TestFileEventsAreExact(t *testing.T) {
	const n = 300
	var w struct {
		PID         uint32 `json:"pid"`
		Path        string `json:"path"`
		MissingPath string `json:"missing_path"`
		Flags       uint64 `json:"flags"`
	}
	events, _ := detailRun(t, &w, "open-unique", n, "--classes", "file")
	var opened, missing, unlinked int
	for _, e := range events {
		if e.PID != w.PID || len(e.Strings) == 0 {
			continue
		}
		switch {
		case e.Syscall == "openat" && e.Strings[0] == w.Path:
			if e.Ret < 0 || e.Args[2] != w.Flags || int32(e.Args[0]) != unix.AT_FDCWD {
				t.Errorf("open of the file: %s", e.Text)
			}
			opened++
		case e.Syscall == "openat" && e.Strings[0] == w.MissingPath:
			if e.Errno != "ENOENT" || e.Args[2] != w.Flags || !strings.Contains(e.Text, "O_RDONLY|O_CLOEXEC") {
				t.Errorf("open of the missing path: %s", e.Text)
			}
			missing++
		case e.Syscall == "unlinkat" && e.Strings[0] == w.Path:
			unlinked++
		}
	}
	if opened != n || missing != n || unlinked != 1 {
		t.Errorf("%d opens, %d ENOENT opens, %d unlinks seen; want %d, %d, 1", opened, missing, unlinked, n, n)
	}
}

func TestNoDetailClassesSendNothing(t *testing.T) {
	var w struct{}
	events, got := detailRun(t, &w, "open-unique", 300, "--classes", "none")
	if len(events) != 0 || got.DetailAttempted != 0 {
		t.Errorf("%d event lines, %d detail events sent with --classes none", len(events), got.DetailAttempted)
	}
}

func TestTCPConnectionsMatchTheSockets(t *testing.T) {
	const n = 20
	var w struct {
		Port      uint16 `json:"port"`
		ServerPID uint32 `json:"server_pid"`
		ClientPID uint32 `json:"client_pid"`
		Conns     []struct {
			ClientLocal string `json:"client_local"`
			ClientPeer  string `json:"client_peer"`
			ServerLocal string `json:"server_local"`
			ServerPeer  string `json:"server_peer"`
		} `json:"conns"`
	}
	events, _ := detailRun(t, &w, "tcp-pair", n, "--classes", "network")
	listener := "127.0.0.1:" + strconv.Itoa(int(w.Port))
	var connects, accepts int
	tuples := map[string]int{} // "pid local remote state"
	for _, e := range events {
		switch {
		case e.TCP != nil:
			tuples[strconv.Itoa(int(e.PID))+" "+e.TCP.Local+" "+e.TCP.Remote+" "+e.TCP.State]++
		case e.Syscall == "connect" && e.PID == w.ClientPID:
			if e.Ret != 0 || !strings.Contains(e.Text, listener) {
				t.Errorf("connect: %s", e.Text)
			}
			connects++
		case e.Syscall == "accept4" && e.PID == w.ServerPID && e.Ret >= 0:
			accepts++
		}
	}
	if connects != n || accepts != n {
		t.Errorf("%d connects and %d accepts seen, want %d each", connects, accepts, n)
	}
	if len(w.Conns) != n {
		t.Fatalf("the workload reported %d connections, want %d", len(w.Conns), n)
	}
	for _, c := range w.Conns {
		client := strconv.Itoa(int(w.ClientPID)) + " " + c.ClientLocal + " " + c.ClientPeer
		server := strconv.Itoa(int(w.ServerPID)) + " " + c.ServerLocal + " " + c.ServerPeer
		for _, want := range []string{client + " established", server + " established", client + " closed", server + " closed"} {
			if tuples[want] != 1 {
				t.Errorf("TCP event %q seen %d times, want once (saw %v)", want, tuples[want], tuples)
			}
		}
	}
}

func TestExecEventsHaveFilenameArgvAndExitCode(t *testing.T) {
	const n = 3
	var w struct {
		Children []struct {
			PID      uint32 `json:"pid"`
			ExitCode int    `json:"exit_code"`
		} `json:"children"`
		Filename string   `json:"filename"`
		Argv     []string `json:"argv"`
	}
	events, got := detailRun(t, &w, "exec-exit7", n, "--classes", "process")
	if len(w.Children) != n {
		t.Fatalf("workload reported %d children", len(w.Children))
	}
	for _, c := range w.Children {
		var execs, exits int
		for _, e := range events {
			if e.PID != c.PID {
				continue
			}
			switch e.Syscall {
			case "execve":
				if e.Ret != 0 || len(e.Strings) != 1 || e.Strings[0] != w.Filename || strings.Join(e.Argv, "\x00") != strings.Join(w.Argv, "\x00") {
					t.Errorf("child %d: %s", c.PID, e.Text)
				}
				execs++
			case "exit_group":
				if e.Args[0] != 7 {
					t.Errorf("child %d: %s", c.PID, e.Text)
				}
				exits++
			}
		}
		if execs != 1 || exits != 1 {
			t.Errorf("child %d: %d execve and %d exit_group events, want 1 each", c.PID, execs, exits)
		}
		if p, ok := got.proc(c.PID); !ok || p.ExitCode != 7 {
			t.Errorf("child %d: exit code %d in the report (listed: %v), want 7", c.PID, p.ExitCode, ok)
		}
	}
}

func TestKillEventsNameTargetAndSignal(t *testing.T) {
	const n = 3
	var w struct {
		PID      uint32 `json:"pid"`
		Children []struct {
			PID uint32 `json:"pid"`
		} `json:"children"`
	}
	events, _ := detailRun(t, &w, "kill-usr1", n, "--classes", "signal")
	seen := map[uint32]int{}
	for _, e := range events {
		if e.Syscall == "kill" && e.PID == w.PID {
			if e.Args[1] != uint64(unix.SIGUSR1) || e.Ret != 0 || !strings.Contains(e.Text, "SIGUSR1") {
				t.Errorf("kill: %s", e.Text)
			}
			seen[uint32(e.Args[0])]++
		}
	}
	for _, c := range w.Children {
		if seen[c.PID] != 1 {
			t.Errorf("kill of child %d seen %d times, want once (all: %v)", c.PID, seen[c.PID], seen)
		}
	}
}

func TestSlowReadIsReportedOnce(t *testing.T) {
	var w struct {
		FD    int    `json:"fd"`
		Count uint64 `json:"count"`
	}
	events, _ := detailRun(t, &w, "slow-read", 1, "--classes", "none", "--slow", "100ms")
	var reads []eventLine
	for _, e := range events {
		if e.Syscall == "read" {
			reads = append(reads, e)
		}
	}
	if len(reads) != 1 {
		t.Fatalf("%d read events, want exactly the slow one: %v", len(reads), reads)
	}
	r := reads[0]
	if !r.Slow || int(r.Args[0]) != w.FD || r.Args[2] != w.Count || r.Duration < 250e6 {
		t.Errorf("slow read: %s (slow %v, %d ns)", r.Text, r.Slow, r.Duration)
	}
}

func TestCompatCallsAreCountedApart(t *testing.T) {
	const n = 1000
	var w struct {
		PID    uint32 `json:"pid"`
		Compat bool   `json:"compat"`
	}
	_, got := detailRun(t, &w, "compat-getpid", n, "--classes", "none")
	if !w.Compat {
		t.Skip("no 32-bit syscall entry on this kernel")
	}
	p, _ := got.proc(w.PID)
	if c := p.syscall("compat_32bit").Calls; c != n {
		t.Errorf("compat_32bit counted %d times, want %d", c, n)
	}
}

// TestHostilePathsAreInertInCSV opens a path holding an escape sequence, an
// OSC 52 clipboard write and a newline: the CSV event log must carry no
// control byte, and its rows must parse.
func TestHostilePathsAreInertInCSV(t *testing.T) {
	bpftest.Require(t)
	w := startWorkload(t, "hostile-open", "5")
	tl := startTlmon(t, "--headless", "--events", "-o", "csv", "--classes", "file", "-p", pidArg(w.pid))
	var rep struct{}
	w.runInto(t, &rep)
	tl.cmd.Wait()
	out := tl.stdout.Bytes()
	for _, b := range out {
		if b < 0x20 && b != '\n' || b == 0x7f {
			t.Fatalf("control byte %#x in the CSV output:\n%q", b, out)
		}
	}
	// The event rows come first; the summary after them is CSV of its own.
	rows, err := csv.NewReader(bytes.NewReader(out[:bytes.Index(out, []byte("pid,start_time"))])).ReadAll()
	if err != nil {
		t.Fatalf("the event log is not CSV: %v\n%s", err, out)
	}
	n := 0
	for _, row := range rows {
		if len(row) == 8 && row[3] == "openat" && strings.Contains(row[7], `\x1b[2J`) && strings.Contains(row[7], `\n`) {
			n++
		}
	}
	if n != 5 {
		t.Errorf("%d hostile opens in the CSV, want 5:\n%s", n, out)
	}
}
