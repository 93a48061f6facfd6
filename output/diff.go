package output

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"tlmon/diff"
	"tlmon/model"
)

// DiffSide names one side of a diff: where its window comes from (a
// recording's file) and the window itself.
type DiffSide struct {
	Name string
	diff.Window
}

// WriteDiffTable writes the comparison of a and b as text: each side's
// window, then the commands and the syscalls by the size of their change.
func WriteDiffTable(w io.Writer, a, b DiffSide, res diff.Result) error {
	fmt.Fprintf(w, "A: %s\nB: %s\n", sideLabel(a), sideLabel(b))
	for _, list := range []struct {
		title string
		rows  []diff.Row
	}{{"COMMAND", res.Commands}, {"SYSCALL", res.Syscalls}} {
		const line = "%-20s %10s %10s %10s %9s %9s %9s %9s %9s %9s  %s\n"
		fmt.Fprintln(w)
		fmt.Fprintf(w, line, list.title, "A CALLS/s", "B CALLS/s", "ΔCALLS/s", "A ERR/s", "B ERR/s", "ΔERR/s", "A P99", "B P99", "ΔP99", "CHANGE")
		for _, r := range list.rows {
			_, err := fmt.Fprintf(w, line, model.Escape(r.Name),
				rateText(r.A.CallRate), rateText(r.B.CallRate), signed(r.DeltaCallRate(), rateText),
				rateText(r.A.ErrorRate), rateText(r.B.ErrorRate), signed(r.DeltaErrorRate(), rateText),
				p99Text(r.A), p99Text(r.B), deltaP99Text(r), r.Change)
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// sideLabel says where a side's window comes from and when it was.
func sideLabel(s DiffSide) string {
	from := "start"
	if s.From != nil {
		from = s.From.At.Format("15:04:05.000")
	}
	return fmt.Sprintf("%s, %s to %s (%s)", s.Name, from, s.To.At.Format("15:04:05.000"), s.Span().Round(time.Millisecond))
}

func rateText(r float64) string { return strconv.FormatFloat(r, 'f', 1, 64) }

func signed(v float64, text func(float64) string) string {
	if v > 0 {
		return "+" + text(v)
	}
	if v < 0 {
		return "-" + text(-v)
	}
	return text(0)
}

func p99Text(s diff.Stats) string {
	if !s.HasP99 {
		return "-"
	}
	return Duration(s.P99Ns)
}

func deltaP99Text(r diff.Row) string {
	if !r.A.HasP99 || !r.B.HasP99 {
		return "-"
	}
	return signed(r.DeltaP99(), func(ns float64) string { return Duration(uint64(ns)) })
}

// WriteDiffJSON writes the comparison of a and b as one JSON object: {a, b
// (name, from, to, span_s), commands, syscalls}, each row {name, a, b
// (calls, errors, call_rate, error_rate, p99_ns or null), delta (call_rate,
// error_rate, p99_ns or null), change ("new", "vanished" or "")}.
func WriteDiffJSON(w io.Writer, a, b DiffSide, res diff.Result) error {
	type stats struct {
		Calls     uint64  `json:"calls"`
		Errors    uint64  `json:"errors"`
		CallRate  float64 `json:"call_rate"`
		ErrorRate float64 `json:"error_rate"`
		P99Ns     *uint64 `json:"p99_ns"`
	}
	type delta struct {
		CallRate  float64  `json:"call_rate"`
		ErrorRate float64  `json:"error_rate"`
		P99Ns     *float64 `json:"p99_ns"`
	}
	type row struct {
		Name   string `json:"name"`
		A      stats  `json:"a"`
		B      stats  `json:"b"`
		Delta  delta  `json:"delta"`
		Change string `json:"change"`
	}
	type side struct {
		Name  string     `json:"name"`
		From  *time.Time `json:"from"`
		To    time.Time  `json:"to"`
		SpanS float64    `json:"span_s"`
	}
	toStats := func(s diff.Stats) stats {
		out := stats{Calls: s.Calls, Errors: s.Errors, CallRate: s.CallRate, ErrorRate: s.ErrorRate}
		if s.HasP99 {
			out.P99Ns = &s.P99Ns
		}
		return out
	}
	rows := func(list []diff.Row) []row {
		out := make([]row, 0, len(list))
		for _, r := range list {
			d := delta{CallRate: r.DeltaCallRate(), ErrorRate: r.DeltaErrorRate()}
			if r.A.HasP99 && r.B.HasP99 {
				p := r.DeltaP99()
				d.P99Ns = &p
			}
			out = append(out, row{Name: model.Escape(r.Name), A: toStats(r.A), B: toStats(r.B), Delta: d, Change: r.Change.String()})
		}
		return out
	}
	toSide := func(s DiffSide) side {
		out := side{Name: s.Name, To: s.To.At, SpanS: s.Span().Seconds()}
		if s.From != nil {
			out.From = &s.From.At
		}
		return out
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		A        side  `json:"a"`
		B        side  `json:"b"`
		Commands []row `json:"commands"`
		Syscalls []row `json:"syscalls"`
	}{toSide(a), toSide(b), rows(res.Commands), rows(res.Syscalls)})
}
