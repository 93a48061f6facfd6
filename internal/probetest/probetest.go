// Package probetest loads tlmon's BPF programs for the tests of the packages
// above bpf (bpf's own tests cannot import it).
package probetest

import (
	"math"
	"os"
	"testing"

	"tlmon/bpf"
	"tlmon/internal/bpftest"
)

// Load loads and attaches with only this test process and its children in
// scope: tests of other packages run in parallel.
func Load(t testing.TB, opts bpf.Options) *bpf.Probe {
	t.Helper()
	bpftest.Require(t)
	opts.SelfPID = math.MaxUint32 // the test process itself is watched
	p, err := bpf.Load(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	if err := p.ScopePIDs([]uint32{uint32(os.Getpid())}, true); err != nil {
		t.Fatal(err)
	}
	if err := p.Attach(); err != nil {
		t.Fatal(err)
	}
	return p
}
