package main

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// The kernel's statistics of each BPF program (kernel.bpf_stats_enabled):
// where a tracer's added cost goes, program by program.

// bpfStatsRuns are the workloads of bpf-stats and their N (times -scale):
// one process's life, and the cheapest syscall.
var bpfStatsRuns = []struct {
	mode  string
	n     int
	round string // what one of the N is, for the table
}{
	{"spawn", 2_000, "process"},
	{"getppid", 1_000_000, "call"},
}

// bpfStatsTracers are the tracers whose programs are measured.
var bpfStatsTracers = []string{"floor", "tlmon", "tlmon-nodetail", "bpftrace-count"}

// BPFStats is what each BPF program of each tracer cost in one run of a
// workload, from the kernel's own accounting (run_time_ns and run_cnt of
// BPF_OBJ_GET_INFO_BY_FD, the numbers `bpftool prog show` prints), with the
// tracer's own process's CPU time beside it.
type BPFStats struct {
	// Rounds is each workload's N in these runs.
	Rounds map[string]int `json:"rounds"`
	// RoundName is what one round is, per workload ("process", "call").
	RoundName map[string]string `json:"round_name"`
	Programs  []ProgramCost     `json:"programs"`
	Errors    []string          `json:"errors,omitempty"`
}

// ProgramCost is one program of a tracer over one run of a workload: the
// runs on the whole machine between the go-ahead and the workload's exit.
type ProgramCost struct {
	Workload string `json:"workload"`
	Tracer   string `json:"tracer"`
	// Program is the program's name, or processCPU for the utime + stime
	// of the tracer's own process over the same time (Runs 0).
	Program         string `json:"program"`
	ID              uint32 `json:"id,omitempty"`
	Runs            uint64 `json:"runs"`
	NS              uint64 `json:"ns"`
	RecursionMisses uint64 `json:"recursion_misses,omitempty"`
}

// processCPU names the tracer's own process in ProgramCost.
const processCPU = "process CPU (utime+stime)"

// bpfStats runs each of bpfStatsRuns once under each of bpfStatsTracers with
// the kernel's BPF statistics on, and reads each program's run count and run
// time before the go-ahead and after the workload's exit. The statistics cost
// a clock read or two per program run, so they are on for these runs only,
// never during the matrix's.
func (x *extras) bpfStats() {
	s := &BPFStats{Rounds: map[string]int{}, RoundName: map[string]string{}}
	x.rep.BPFStats = s
	fail := func(format string, a ...any) {
		e := fmt.Sprintf(format, a...)
		s.Errors = append(s.Errors, e)
		fmt.Fprintf(os.Stderr, "bench: bpf-stats: %s\n", e)
	}
	// BPF_ENABLE_STATS rather than writing the sysctl: the kernel counts
	// the holders of the returned fd, so the statistics go back to how they
	// were when it is closed, or when the bench dies.
	before := bpfStatsSysctl()
	stats, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME))
	if err != nil {
		fail("enable BPF statistics: %v", err)
		return
	}
	defer func() {
		stats.Close()
		if after := bpfStatsSysctl(); after != before {
			x.rep.warn("kernel.bpf_stats_enabled was %s before bpf-stats and is %s after", before, after)
		}
	}()
	tracers := x.pick(bpfStatsTracers)
	for _, run := range bpfStatsRuns {
		i := slices.IndexFunc(workloads, func(w workload) bool { return w.mode == run.mode })
		wl, n := workloads[i], scaled(run.n, x.scale)
		s.Rounds[run.mode], s.RoundName[run.mode] = n, run.round
		for _, t := range tracers {
			if t.name == "none" || t.skip != "" || !t.runsOn(run.mode) {
				continue
			}
			var costs []ProgramCost
			var watchErr error
			watch := func() func() {
				w, err := watchTracer()
				if err != nil {
					watchErr = err
					return func() {}
				}
				return func() { costs, watchErr = w.costs(run.mode, t.name) }
			}
			_, _, err := runCell(x.ctx, x.bins.workload, wl, t, n, watch)
			if x.ctx.Err() != nil {
				return
			}
			if err = errors.Join(err, watchErr); err != nil {
				fail("%s under %s: %v", run.mode, t.name, err)
				continue
			}
			s.Programs = append(s.Programs, costs...)
			fmt.Fprintf(os.Stderr, "bench: bpf-stats: %s under %s: %d programs\n", run.mode, t.name, len(costs)-1)
		}
	}
}

