package main

import (
	"bufio"
	"bytes"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// mayImport is docs/architecture.md's table: each package of the product and
// the packages of tlmon it may import. Data flows one way, kernel → bpf →
// collector → aggregator → (session) → ui or output; nothing imports back up
// the flow, and the product never imports the developer tools under dev/.
var mayImport = map[string][]string{
	"tlmon":                       {"session", "replay", "diff", "config", "ui", "output", "metrics", "seccomp", "themes", "syscalls", "model"},
	"tlmon/config":                {"internal/sudo"},
	"tlmon/internal/sudo":         {},
	"tlmon/internal/outfile":      {},
	"tlmon/seccomp":               {"internal/outfile", "syscalls", "model"},
	"tlmon/metrics":               {"model"},
	"tlmon/replay":                {"history", "recording", "diff", "model"},
	"tlmon/session":               {"bpf", "collector", "aggregator", "history", "recording", "syscalls", "model"},
	"tlmon/ui":                    {"internal/sudo", "output", "diff", "themes", "syscalls", "model"},
	"tlmon/output":                {"diff", "syscalls", "model"},
	"tlmon/diff":                  {"model"},
	"tlmon/history":               {"model"},
	"tlmon/aggregator":            {"syscalls", "model"},
	"tlmon/collector":             {"bpf", "syscalls", "model"},
	"tlmon/bpf":                   {"internal/tracefs", "syscalls", "model"},
	"tlmon/syscalls":              {"model"},
	"tlmon/recording":             {"internal/outfile"},
	"tlmon/syscalls/gen/syscalls": {},
	"tlmon/model":                 {},
	"tlmon/themes":                {},
	"tlmon/internal/tracefs":      {},
	"tlmon/internal/bpftest":      {},
	"tlmon/internal/probetest":    {"bpf", "internal/bpftest"},
}

// stdlibOnly are the packages that import no third party either: history's
// frames are the recording format, read by any future tlmon with no other
// library in the way.
var stdlibOnly = map[string]bool{"tlmon/history": true}

// TestPackagesImportOnlyWhatTheArchitectureAllows fails when a package imports
// one of tlmon's it must not, or when a package of the product is not in the
// table (a new package takes its place in docs/architecture.md first).
func TestPackagesImportOnlyWhatTheArchitectureAllows(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	seen := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		pkg, imports := fields[0], fields[1:]
		if strings.HasPrefix(pkg, "tlmon/dev/") {
			continue // the developer tools may use anything of the product
		}
		allowed, ok := mayImport[pkg]
		if !ok {
			t.Errorf("%s is not in the architecture's table (imports_test.go, docs/architecture.md)", pkg)
			continue
		}
		seen++
		for _, imp := range imports {
			own, ok := strings.CutPrefix(imp, "tlmon/")
			if !ok {
				// The standard library's paths have no dot in their first element.
				if first, _, _ := strings.Cut(imp, "/"); stdlibOnly[pkg] && strings.Contains(first, ".") {
					t.Errorf("%s imports %s: only the standard library and the table's (docs/architecture.md)", pkg, imp)
				}
				continue // the standard library or a third party
			}
			if !slices.Contains(allowed, own) {
				t.Errorf("%s imports %s: not allowed (docs/architecture.md)", pkg, imp)
			}
		}
	}
	if seen != len(mayImport) {
		t.Errorf("go list showed %d of the %d packages of the table", seen, len(mayImport))
	}
}
