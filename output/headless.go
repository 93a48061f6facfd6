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
	// FormatPerfetto is a recording as a Trace Event Format file (with
	// --replay only).
	FormatPerfetto = "perfetto"
)

// Headless prints reports without a terminal UI.
type Headless struct {
	Out    io.Writer
	Output string // FormatTable, FormatJSON or FormatCSV
	Meta   Meta
	// TopProcs limits the processes of every format to the busiest (0: all).
	TopProcs int
	// SinceStart makes Follow's reports carry the counts since the start
	// instead of each interval's own.
	SinceStart bool
}

// Write prints one report of s: its counts since the start (the final
// summary).
func (h Headless) Write(s *model.Snapshot) error { return h.write(s, false) }

// write prints one report of s; interval says its counts are one interval's
// own (see Interval), which the JSON says.
func (h Headless) write(s *model.Snapshot, interval bool) error {
	if h.Output == FormatTable {
		return WriteTable(h.Out, h.Meta, s, h.TopProcs)
	}
	top := *s
	var left int
	top.Processes, left = busiest(s.Processes, h.TopProcs)
	if h.Output == FormatCSV {
		return WriteCSV(h.Out, &top)
	}
	r := report(h.Meta, &top)
	r.SinceStart, r.ProcessesLeftOut = !interval, left
	if interval {
		r.IntervalS = s.Elapsed.Seconds()
	}
	return writeJSON(h.Out, r)
}

// Follow prints a report of each interval's own counts (JSON lines with -o
// json), or of the counts since the start with SinceStart, until ctx ends: a
// report as soon as a snapshot published (snapshot(), and a receive on
// published) comes at least nine tenths of interval after the last one
// reported, or after the start. The first comes once a full interval has
// passed.
func (h Headless) Follow(ctx context.Context, interval time.Duration, snapshot func() *model.Snapshot, published <-chan struct{}) error {
	var prev *model.Snapshot
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-published:
			s := snapshot()
			if prev != nil && s.Elapsed < prev.Elapsed { // counters cleared: start again
				prev = nil
			}
			since := s.Elapsed
			if prev != nil {
				since -= prev.Elapsed
			}
			if s.Interval == 0 || since < interval*9/10 { // nothing read yet, or not a full interval
				continue
			}
			var err error
			if h.SinceStart {
				err = h.write(s, false)
			} else {
				err = h.write(Interval(prev, s), true)
			}
			if err != nil {
				return err
			}
			prev = s
			if h.Output == FormatTable {
				fmt.Fprintln(h.Out)
			}
		}
	}
}