// bpfStatsSysctl is kernel.bpf_stats_enabled as it reads now.
func bpfStatsSysctl() string {
	b, err := os.ReadFile("/proc/sys/kernel/bpf_stats_enabled")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

// tracerWatch holds the programs of a running tracer and the CPU time of
// its process when the watch began.
type tracerWatch struct {
	progs []watchedProg
	procs map[int]uint64 // the tracer's processes: pid → CPU ticks then
}

type watchedProg struct {
	id    ebpf.ProgramID
	name  string
	prog  *ebpf.Program
	stats *ebpf.ProgramStats
}

// watchTracer finds the running tracer's BPF programs: those whose fds the
// bench (the floor) or one of its children (tlmon, bpftrace; the workload
// holds none) has open. Finding them by holder rather than by load time
// leaves out programs anything else on the machine loads meanwhile.
func watchTracer() (*tracerWatch, error) {
	w := &tracerWatch{procs: map[int]uint64{}}
	self := os.Getpid()
	for _, pid := range append([]int{self}, childrenOf(self)...) {
		ids, err := heldPrograms(pid)
		if err != nil || len(ids) == 0 {
			continue // gone, or no programs: not the tracer
		}
		if pid != self {
			if w.procs[pid], err = cpuTicks(pid); err != nil {
				continue
			}
		}
		for _, id := range ids {
			if slices.ContainsFunc(w.progs, func(p watchedProg) bool { return p.id == id }) {
				continue
			}
			p, err := ebpf.NewProgramFromID(id)
			if err != nil {
				w.close()
				return nil, fmt.Errorf("program %d: %w", id, err)
			}
			wp := watchedProg{id: id, name: fmt.Sprint("prog ", id), prog: p}
			if info, err := p.Info(); err == nil && info.Name != "" {
				wp.name = info.Name
			}
			if wp.stats, err = p.Stats(); err != nil {
				p.Close()
				w.close()
				return nil, fmt.Errorf("program %d: %w", id, err)
			}
			w.progs = append(w.progs, wp)
		}
	}
	if len(w.progs) == 0 {
		return nil, errors.New("no BPF programs held by the bench or its children")
	}
	return w, nil
}

// costs reads the programs' statistics again and returns what each cost
// since the watch began, the most costly first, then the tracer's process;
// it closes the programs.
func (w *tracerWatch) costs(mode, tracer string) ([]ProgramCost, error) {
	defer w.close()
	var out []ProgramCost
	for _, p := range w.progs {
		st, err := p.prog.Stats()
		if err != nil {
			return nil, fmt.Errorf("program %d (%s): %w", p.id, p.name, err)
		}
		out = append(out, ProgramCost{Workload: mode, Tracer: tracer, Program: p.name, ID: uint32(p.id),
			Runs: st.RunCount - p.stats.RunCount, NS: uint64(st.Runtime - p.stats.Runtime),
			RecursionMisses: st.RecursionMisses - p.stats.RecursionMisses})
	}
	slices.SortStableFunc(out, func(a, b ProgramCost) int { return cmp.Compare(b.NS, a.NS) })
	var ticks uint64
	for pid, t0 := range w.procs {
		t1, err := cpuTicks(pid)
		if err != nil {
			return nil, fmt.Errorf("the tracer's process %d: %w", pid, err)
		}
		ticks += t1 - t0
	}
	if len(w.procs) > 0 {
		out = append(out, ProgramCost{Workload: mode, Tracer: tracer, Program: processCPU, NS: ticks * (1e9 / clockTicks)})
	}
	return out, nil
}

func (w *tracerWatch) close() {
	for _, p := range w.progs {
		p.prog.Close()
	}
}

// childrenOf lists the processes whose parent is pid.
func childrenOf(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// After the command name, in parentheses: state, then ppid.
		f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, child)
		}
	}
	return out
}

