package ui

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"tlmon/model"
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
		// history gives the backend a history to step through.
		history bool
	}{
		{
			name:  "processes",
			short: "enter drill • / search • p/space pause • a attach • ? help • q quit",
			on:    []string{"drill", "sort by next", "process tree", "threads", "by command", "follow the row", "filter", "search", "hide exited", "classes", "trace process"},
			off:   []string{"back", "events · tcp", "next match", "previous match"},
		},
		{
			name:  "a process's syscalls",
			keys:  []string{"enter"},
			short: "enter drill • esc back • / search • p/space pause • e events • ? help • q quit",
			on:    []string{"drill", "back", "events", "sort by next", "threads"},
			off:   []string{"process tree", "by command"},
		},
		{
			name:  "the detail of a syscall",
			keys:  []string{"enter", "enter"},
			short: "esc back • p/space pause • a attach • ? help • q quit",
			on:    []string{"back", "pause", "attach"},
			off:   []string{"drill", "sort by next", "reverse sort", "filter", "process tree", "threads", "follow the row", "by command", "trace process"},
		},
		{
			name:  "connections",
			keys:  []string{"5"},
			short: "enter drill • / search • p/space pause • e tcp connections • ? help • q quit",
			on:    []string{"tcp connections", "drill", "sort by next"},
			off:   []string{"back", "process tree", "threads", "by command", "trace process"},
		},
		{
			name:    "a past moment",
			keys:    []string{"["},
			history: true,
			short:   "enter drill • / search • p/space pause • a attach • ? help • q quit",
			on:      []string{"interval back", "interval on", "10 back", "10 on", "back to live", "pause"},
		},
		{
			name:    "live with a history",
			history: true,
			short:   "enter drill • / search • p/space pause • a attach • ? help • q quit",
			on:      []string{"interval back", "10 back"},
			off:     []string{"interval on", "10 on", "back to live"},
		},
		{
			name:   "the attach picker",
			keys:   []string{"a"},
			short:  "enter attach • esc cancel • ↑/↓ move",
			noHelp: true,
		},
		{
			name:   "the filter",
			keys:   []string{`\`, "ngi"},
			short:  "enter apply • esc clear",
			noHelp: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newFake()
			if tt.history {
				withHistory(b, 20)
			}
			h := newHarness(t, b, 120, 40)
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
			for _, g := range groups {
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
			if got := h.shortHelp(); got != "esc/q/? close" {
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
	h.press("s", "S", "t", "T", "P", "e", `\`, "/")
	if h.crumbs() != "Processes › nginx 1234 › read" || h.view() != before || len(h.m.overlays) != 0 {
		t.Errorf("keys that are off did something: %q\n%s", h.crumbs(), h.view())
	}
	h.press("C")
	if !strings.Contains(h.view(), "C groups the Processes view (1) by command") {
		t.Errorf("C in the detail does not say where it works:\n%s", h.view())
	}
}

// TestNoKeyDoesTwoThingsInOneState walks every view, bare and under each
// overlay, with and without a search and a filter kept, and fails when two
// bindings on there share a key (ctrl+c always quits), or when an overlay
// typed into has a printable key bound.
func TestNoKeyDoesTwoThingsInOneState(t *testing.T) {
	paths := [][]string{
		nil, {"C"}, {"C", "j", "enter"}, {"2"}, {"2", "enter"}, {"3"}, {"4"}, {"5"}, {"5", "e"},
		{"enter"}, {"enter", "enter"}, {"enter", "e"}, {"enter", "e", "enter"}, {"T"},
		{"/", "ngi", "enter"}, {`\`, "nginx", "enter"}, {"enter", "/", "read", "enter"},
		{"["}, {"[", "2"}, {"[", "enter"}, {"[", "3"},
		{"[", "A", "=", "D"}, {"[", "A", "=", "D", "enter"}, {"[", "A", "=", "D", "e", "enter"},
	}
	overlays := [][]string{nil, {"?"}, {"a"}, {`\`}, {"/"}, {"L"}, {"v"}}
	seen := map[viewID]bool{}
	for _, path := range paths {
		for _, o := range overlays {
			b := newFake()
			withHistory(b, 20)
			h := newHarness(t, b, 120, 40)
			h.press(path...)
			seen[h.m.top().id()] = true
			h.press(o...)
			state := strings.Join(append(slices.Clone(path), o...), " ")
			typed := h.m.picker() != nil || h.m.filtering() || overlayOf[*search](h.m) != nil
			owner := map[string]string{}
			if !h.m.keys.Quit.Enabled() {
				owner["ctrl+c"] = "quit (always)"
			}
			for _, b := range h.m.keys.all() {
				if !b.Enabled() {
					continue
				}
				for _, k := range b.Keys() {
					if prev, ok := owner[k]; ok {
						t.Errorf("after %q: %s is both %q and %q", state, k, prev, b.Help().Desc)
					}
					owner[k] = b.Help().Desc
					if r := []rune(k); typed && len(r) == 1 && unicode.IsPrint(r[0]) {
						t.Errorf("after %q: %s is text there, yet bound to %q", state, k, b.Help().Desc)
					}
				}
			}
		}
	}
	for id := viewProcesses; id <= viewDiffParts; id++ {
		if !seen[id] {
			t.Errorf("view %d is not walked", id)
		}
	}
}

// TestSearchMovesToMatchesAndNWraps: / moves the cursor to the first row
// matching as the user types, enter keeps the search, n and N go to the
// next and previous match round the ends and say which it is, and n no
// longer switches a class.
func TestSearchMovesToMatchesAndNWraps(t *testing.T) {
	b := newFake()
	h := newHarness(t, b, 120, 40)
	h.press("/", "ngi")
	if got := h.selected(); got != "1234 nginx" {
		t.Errorf("/ngi typed: on %q", got)
	}
	h.press("enter")
	if v := h.view(); !strings.Contains(v, "match 1 of 2 for /ngi") {
		t.Errorf("after enter:\n%s", v)
	}
	h.press("n")
	if got := h.selected(); got != "1300 nginx" || !strings.Contains(h.view(), "match 2 of 2 for /ngi") {
		t.Errorf("n: on %q\n%s", got, h.view())
	}
	h.press("n")
	if got := h.selected(); got != "1234 nginx" || !strings.Contains(h.view(), "match 1 of 2 for /ngi · wrapped to the top") {
		t.Errorf("n past the last: on %q\n%s", got, h.view())
	}
	h.press("N")
	if got := h.selected(); got != "1300 nginx" || !strings.Contains(h.view(), "wrapped to the bottom") {
		t.Errorf("N before the first: on %q\n%s", got, h.view())
	}
	if len(b.setClasses) != 0 || len(b.setDetail) != 0 {
		t.Errorf("n or N switched a class: %v %v", b.setClasses, b.setDetail)
	}
	if tv := h.m.top().(*tableView); len(tv.shown) != 5 {
		t.Errorf("the search hid rows: %d shown", len(tv.shown))
	}
	// esc while typing puts the cursor back; a search nothing matches says so.
	h.press("home", "/", "redis", "esc")
	if got := h.selected(); got != "1234 nginx" {
		t.Errorf("esc while searching left the cursor on %q", got)
	}
	h.press("/", "nothing-like-it", "enter")
	if v := h.view(); !strings.Contains(v, "no row matches /nothing-like-it") {
		t.Errorf("a search with no match:\n%s", v)
	}
	// F3 searches too.
	h.send(tea.KeyPressMsg{Code: tea.KeyF3})
	if overlayOf[*search](h.m) == nil {
		t.Error("F3 did not open the search")
	}
}

// TestGAndShiftGGoToTheTopAndBottom, as in less and vim; G no longer
// switches signal detail.
func TestGAndShiftGGoToTheTopAndBottom(t *testing.T) {
	b := newFake()
	h := newHarness(t, b, 120, 40)
	h.press("G")
	if got := h.selected(); got != "4321 make" {
		t.Errorf("G: on %q", got)
	}
	h.press("g")
	if got := h.selected(); got != "1234 nginx" {
		t.Errorf("g: on %q", got)
	}
	if len(b.setClasses) != 0 || len(b.setDetail) != 0 {
		t.Errorf("g or G switched a class: %v %v", b.setClasses, b.setDetail)
	}
}

// TestFunctionKeysAsInHtop: F1 help, F3 search, F4 filter, F5 tree, F6
// sort, F10 quit, F2 the classes.
func TestFunctionKeysAsInHtop(t *testing.T) {
	f := func(n int) tea.KeyPressMsg { return tea.KeyPressMsg{Code: tea.KeyF1 + rune(n-1)} }
	h := newHarness(t, newFake(), 120, 40)
	tv := h.m.top().(*tableView)
	h.send(f(5))
	if !tv.tree {
		t.Error("F5 did not show the tree")
	}
	col := tv.sortCol
	h.send(f(6))
	if tv.sortCol == col {
		t.Error("F6 did not sort by the next column")
	}
	h.send(f(4))
	if !h.m.filtering() {
		t.Error("F4 did not open the filter")
	}
	h.press("esc")
	h.send(f(2))
	if overlayOf[*classesOverlay](h.m) == nil {
		t.Error("F2 did not open the classes")
	}
	h.send(f(2))
	if len(h.m.overlays) != 0 {
		t.Error("F2 did not close the classes")
	}
	h.send(f(10))
	if !h.quit {
		t.Error("F10 did not quit")
	}
}

// TestClassLettersOutsideTheOverlaySayWhereTheyAre: a class letter pressed
// in a view toggles nothing and says to open the classes.
func TestClassLettersOutsideTheOverlaySayWhereTheyAre(t *testing.T) {
	b := newFake()
	h := newHarness(t, b, 120, 40)
	h.press("F")
	if v := h.view(); !strings.Contains(v, "the class keys are in the classes overlay: v, then f or F (file detail)") {
		t.Errorf("F in a view:\n%s", v)
	}
	h.press("n")
	if v := h.view(); !strings.Contains(v, "no search yet: / searches") {
		t.Errorf("n with no search:\n%s", v)
	}
	if len(b.setClasses) != 0 || len(b.setDetail) != 0 {
		t.Errorf("a class letter in a view switched a class: %v %v", b.setClasses, b.setDetail)
	}
	h.press("v", "q")
	if len(h.m.overlays) != 0 || h.quit {
		t.Errorf("q in the classes: overlays %d, quit %v", len(h.m.overlays), h.quit)
	}
}

// TestClassesOverlayListsEveryClass: v lists every class with its keys and
// state, down to the least terminal, and follows a toggle at once.
func TestClassesOverlayListsEveryClass(t *testing.T) {
	for _, size := range [][2]int{{60, 12}, {80, 24}} {
		b := newFake()
		h := newHarness(t, b, size[0], size[1])
		h.press("v")
		v := h.view()
		for i, name := range model.ClassNames {
			keys := classKeys[i] + "/" + strings.ToUpper(classKeys[i])
			if !regexp.MustCompile(regexp.QuoteMeta(keys) + `\s+[●○]?[:+]?` + name).MatchString(v) {
				t.Errorf("%v: %s %s is not listed:\n%s", size, keys, name, v)
			}
		}
		h.press("m")
		if v := h.view(); !strings.Contains(v, "○:memory") && !strings.Contains(v, "○ not counted") {
			t.Errorf("%v: m does not show memory off:\n%s", size, v)
		}
	}
}
