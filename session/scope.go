package session

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"

	"tlmon/bpf"
	"tlmon/collector"
	"tlmon/model"
)

// ScopeRequest is what the user asked to watch: at most one of PIDs, Cgroup and
// Command; none means everything.
type ScopeRequest struct {
	PIDs    []uint32
	Cgroup  string
	Command []string
	// Follow adds the children the PIDs fork from now on.
	Follow bool
}

// Scope is a checked ScopeRequest, ready to apply to the kernel.
type Scope struct {
	req       ScopeRequest
	cgroupDir string
	cgErr     error // why there is no cgroup v2 hierarchy, if there is none
	// Command is the program to start once the scope is applied (nil if none).
	Command *Command
	// Desc says what is watched, for headers and reports.
	Desc string
}

// ResolveScope checks what the user named before anything is loaded, so a
// mistake ends with one line and nothing attached. cg may be nil when no cgroup
// v2 hierarchy is mounted (cgErr says why).
func ResolveScope(req ScopeRequest, cg *collector.Cgroups, cgErr error) (*Scope, error) {
	s := &Scope{req: req, Desc: "all", cgErr: cgErr}
	switch {
	case len(req.PIDs) > 0:
		ids := make([]string, len(req.PIDs))
		for i, pid := range req.PIDs {
			if _, err := collector.StartTicks(pid); err != nil {
				return nil, fmt.Errorf("--pid %d: no such process", pid)
			}
			ids[i] = strconv.Itoa(int(pid))
		}
		s.Desc = "pids " + strings.Join(ids, ",")
	case req.Cgroup != "":
		if cg == nil {
			return nil, fmt.Errorf("--cgroup: %w", cgErr)
		}
		dir, err := cg.Resolve(req.Cgroup)
		if err != nil {
			return nil, err
		}
		s.cgroupDir, s.Desc = dir, "cgroup "+cmp.Or(strings.TrimPrefix(dir, cg.Mount), "/") // the root is "/", not ""
	case len(req.Command) > 0:
		// Without cgroup v2, only a probe that watches its own children
		// can watch the command (Apply says).
		cmd, err := PrepareCommand(cg, req.Command)
		if err != nil {
			return nil, err
		}
		s.Command, s.cgroupDir, s.Desc = cmd, cmd.CgroupDir, "command "+strings.Join(req.Command, " ")
	}
	return s, nil
}

// Apply sets the kernel's scope.
func (s *Scope) Apply(p *bpf.Probe) error {
	switch {
	case len(s.req.PIDs) > 0:
		return p.ScopePIDs(s.req.PIDs, s.req.Follow)
	case s.Command != nil && !p.HasCgroupScope():
		s.Command.dropCgroup()
		s.cgroupDir = ""
		return p.ScopeOwnChildren() // the command, once started, and its children
	case s.Command != nil && s.cgroupDir == "":
		return fmt.Errorf("cannot watch a command: %w", s.cgErr)
	case s.Command != nil:
		return p.ScopeCommand(s.cgroupDir)
	case s.cgroupDir != "":
		return p.ScopeCgroup(s.cgroupDir)
	default:
		return p.ScopeAll()
	}
}

// Target is the scope as an attach target, for the monitor's backend.
func (s *Scope) Target(cg *collector.Cgroups) model.Target {
	switch {
	case len(s.req.PIDs) > 0:
		return model.Target{Kind: model.TargetPID, PID: s.req.PIDs[0]}
	case s.cgroupDir != "" && cg != nil:
		return model.Target{Kind: model.TargetCgroup, Cgroup: strings.TrimPrefix(s.cgroupDir, cg.Mount)}
	}
	return model.Target{Kind: model.TargetAll}
}

// procRoot is where the processes' files are read.
const procRoot = "/proc"
