package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tlmon/internal/bpftest"
	"tlmon/model"
)

// hostileRaw are pieces of the names workload hostile-open uses (a process
// named with an SGR sequence and a right-to-left override, a path holding CSI
// 2J, OSC 52, BEL, a newline, an override, a zero-width space and a byte that
// is not UTF-8): none may reach a terminal or a file raw.
var hostileRaw = []string{"\x1b[2J-", "\x1b]52;", "\a-", "\x1b[31m", "\u202e", "\u200b", "\xff"}

func holdsRaw(t *testing.T, what string, out []byte) {
	t.Helper()
	for _, r := range hostileRaw {
		if bytes.Contains(out, []byte(r)) {
			t.Errorf("%s holds %q raw", what, r)
		}
	}
}

// hostileReport is what workload hostile-open says it did, names escaped.
type hostileReport struct {
	workloadReport
	Path string `json:"path"`
	Comm string `json:"comm"`
}

// TestHostileNamesAreInertAndFaithful: every output format carries the
// hostile names escaped, and JSON gives back their exact bytes.
func TestHostileNamesAreInertAndFaithful(t *testing.T) {
	bpftest.Require(t)
	for _, output := range []string{"json", "table", "csv"} {
		t.Run(output, func(t *testing.T) {
			w := startWorkload(t, "hostile-open", "3")
			tl := startTlmon(t, "--headless", "-o", output, "--top", "0", "--classes", "file", "-p", pidArg(w.pid))
			var wr hostileReport
			w.runInto(t, &wr)
			tl.cmd.Wait()
			out := tl.stdout.Bytes()
			holdsRaw(t, output, out)
			if !bytes.Contains(out, []byte(wr.Comm)) && output != "json" {
				t.Errorf("the process name %s is not in the %s output:\n%s", wr.Comm, output, out)
			}
			if output != "json" {
				return
			}
			var rep struct {
				Processes []struct {
					PID  uint32 `json:"pid"`
					Comm string `json:"comm"`
				} `json:"processes"`
				Files []struct {
					Path  string `json:"path"`
					Opens uint64 `json:"opens"`
				} `json:"files"`
			}
			if err := json.Unmarshal(out, &rep); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			comm, path := unescaped(t, wr.Comm), unescaped(t, wr.Path)
			named, opened := false, uint64(0)
			for _, p := range rep.Processes {
				named = named || p.PID == w.pid && unescaped(t, p.Comm) == comm
			}
			for _, f := range rep.Files {
				if unescaped(t, f.Path) == path {
					opened += f.Opens
				}
			}
			if !named || opened != 3 {
				t.Errorf("JSON: process named exactly %v, %d opens of the exact path (want 3):\n%s", named, opened, out)
			}
		})
	}
}

func unescaped(t *testing.T, s string) string {
	t.Helper()
	u, err := model.Unescape(s)
	if err != nil {
		t.Fatalf("%q does not unescape: %v", s, err)
	}
	return u
}

// TestHostileNamesAreInertOnScreen: the monitor's raw terminal stream, through
// the Processes view, the process's detail, its events, Files, In flight and
// its Threads, carries none of the hostile names raw, and the screen shows
// them escaped.
func TestHostileNamesAreInertOnScreen(t *testing.T) {
	bpftest.Require(t)
	w := startWorkload(t, "--hold", "60s", "hostile-open", "3") // alive, so its row stays
	stream := filepath.Join(t.TempDir(), "stream")
	// tlmon starts once the pane's output is piped: the stream holds every frame.
	s := startTmux(t, 160, 45, "sleep 1; "+tlmonBin+" -i 200ms --theme mono --classes file -p "+pidArg(w.pid))
	if out, err := s.tmux("pipe-pane", "-t", s.name, "cat > "+stream).CombinedOutput(); err != nil {
		t.Fatalf("pipe-pane: %v %s", err, out)
	}
	s.waitFor("scope pid", 10*time.Second)
	var wr hostileReport
	w.goAhead(t, &wr)
	s.waitFor(`\x1b[31m\u202ee`, 10*time.Second) // Processes: the name cut to its column
	s.keys("Enter")
	s.waitFor(`\u202eevil`, 5*time.Second) // its syscalls and detail
	s.keys("e")
	s.waitFor(`\u202etxt.exe`, 5*time.Second) // its events
	s.keys("Escape", "Escape", "4")
	s.waitFor(`\u202etxt.exe`, 5*time.Second) // Files
	s.keys("3")
	s.waitFor(`\x1b[31m\u202ee`, 5*time.Second) // In flight: its held threads wait
	s.keys("1", "T")
	s.waitFor(`\x1b[31m\u202eevil`, 5*time.Second) // Threads: the leader's name
	s.keys("q")
	time.Sleep(500 * time.Millisecond)
	s.tmux("pipe-pane", "-t", s.name).Run() // stop the pipe: the file is complete
	out, err := os.ReadFile(stream)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 || !strings.Contains(string(out), "evil") {
		t.Fatalf("the terminal stream was not captured (%d bytes)", len(out))
	}
	holdsRaw(t, "the terminal stream", out)
	t.Logf("%d bytes of terminal stream checked", len(out))
}
