package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"tlmon/dev/internal/devtool"
)

// report is the part of a workload report (workload/main.go) the soak reads.
type report struct {
	Mode        string                       `json:"mode"`
	PID         int                          `json:"pid"`
	Calls       map[string]uint64            `json:"calls"`
	Errors      map[string]map[string]uint64 `json:"errors"`
	Elapsed     int64                        `json:"elapsed_ns"`
	Spawned     int                          `json:"spawned"`
	ExitCodes   map[string]int               `json:"exit_codes"`
	Path        string                       `json:"path"`
	MissingPath string                       `json:"missing_path"`
}

// kind is one of the three loads, and what its runs have shown so far.
type kind struct {
	name    string
	checked []string // the syscalls whose counts for the process must be exact

	mu        sync.Mutex
	runs      int // runs that reported
	exact     int // runs tlmon counted exactly
	failed    int // runs that did not report (killed at the end, or a failure)
	calls     uint64
	spawned   int
	elapsed   time.Duration
	exitCodes map[string]int
	filesFull int      // open-unique runs whose paths could not be checked: Files full
	misses    []string // the first few differences, for the summary
}

func (k *kind) miss(format string, args ...any) {
	if len(k.misses) < 5 {
		k.misses = append(k.misses, fmt.Sprintf(format, args...))
	}
}

// load runs the workloads and checks each run against the headless tlmon.
type load struct {
	hard     context.Context // ends only when the soak is interrupted: runs are killed
	o        options
	workload string
	kids     *children
	watch    *watch
	hold     time.Duration // how long each workload stays after its report

	spawn, storm, open kind
	checks             sync.WaitGroup
}

// run starts the three loads and returns when ctx ends and every run started
// has ended and been checked.
func (l *load) run(ctx context.Context) {
	o := l.o
	// clone also counts the threads the Go runtime starts in the workload,
	// which checkRun adds from /proc (see checkRun).
	l.spawn = kind{name: "spawn", checked: []string{"clone", "wait4", "clock_nanosleep"}, exitCodes: map[string]int{}}
	l.storm = kind{name: "getppid", checked: []string{"getppid"}}
	l.open = kind{name: "open-unique", checked: []string{"unlinkat"}}

	// A spawn run makes 2 s of starts at the rate asked, so the last one ends
	// soon after the load does even when tlmon slows the starts down a lot.
	spawnN := max(1, 2*o.spawnRate)
	if o.spawnRate == 0 {
		spawnN = 2000
	}
	spawnArgs := []string{"--procs", strconv.Itoa(o.spawnProcs), "--rate", strconv.Itoa(o.spawnRate), "spawn", strconv.Itoa(spawnN)}

	var loops sync.WaitGroup
	loops.Go(func() { l.loop(ctx, &l.spawn, 0, spawnArgs) })
	loops.Go(func() { l.loop(ctx, &l.storm, o.stormEvery, []string{"getppid", strconv.Itoa(o.stormN)}) })
	loops.Go(func() { l.loop(ctx, &l.open, o.openEvery, []string{"open-unique", strconv.Itoa(o.openN)}) })
	loops.Wait()
	l.checks.Wait()
}

// loop starts a run of the workload with args every `every` (or as soon as
// the last one reported, for 0) until ctx ends. A run goes on holding while
// the next one starts.
func (l *load) loop(ctx context.Context, k *kind, every time.Duration, args []string) {
	for ctx.Err() == nil {
		next := time.Now().Add(every)
		l.start(k, args)
		select {
		case <-ctx.Done():
		case <-time.After(time.Until(next)):
		}
	}
}

