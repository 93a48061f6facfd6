package ui

import (
	"testing"

	"github.com/charmbracelet/x/ansi"
)

// TestCellsFitWideCharacters: a cell is exactly its width on screen, whether
// its text is ASCII, wide (CJK, two cells a character), combining, or an
// escaped hostile name.
func TestCellsFitWideCharacters(t *testing.T) {
	for _, s := range []string{"bash", "日本語のプロセス名", "naïve", "e\u0301tude", `\x1b[31m\u202eevil`, "混ざったmixed名前"} {
		for _, w := range []int{1, 2, 3, 5, 8, 16} {
			for _, right := range []bool{false, true} {
				if got := ansi.StringWidth(fit(s, w, right)); got != w {
					t.Errorf("fit(%q, %d, %v) is %d cells wide: %q", s, w, right, got, fit(s, w, right))
				}
			}
			if got := ansi.StringWidth(fitLeft(s, w)); got != w {
				t.Errorf("fitLeft(%q, %d) is %d cells wide", s, w, got)
			}
		}
	}
}

func TestByteRateSaysItsUnit(t *testing.T) {
	for r, want := range map[float64]string{0: "0", 40: "40B/s", 1023: "1023B/s", 1024: "1.0KiB/s", 15e3: "15KiB/s", 1.2e6: "1.1MiB/s", 2.5e9: "2.3GiB/s", 1023.9 * 1024 * 1024: "1.0GiB/s", 999 * 1024 * 1024: "999MiB/s"} {
		if got := byteRate(r); got != want || len(got) > 9 {
			t.Errorf("byteRate(%g) = %q, want %q", r, got, want)
		}
	}
}
