// Package floor loads and attaches the benchmark's floor: two empty BPF
// programs on the raw sys_enter and sys_exit tracepoints, the least any
// raw-tracepoint syscall tracer can cost. The benchmark runs a workload with
// the floor attached and compares every tracer's added cost with it.
package floor

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"
)

// Floor is the loaded and attached pair of programs.
type Floor struct {
	objs  floorObjects
	links []link.Link
}

// Attach loads the programs and attaches them to sys_enter and sys_exit. From
// its return until Close every syscall on the machine runs both. It needs root
// (CAP_BPF and CAP_PERFMON).
func Attach() (*Floor, error) {
	// Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK; later ones
	// ignore it, and then this is a no-op.
	if err := rlimit.RemoveMemlock(); err != nil {
		return nil, fmt.Errorf("remove memlock limit: %w", err)
	}
	f := &Floor{}
	if err := loadFloorObjects(&f.objs, nil); err != nil {
		return nil, fmt.Errorf("load floor programs: %w", err)
	}
	for _, a := range []struct {
		tp   string
		prog *ebpf.Program
	}{{"sys_enter", f.objs.FloorEnter}, {"sys_exit", f.objs.FloorExit}} {
		l, err := link.AttachRawTracepoint(link.RawTracepointOptions{Name: a.tp, Program: a.prog})
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("attach %s: %w", a.tp, err)
		}
		f.links = append(f.links, l)
	}
	return f, nil
}

// Close detaches and unloads the programs.
func (f *Floor) Close() error {
	var errs []error
	for _, l := range f.links {
		errs = append(errs, l.Close())
	}
	f.links = nil
	errs = append(errs, f.objs.Close())
	return errors.Join(errs...)
}

// Others lists the raw-tracepoint links on sys_enter or sys_exit that are
// attached now, by program id, for example another tlmon left running. Each of
// them slows every syscall, so a benchmark taken meanwhile measures them too.
// Tracers attached through perf events (bpftrace, perf) are not links of this
// kind and are not seen.
func Others() ([]string, error) {
	var found []string
	it := new(link.Iterator)
	defer it.Close()
	for it.Next() {
		info, err := it.Link.Info()
		if err != nil {
			continue // gone meanwhile, or an old kernel without the info
		}
		if rt := info.RawTracepoint(); rt != nil && (rt.Name == "sys_enter" || rt.Name == "sys_exit") {
			found = append(found, fmt.Sprintf("%s (link %d, prog %d)", rt.Name, info.ID, info.Program))
		}
	}
	return found, it.Err()
}