// start runs the workload, waits for its report and hands it to a check;
// the process itself holds for l.hold and is waited for in the background.
// A run is never cut short: the load ends when the last runs have ended.
func (l *load) start(k *kind, args []string) {
	cmd := exec.CommandContext(l.hard, l.workload, append([]string{"--hold", l.hold.String()}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err == nil {
		err = l.kids.start(cmd)
	}
	if err != nil {
		k.mu.Lock()
		k.failed++
		k.miss("start %v: %v", args, err)
		k.mu.Unlock()
		return
	}
	// A run that hangs would hold the soak up for good.
	stuck := time.AfterFunc(5*time.Minute, func() { cmd.Process.Kill() })
	line, _ := bufio.NewReader(out).ReadBytes('\n')
	stuck.Stop()
	reported := time.Now()
	// Threads the runtime started, read while the process holds: every one
	// was started with a clone that tlmon counts for the process. Only where
	// clone is checked: each read opens a path of its own in /proc, which
	// takes a row of tlmon's Files table.
	threads := 0
	if slices.Contains(k.checked, "clone") {
		threads = countThreads(cmd.Process.Pid)
	}
	l.checks.Go(func() {
		werr := cmd.Wait()
		l.kids.done(cmd)
		var r report
		if err := json.Unmarshal(line, &r); err != nil || werr != nil {
			k.mu.Lock()
			k.failed++
			k.miss("%s: %v %v: %s", k.name, werr, err, devtool.Tail(stderr.Bytes(), 2))
			k.mu.Unlock()
		}
	})
	var r report
	if json.Unmarshal(line, &r) != nil {
		return
	}
	l.checks.Go(func() { l.checkRun(k, &r, reported, threads) })
}

// countThreads is how many threads pid has now, 0 if it is gone.
func countThreads(pid int) int {
	tasks, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
	if err != nil {
		return 0
	}
	return len(tasks)
}

// checkRun compares tlmon's counts for the run's process with its report,
// in the first report tlmon took four intervals after the workload's. The
// workload holds for six, so it is alive then, and tlmon has had time to
// give a new process its row (it may wait for a thread to live through a
// whole read before it counts it per process):
//   - the kind's checked syscalls: calls and errors as reported. Setup and
//     the Go runtime make none of them, so the whole life's count is the
//     measured phase's; except clone, which the runtime also uses for its
//     threads: threads - 1 more;
//   - open-unique's two paths in the Files table: the missing one opened N
//     times, all ENOENT; the temp file N+1 times (its creation is one).
func (l *load) checkRun(k *kind, r *report, reported time.Time, threads int) {
	s := l.watch.after(reported.Add(4*l.o.interval), 30*time.Second)
	k.mu.Lock()
	defer k.mu.Unlock()
	k.runs++
	k.elapsed += time.Duration(r.Elapsed)
	k.spawned += r.Spawned
	for code, n := range r.ExitCodes {
		k.exitCodes[code] += n
	}
	for _, n := range r.Calls {
		k.calls += n
	}
	if s == nil {
		k.miss("pid %d: no tlmon report within 30 s of the workload's", r.PID)
		return
	}
	i := slices.IndexFunc(s.Processes, func(p procRow) bool { return p.PID == r.PID && p.Alive })
	if i < 0 {
		k.miss("pid %d: not in tlmon's report of %s, %v after the workload's (which held %v)",
			r.PID, s.At.Format("15:04:05.000"), s.At.Sub(reported).Round(time.Millisecond), l.hold)
		return
	}
	row := s.Processes[i]
	var diffs []string
	for _, name := range k.checked {
		want, wantErr := r.Calls[name], uint64(0)
		for _, n := range r.Errors[name] {
			wantErr += n
		}
		if name == "clone" && want > 0 {
			want += uint64(max(threads-1, 0))
		}
		var got, gotErr uint64
		for _, sc := range row.Syscalls {
			if sc.Name == name {
				got, gotErr = sc.Calls, sc.Errors
			}
		}
		if got != want || gotErr != wantErr {
			diffs = append(diffs, fmt.Sprintf("%s %d (%d errors), want %d (%d)", name, got, gotErr, want, wantErr))
		}
	}
	if r.Mode == "open-unique" && s.FilesRefused == 0 {
		n := r.Calls["close"] // one per round: the temp file's
		diffs = append(diffs, checkFile(s, r.MissingPath, n, n)...)
		diffs = append(diffs, checkFile(s, r.Path, n+1, 0)...)
	} else if r.Mode == "open-unique" {
		k.filesFull++
	}
	if len(diffs) > 0 {
		k.miss("pid %d: %s", r.PID, strings.Join(diffs, "; "))
		return
	}
	k.exact++
}

// maxFiles is how many paths tlmon's Files table keeps: once full, it takes
// no new path (the counts it shows stay exact; files_refused counts the opens
// it refused), so a run's paths can only be checked while it has room. A
// workstation's churn can fill it within seconds.
const maxFiles = 4096

// checkFile checks one path's row in the Files table: opens, and errors all
// ENOENT.
func checkFile(s *snapshot, path string, opens, enoent uint64) []string {
	i := slices.IndexFunc(s.Files, func(f fileRow) bool { return f.Path == path })
	if i < 0 {
		return []string{fmt.Sprintf("%s not in files (%d paths listed; tlmon keeps at most 4,096)", path, len(s.Files))}
	}
	f := s.Files[i]
	if f.Opens != opens || f.Errors != enoent || f.Errno["ENOENT"] != enoent {
		return []string{fmt.Sprintf("%s: %d opens, %d errors %v; want %d, %d ENOENT", path, f.Opens, f.Errors, f.Errno, opens, enoent)}
	}
	return nil
}
