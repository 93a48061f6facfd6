package ui

import (
	"regexp"
	"strings"
	"testing"

	"charm.land/bubbles/v2/key"
)

// shortHelp is the help line at the bottom of the screen.
func (h *harness) shortHelp() string {
	lines := strings.Split(h.view(), "\n")
	return lines[len(lines)-1]
}

// listed says whether the full help on screen lists b: its key, then its
// description, in one column.
func listed(screen string, b key.Binding) bool {
	re := regexp.MustCompile(`(?m)(^|\s)` + regexp.QuoteMeta(b.Help().Key) + ` +` + regexp.QuoteMeta(b.Help().Desc) + `(\s|$)`)
	return re.MatchString(screen)
}

// TestHelpListsExactlyTheEnabledKeys opens the help in a few states: it
// lists every key that works there and none that does not, and so does the
// line at the bottom.
func TestHelpListsExactlyTheEnabledKeys(t *testing.T) {
	tests := []struct {
		name   string
		keys   []string
		short  string
		on     []string // descriptions the full help must list
		off    []string // and must not
		noHelp bool     // ? is text there: the state's own keys are on the bottom line only
	}{
		{
			name:  "processes",
			short: "enter drill • / filter • p/space pause • a attach • ? help • q quit",
			on:    []string{"drill", "next sort column", "process tree", "threads", "group by command", "follow the row", "filter", "hide exited"},
			off:   []string{"back", "events · tcp"},
		},
		{
			name:  "a process's syscalls",
			keys:  []string{"enter"},
			short: "enter drill • esc back • / filter • p/space pause • e events • ? help • q quit",
			on:    []string{"drill", "back", "events", "next sort column", "threads"},
			off:   []string{"process tree", "group by command"},
		},
		{
			name:  "the detail of a syscall",
			keys:  []string{"enter", "enter"},
			short: "esc back • p/space pause • a attach • ? help • q quit",
			on:    []string{"back", "pause", "attach"},
			off:   []string{"drill", "next sort column", "reverse sort", "filter", "process tree", "threads", "follow the row", "group by command"},
		},
		{
			name:  "connections",
			keys:  []string{"5"},
			short: "enter drill • / filter • p/space pause • e tcp connections • ? help • q quit",
			on:    []string{"tcp connections", "drill", "next sort column"},
			off:   []string{"back", "process tree", "threads", "group by command"},
		},
		{
			name:   "the attach picker",
			keys:   []string{"a"},
			short:  "enter attach • esc cancel • ↑/↓ move",
			noHelp: true,
		},
		{
			name:   "the filter",
			keys:   []string{"/", "ngi"},
			short:  "enter apply • esc clear",
			noHelp: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, newFake(), 120, 40)
			h.press(tt.keys...)
			if got := h.shortHelp(); got != tt.short {
				t.Errorf("bottom line %q, want %q", got, tt.short)
			}
			// The bottom line lists enabled bindings only.
			for _, b := range h.m.keys.ShortHelp() {
				if !b.Enabled() && strings.Contains(h.shortHelp(), b.Help().Key+" "+b.Help().Desc) {
					t.Errorf("the bottom line lists %q, which is off", b.Help().Key+" "+b.Help().Desc)
				}
			}
			under := h.m.keys.clone()
			h.press("?")
			if tt.noHelp {
				if h.m.showsHelp() {
					t.Fatal("? opened the help over an input")
				}
				return
			}
			screen := h.view()
			if !h.m.showsHelp() {
				t.Fatalf("? did not open the help:\n%s", screen)
			}
			groups := under.FullHelp()
			for _, g := range groups[:len(groups)-2] {
				for _, b := range g {
					if got := listed(screen, b); got != b.Enabled() {
						t.Errorf("%s %s: listed %v, enabled %v:\n%s", b.Help().Key, b.Help().Desc, got, b.Enabled(), screen)
					}
				}
			}
			byDesc := map[string]key.Binding{}
			for _, g := range groups {
				for _, b := range g {
					byDesc[b.Help().Desc] = b
				}
			}
			for _, d := range tt.on {
				if b, ok := byDesc[d]; !ok || !b.Enabled() || !listed(screen, b) {
					t.Errorf("the help does not list %q", d)
				}
			}
			for _, d := range tt.off {
				if b, ok := byDesc[d]; ok && (b.Enabled() || listed(screen, b)) {
					t.Errorf("the help lists %q, which does nothing here", d)
				}
			}
			if got := h.shortHelp(); got != "esc close • q quit" {
				t.Errorf("under the help the bottom line is %q", got)
			}
		})
	}
}

// TestKeysThatAreOffDoNothing: the keys the help leaves out in the detail
// view change nothing there, and C where it does not group says where it
// does.
func TestKeysThatAreOffDoNothing(t *testing.T) {
	h := newHarness(t, newFake(), 120, 40)
	h.press("enter", "enter")
	before := h.view()
	h.press("s", "S", "t", "T", "P", "e", "/")
	if h.crumbs() != "Processes › nginx 1234 › read" || h.view() != before || len(h.m.overlays) != 0 {
		t.Errorf("keys that are off did something: %q\n%s", h.crumbs(), h.view())
	}
	h.press("C")
	if !strings.Contains(h.view(), "C groups the Processes view (1) by command") {
		t.Errorf("C in the detail does not say where it works:\n%s", h.view())
	}
}
