package main

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// HistoryMemory is the bytes package history keeps for 10 minutes (600
// frames at 1 s) of 2,000 processes, a share of them active each interval:
// its BenchmarkTenMinutes, run from the test binary built with the rest.
type HistoryMemory struct {
	ActivePercent int     `json:"active_percent"`
	MB            float64 `json:"mb"`
	BytesPerFrame float64 `json:"bytes_per_frame"`
	Error         string  `json:"error,omitempty"`
}

// historyShares are the shares of active processes BenchmarkTenMinutes
// reports, in percent.
var historyShares = []int{30, 100}

func (x *extras) history() {
	var out []byte
	err := x.bins.historyErr
	if x.bins.historyTest != "" {
		cmd := exec.CommandContext(x.ctx, x.bins.historyTest, "-test.run", "^$",
			"-test.bench", "^BenchmarkTenMinutes$", "-test.benchtime", "1x")
		cmd.Dir = filepath.Join(x.bins.root, "history")
		out, err = cmd.CombinedOutput()
		if err != nil {
			err = fmt.Errorf("%v: %s", err, tail(out))
		}
	}
	metrics := benchMetrics(string(out), "BenchmarkTenMinutes")
	for _, share := range historyShares {
		h := HistoryMemory{ActivePercent: share}
		mb, ok := metrics[fmt.Sprintf("MB-%d%%-active", share)]
		switch {
		case ok:
			h.MB, h.BytesPerFrame = mb, metrics[fmt.Sprintf("B/frame-%d%%-active", share)]
		case err != nil:
			h.Error = err.Error()
		default:
			h.Error = "no such metric in BenchmarkTenMinutes of ./history"
		}
		x.rep.History = append(x.rep.History, h)
	}
}

// benchMetrics reads the metrics of one benchmark's result line: value, then
// unit, by unit.
func benchMetrics(out, name string) map[string]float64 {
	m := map[string]float64{}
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		if len(f) < 2 || (f[0] != name && !strings.HasPrefix(f[0], name+"-")) {
			continue
		}
		for i := 2; i+1 < len(f); i += 2 {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil {
				m[f[i+1]] = v
			}
		}
	}
	return m
}

var historyHeader = row{"processes active each interval", "MB for 10 min of 2,000 processes", "bytes/frame"}

func (h HistoryMemory) row() row {
	what := fmt.Sprintf("%d%%", h.ActivePercent)
	if h.Error != "" {
		return row{what, "failed: " + oneLine(h.Error)}
	}
	return row{what, fmt.Sprintf("%.1f MB", h.MB), fmt.Sprintf("%.0f", h.BytesPerFrame)}
}
