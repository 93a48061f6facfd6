package ui

import (
	"strings"
	"testing"
	"time"
	"tlmon/model"
)

func TestStatusCountsNoRowsWhereTheTableSaysWhy(t *testing.T) {
	b := newFake()
	b.detail, b.snap.Files = 0, nil
	h := newHarness(t, b, 120, 40)
	h.press("4")
	v := h.view()
	if strings.Contains(v, "0 rows") || !strings.Contains(v, "file detail is off") {
		t.Errorf("an empty table's status says 0 rows under its one line:\n%s", v)
	}
	for n, want := range map[int]string{0: "", 1: "1 row", 2: "2 rows"} {
		if got := rowCount(n, "row"); got != want {
			t.Errorf("rowCount(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestInFlightMarksBounds(t *testing.T) {
	for f, want := range map[InFlight]string{
		{Since: 2 * time.Second}:                     "2s",
		{Since: 2 * time.Second, AtLeast: true}:      "≥2s",
		{Since: 12 * time.Millisecond, AtMost: true}: "≤12ms",
	} {
		if got := inFlightFor(f); got != want {
			t.Errorf("inFlightFor(%+v) = %q, want %q", f, got, want)
		}
	}
}

// TestDetailListsSayWhenTheyStopBeingUpdated: Files keeps its rows once file
// detail is switched off, and the status line says they are no longer
// updated and how to switch it on again.
func TestDetailListsSayWhenTheyStopBeingUpdated(t *testing.T) {
	b := newFake()
	h := newHarness(t, b, 120, 40)
	h.press("4")
	if v := h.view(); strings.Contains(v, "not updated") {
		t.Fatalf("Files says it is not updated while file detail is on:\n%s", v)
	}
	b.detail &^= model.ClassFile
	h.send(tickMsg(time.Now()))
	if v := h.view(); !strings.Contains(v, "not updated: file detail is off (v, then F)") {
		t.Errorf("Files does not say its rows are stale:\n%s", v)
	}
}
