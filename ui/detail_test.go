package ui

import (
	"regexp"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"tlmon/model"
)

func TestHistogramColumnsStayApart(t *testing.T) {
	var h model.Hist
	h[10] = 2074       // 32ns
	h[21] = 1          // a share far below 0.1%
	h[22] = 20_740_000 // the peak, SI
	h[23] = 9_999_999
	h[40] = 5 // bounds above 1000 s
	line := regexp.MustCompile(`^  +([0-9.]+(?:ns|µs|ms|s))–([0-9.]+(?:ns|µs|ms|s)) [█▏▎▍▌▋▊▉]* * ([0-9,]+|[0-9.]+[kMG])  +([0-9]+\.[0-9]%|<0\.1%)$`)
	for _, width := range []int{80, 120} {
		lines := histLines(&h, h.Count(), width)
		for _, l := range lines[1:] {
			s := "  " + l.text + l.bar + l.tail
			if w := ansi.StringWidth(s); w > width {
				t.Errorf("%d columns: %q is %d wide", width, s, w)
			}
			if strings.Contains(s, "e+") || strings.Contains(s, "e-") || !line.MatchString(s) {
				t.Errorf("%d columns: %q is not range, bar, count, percent apart", width, s)
			}
		}
		if got := lines[1+22-10].tail; !strings.HasSuffix(got, " 20.7M  ") && !strings.Contains(got, "20.7M") {
			t.Errorf("the peak's count: %q", got)
		}
		if got := lines[1+21-10].tail; !strings.HasSuffix(got, " <0.1%") {
			t.Errorf("a tiny share: %q, want <0.1%%", got)
		}
		if got := lines[1+23-10].tail; !strings.Contains(got, " 9,999,999  ") {
			t.Errorf("a count below 10M in full: %q", got)
		}
	}
}

func TestShareNeverShowsAbove100(t *testing.T) {
	for _, tt := range []struct {
		part, whole uint64
		want        string
	}{{0, 0, "0.0%"}, {5, 5, "100.0%"}, {9999, 10000, "99.9%"}, {1, 3, "33.3%"}, {1, 1e6, "<0.1%"}, {827, 826, "100.0%"}} {
		if got := share(tt.part, tt.whole); got != tt.want {
			t.Errorf("share(%d, %d) = %q, want %q", tt.part, tt.whole, got, tt.want)
		}
	}
}

func TestErrnoTableAgreesWithItsHeader(t *testing.T) {
	s := model.SyscallStat{Name: "openat", Counts: model.Counts{Calls: 900, Errors: 826},
		Errnos: []model.ErrnoCount{{Name: "ENOENT", Count: 827}}}
	var text []string
	for _, l := range syscallLines(&s) {
		text = append(text, l.text)
	}
	got := strings.Join(text, "\n")
	if !strings.Contains(got, "errors 827 ") || !strings.Contains(got, "ENOENT                827  100.0%") || strings.Contains(got, "100.1") {
		t.Errorf("the header and the errno table disagree:\n%s", got)
	}
}
