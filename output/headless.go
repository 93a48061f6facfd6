package output

import (
	"context"
	"fmt"
	"io"
	"time"

	"tlmon/model"
)

// Outputs of the headless mode.
const (
	FormatTable = "table"
	FormatJSON  = "json"
	FormatCSV   = "csv"
)

// Headless prints reports without a terminal UI.
type Headless struct {
	Out    io.Writer
	Output string // FormatTable, FormatJSON or FormatCSV
	Meta   Meta
	// TopProcs limits the process table (0: all).
	TopProcs int
}

// Write prints one report of s.
func (h Headless) Write(s *model.Snapshot) error {
	switch h.Output {
	case FormatJSON:
		return WriteJSON(h.Out, h.Meta, s)
	case FormatCSV:
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
			if h.Output == FormatTable {
				fmt.Fprintln(h.Out)
			}
		}
	}
}
