package session

import (
	"testing"

	"tlmon/collector"
)

// TestTheRootCgroupIsNamedSlash: --cgroup / watches everything in the cgroup
// v2 tree and says so, not "cgroup " with an empty name.
func TestTheRootCgroupIsNamedSlash(t *testing.T) {
	cg, err := collector.FindCgroups()
	if err != nil {
		t.Skip(err)
	}
	for _, arg := range []string{"/", cg.Mount} {
		s, err := ResolveScope(ScopeRequest{Cgroup: arg}, cg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if s.Desc != "cgroup /" {
			t.Errorf("--cgroup %s: scope %q, want %q", arg, s.Desc, "cgroup /")
		}
	}
}
