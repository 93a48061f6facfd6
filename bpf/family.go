package bpf

import (
	"fmt"
	"time"

	"github.com/cilium/ebpf"

	"tlmon/model"
)

// A family is one of the two BPF objects tlmon loads, with all that differs
// between them: modern (tlmon.bpf.c, rungs 1 and 2: raw tracepoints, BTF,
// global data) and legacy (legacy.bpf.c, rungs 3 and 4: syscall tracepoints
// or kprobes, for kernels without BTF). It says which maps and programs
// exist, hooks and unhooks the programs, and writes the settings the
// programs read, each object where it keeps them (global variables, or one
// settings map). Probe does the rest the same way on every rung, through the
// maps the two share (sharedMaps).
type family interface {
	// shared returns the maps Probe reads and writes alike on every rung.
	shared() sharedMaps
	// programs lists the programs loaded.
	programs() []*ebpf.Program

	// attach hooks the programs, those that see processes come and go
	// first, so no process counted is left without a name. A trial (a
	// rung's, while nothing is in scope) hooks just enough to prove the
	// rung works. On an error some may stay hooked: detach unhooks them.
	attach(trial bool) error
	// trialHooksAll says a trial hooks every program, as attach(false)
	// does: the hooks may then stay, and startHooked begins to count with
	// them (scope mode mode, from now on) where Attach would hook them again.
	trialHooksAll() bool
	startHooked(mode uint32) error
	// detach unhooks the programs; the maps stay readable.
	detach()
	// close frees the programs and maps, once detached.
	close() error

	// fold moves into the counter maps the counts the kernel holds
	// elsewhere, so that a read of them sees every count made before it.
	fold() error
	// sweepAll sends, once detached, the counts of every young thread still
	// alive (they would come with later reads otherwise).
	sweepAll() error
	// returnsMissed is how many returns of syscalls the hooks missed since
	// load (kretprobes out of room).
	returnsMissed() uint64

	// cgroupScope says whether the object can scope by cgroup, detail
	// whether it sends detail events (calls, slow calls, TCP connections).
	cgroupScope() bool
	detail() bool

	// setScopeMode switches the scope mode alone (scopeNone and back, while
	// a rung is tried).
	setScopeMode(mode uint32) error
	// startScope makes mode the scope from now on. It ends an adoption
	// (adoptChildren) or a launch awaited (awaitLaunch); the modern object
	// also ignores the exits of calls its tasks entered before.
	startScope(mode uint32) error
	// setFollowChildren says whether processes forked by those in the PID
	// scope join it; it may take effect only with the next startScope.
	setFollowChildren(follow bool) error
	// adoptChildren puts in the PID scope the processes tgid starts from
	// now on, and their children (where there is no cgroup scope).
	adoptChildren(tgid uint32) error
	// scopeCgroup points the cgroup scope at the cgroup v2 directory dir;
	// awaitLaunch, once the scope is the cgroup, waits for the exec of a
	// command started in it.
	scopeCgroup(dir string) error
	awaitLaunch() error
	// setSyscallFilter counts only the syscalls enabled (nil: all), as
	// disabled says per syscall number.
	setSyscallFilter(enabled []int, disabled *[MaxSyscalls]uint8) error
	setFailedOnly(on bool) error
	// setThreadTgid counts the threads of pid one by one (0: none).
	setThreadTgid(pid uint32) error
	// setDetail sends detail events of these syscalls and, with tcp, of TCP
	// connections; setSlow of calls slower than d (0: none).
	setDetail(nrs []int, tcp bool) error
	setSlow(d time.Duration) error
	// setTrace sends every call of process id in detail, whatever setDetail
	// said of its syscalls (the zero ProcID: none).
	setTrace(id model.ProcID) error

	// enterRecord reads the entry record of thread tid, if it has one.
	enterRecord(tid uint32) (tlmonEnterRec, bool)
	// injectEvent and injectCall run the programs on made-up arguments
	// (see Probe.InjectEvent and Probe.InjectCall).
	injectEvent() error
	injectCall(nr int, ret int64) error
}

// sharedMaps are the maps both families have, with the same layout (the
// legacy object's are read through the modern object's Go types): the
// counters, the PID scope, the enter hash and the buffers. A map an object
// lacks is nil.
type sharedMaps struct {
	SysStats     *ebpf.Map
	Unattributed *ebpf.Map
	ProcStats    *ebpf.Map
	ErrnoStats   *ebpf.Map
	ProcHists    *ebpf.Map
	ProcIo       *ebpf.Map // modern only
	ThreadStats  *ebpf.Map
	Counters     *ebpf.Map
	EnterHash    *ebpf.Map
	ScopePids    *ebpf.Map
	// Lifecycle carries process events (exec, fork, exit) and young
	// threads' counts; Detail the detail events (modern only).
	Lifecycle *ebpf.Map
	Detail    *ebpf.Map
}

// config is what a probe is loaded with; its family keeps a copy.
type config struct {
	rung       Rung // its Buffer carries the events
	enterStore string
	opts       Options
	ncpu       int
}

// notOnThisRung refuses, on rungs 3 and 4, what only the modern object does.
func (c *config) notOnThisRung(what string) error {
	return fmt.Errorf("%s: not on rung %d, only on rungs 1 and 2 (raw tracepoints with BTF)", what, c.rung.Number)
}
