package ui

import (
	"context"
	"fmt"
	"io"
	"time"

	"tlmon/model"
)

// Outputs of the headless mode.
const (
	OutputTable = "table"
	OutputJSON  = "json"
	OutputCSV   = "csv"
)

// Headless prints reports without a terminal UI.
type Headless struct {
	Out    io.Writer
	Output string // OutputTable, OutputJSON or OutputCSV
	Meta   Meta
	// TopProcs limits the process table (0: all).
	TopProcs int
}

// Write prints one report of s.
func (h Headless) Write(s *model.Snapshot) error {
	switch h.Output {
	case OutputJSON:
		return WriteJSON(h.Out, h.Meta, s)
	case OutputCSV:
		return WriteCSV(h.Out, s)
	default:
		return WriteTable(h.Out, h.Meta, s, h.TopProcs)
	}
}

// Follow prints a report each time snapshot() publishes a new one, until ctx
// ends: JSON lines per interval with -o json.
func (h Headless) Follow(ctx context.Context, interval time.Duration, snapshot func() *model.Snapshot) error {
	t := time.NewTicker(interval / 4)
	defer t.Stop()
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			s := snapshot()
			if s.Interval == 0 || !s.At.After(last) { // nothing read yet, or no news
				continue
			}
			last = s.At
			if err := h.Write(s); err != nil {
				return err
			}
			if h.Output == OutputTable {
				fmt.Fprintln(h.Out)
			}
		}
	}
}