// heldPrograms lists the BPF programs process pid has fds of, from the
// prog_id line of their fdinfo.
func heldPrograms(pid int) ([]ebpf.ProgramID, error) {
	dir := fmt.Sprintf("/proc/%d", pid)
	fds, err := os.ReadDir(filepath.Join(dir, "fd"))
	if err != nil {
		return nil, err
	}
	var ids []ebpf.ProgramID
	for _, fd := range fds {
		if target, _ := os.Readlink(filepath.Join(dir, "fd", fd.Name())); target != "anon_inode:bpf-prog" {
			continue
		}
		info, err := os.ReadFile(filepath.Join(dir, "fdinfo", fd.Name()))
		if err != nil {
			continue // closed meanwhile
		}
		for line := range strings.Lines(string(info)) {
			if v, ok := strings.CutPrefix(line, "prog_id:"); ok {
				if id, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32); err == nil && !slices.Contains(ids, ebpf.ProgramID(id)) {
					ids = append(ids, ebpf.ProgramID(id))
				}
			}
		}
	}
	return ids, nil
}

var bpfStatsHeader = row{"workload", "tracer", "program", "runs", "runs per round", "ns per run", "time per round"}

// rows are the table: each program, the sum of the tracer's programs, and its
// process's CPU time, per workload and tracer, in the order they ran.
func (s *BPFStats) rows() []row {
	var out []row
	for i := 0; i < len(s.Programs); {
		j := i
		for j < len(s.Programs) && s.Programs[j].Workload == s.Programs[i].Workload && s.Programs[j].Tracer == s.Programs[i].Tracer {
			j++
		}
		group := s.Programs[i:j]
		mode := group[0].Workload
		rounds := float64(s.Rounds[mode])
		perRound := func(v float64) string { return ns(v / rounds) }
		var total ProgramCost
		for _, p := range group {
			if p.Program == processCPU {
				out = append(out, row{mode, p.Tracer, p.Program, "—", "—", "—", perRound(float64(p.NS))})
				continue
			}
			total.Runs, total.NS = total.Runs+p.Runs, total.NS+p.NS
			perRun := "—"
			if p.Runs > 0 {
				perRun = fmt.Sprintf("%.0f", float64(p.NS)/float64(p.Runs))
			}
			name := p.Program
			if p.RecursionMisses > 0 {
				name += fmt.Sprintf(" (%d recursion misses)", p.RecursionMisses)
			}
			out = append(out, row{mode, p.Tracer, name, fmt.Sprint(p.Runs), fmt.Sprintf("%.1f", float64(p.Runs)/rounds), perRun, perRound(float64(p.NS))})
		}
		// The sum goes before the process's line, which is the group's last.
		sum := row{mode, group[0].Tracer, "all programs", fmt.Sprint(total.Runs), fmt.Sprintf("%.1f", float64(total.Runs)/rounds), "—", perRound(float64(total.NS))}
		if total.Runs > 0 {
			sum[5] = fmt.Sprintf("%.0f", float64(total.NS)/float64(total.Runs))
		}
		at := len(out)
		if group[len(group)-1].Program == processCPU {
			at--
		}
		out = slices.Insert(out, at, sum)
		i = j
	}
	return out
}

func (s *BPFStats) title() string {
	var runs []string
	for _, r := range bpfStatsRuns {
		if n, ok := s.Rounds[r.mode]; ok {
			runs = append(runs, fmt.Sprintf("%s N = %s (a round: one %s)", r.mode, count(n), s.RoundName[r.mode]))
		}
	}
	return "Each BPF program's run time (the kernel's BPF statistics), one run of " + strings.Join(runs, " and of ")
}
