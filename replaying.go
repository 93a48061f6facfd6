package main

import (
	"context"
	"fmt"
	"os"

	"tlmon/diff"
	"tlmon/output"
	"tlmon/replay"
	"tlmon/ui"
)

// runReplay shows a recording: the monitor, its summary as the live run
// printed it, a trace Perfetto opens, or a diff with another.
func runReplay(ctx context.Context, o *options) error {
	p, err := replay.Open(o.replay)
	if err != nil {
		return err
	}
	if t := p.Truncated(); t != nil {
		fmt.Fprintln(os.Stderr, "tlmon:", t)
	}
	if o.seccompProfile != "" && p.Header().Scope == "all" {
		fmt.Fprintln(os.Stderr, "tlmon: the recording watched the whole machine: the --seccomp-profile allows what any process called")
	}
	if err := writeSeccomp(o, p.Final(), p.Header().Arch); err != nil {
		return err
	}
	switch {
	case o.diffWith != "":
		return writeDiff(o, p)
	case o.output == output.FormatPerfetto:
		return output.WritePerfetto(os.Stdout, output.Trace{Meta: p.SummaryMeta(), Start: p.Start(), Frames: p.Snapshots, Final: p.Final(),
			Calls: p.Calls, Lifecycle: p.Lifecycle})
	case o.headless:
		out := output.Headless{Out: os.Stdout, Output: o.output, TopProcs: o.top, Meta: p.SummaryMeta()}
		return out.Write(p.Final())
	}
	if err := needTerminal(o); err != nil {
		return err
	}
	p.SetSpeed(o.speed)
	return ui.Run(ctx, p, o.uiOptions(p.Header().Interval, 0))
}

// writeDiff prints the diff of the replayed recording's window with the
// --diff recording's (the same file for two windows of one).
func writeDiff(o *options, a *replay.Player) error {
	b := a
	if o.diffWith != o.replay {
		var err error
		if b, err = replay.Open(o.diffWith); err != nil {
			return err
		}
		if t := b.Truncated(); t != nil {
			fmt.Fprintln(os.Stderr, "tlmon:", t)
		}
	}
	nth := func(list []string, i int) string {
		if i < len(list) {
			return list[i]
		}
		return ""
	}
	wa, err := a.Window(nth(o.from, 0), nth(o.to, 0))
	if err != nil {
		return usageError{fmt.Errorf("%s: %w", a.Name(), err)}
	}
	wb, err := b.Window(nth(o.from, 1), nth(o.to, 1))
	if err != nil {
		return usageError{fmt.Errorf("%s: %w", b.Name(), err)}
	}
	sa, sb := output.DiffSide{Name: a.Name(), Window: wa}, output.DiffSide{Name: b.Name(), Window: wb}
	res := diff.Compare(wa, wb)
	if o.output == output.FormatJSON {
		return output.WriteDiffJSON(os.Stdout, sa, sb, res)
	}
	return output.WriteDiffTable(os.Stdout, sa, sb, res)
}
