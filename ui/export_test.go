package ui

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWWritesTheListShownToCSVAndShiftWToJSON: w writes the rows the view
// shows (filtered, every column, cells whole) to a CSV file of the current
// directory, W to JSON, and the status line says where.
func TestWWritesTheListShownToCSVAndShiftWToJSON(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	h := newHarness(t, newFake(), 80, 24) // narrow: the file has every column all the same
	h.press(`\`, "comm:nginx", "enter", "w")
	csvs, _ := filepath.Glob(filepath.Join(dir, "tlmon-processes-*.csv"))
	if len(csvs) != 1 {
		t.Fatalf("w wrote %v", csvs)
	}
	if v := h.view(); !strings.Contains(v, "2 rows written to tlmon-processes-") {
		t.Errorf("the status line does not say where the list went:\n%s", v)
	}
	f, _ := os.Open(csvs[0])
	recs, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(recs) != 3 || recs[0][0] != "PID" || recs[1][1] != "nginx" || recs[2][1] != "nginx" {
		t.Fatalf("the CSV: %v %q", err, recs)
	}
	if len(recs[0]) < 10 || !strings.Contains(strings.Join(recs[0], ","), "WRITE") {
		t.Errorf("the CSV leaves columns out: %q", recs[0])
	}
	h.press("W")
	jsons, _ := filepath.Glob(filepath.Join(dir, "tlmon-processes-*.json"))
	if len(jsons) != 1 {
		t.Fatalf("W wrote %v", jsons)
	}
	b, _ := os.ReadFile(jsons[0])
	var rows []map[string]string
	if err := json.Unmarshal(b, &rows); err != nil || len(rows) != 2 || rows[0]["COMM"] != "nginx" || rows[0]["PID"] == "" {
		t.Errorf("the JSON: %v %s", err, b)
	}
}
