package ui

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
)

// FuzzFilter types any text into the filter and the search of every list:
// the monitor never panics, and what was typed is shown escaped, never raw.
func FuzzFilter(f *testing.F) {
	for _, s := range []string{"ls", "getppid", "\x1b[2J", "a\u202eb", "\xff\xfe", "/", "日本語", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h := newHarness(t, newFake(), 100, 30)
		for _, view := range []string{"1\\", "2\\", "4\\", "5\\", "1/", "2/"} {
			h.press(view[:1], view[1:]) // the filter (\) or the search (/)
			for _, r := range s {
				h.send(tea.KeyPressMsg{Code: r, Text: string(r)})
			}
			h.press("enter")
			v := h.view()
			for _, bad := range []string{"\u202e", "\u200b", "\x07", "\x00", "\x1b[2J"} {
				if strings.Contains(s, bad) && strings.Contains(v, bad) {
					t.Fatalf("view %s shows %q raw after filtering by %q", view, bad, s)
				}
			}
			h.press("esc", "esc")
		}
	})
}
