package ui

import (
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"tlmon/model"
)

// search is the search's input (/), an overlay in the status line, as in
// less and vim: the cursor goes to the first row matching what is typed,
// from the row it was on; enter keeps the search for n and N, esc puts the
// cursor back and forgets it.
type search struct {
	lineInput
	on   *tableView
	from int // the cursor when the search opened
}

// searchedMsg is a search the user kept: the root keeps it for n and N.
type searchedMsg string

func newSearch(tv *tableView) *search {
	return &search{lineInput: lineInput{input: newInput("/")}, on: tv, from: tv.cursor}
}

// enable turns on enter and esc: the other keys are text.
func (s *search) enable(k *KeyMap) {
	k.Choose.SetHelp("enter", "search")
	k.Cancel.SetHelp("esc", "cancel")
	enable(&k.Choose, &k.Cancel)
}

func (s *search) key(msg tea.KeyPressMsg, k *KeyMap) (bool, tea.Cmd) {
	switch {
	case key.Matches(msg, k.Cancel):
		s.on.cursor = s.from
		s.on.move(0)
		return true, nil
	case key.Matches(msg, k.Choose):
		q := s.input.Value()
		return true, func() tea.Msg { return searchedMsg(q) }
	}
	return false, s.feed(msg)
}

func (s *search) paste(msg tea.PasteMsg) tea.Cmd { return s.feed(msg) }

// feed types into the input, and moves the cursor to the first match from
// where it was, as the user types.
func (s *search) feed(msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	s.input, cmd = s.input.Update(msg)
	if at, _, _, ok := s.on.findMatch(s.input.Value(), s.from, 1, true); ok {
		s.on.follow = false
		s.on.cursor = at
		s.on.move(0)
	}
	return cmd
}

// findMatch is the row shown (an index into shown) that matches q nearest
// from in direction dir (1 down, -1 up), from itself if inclusive, wrapping
// round the ends: its rank among the matches from the top (1 is the
// first), how many match, and whether one does. Rows match as the filter
// matches them.
func (v *tableView) findMatch(q string, from, dir int, inclusive bool) (at, rank, total int, ok bool) {
	q = strings.ToLower(q)
	n := len(v.shown)
	if q == "" || n == 0 {
		return 0, 0, 0, false
	}
	var matches []int
	for i, r := range v.shown {
		if strings.Contains(v.rows[r].match, q) {
			matches = append(matches, i)
		}
	}
	if len(matches) == 0 {
		return 0, 0, 0, false
	}
	start := from + dir
	if inclusive {
		start = from
	}
	for step := range n {
		i := ((start+dir*step)%n + n) % n
		if j, found := slices.BinarySearch(matches, i); found {
			return i, j + 1, len(matches), true
		}
	}
	return 0, 0, 0, false
}

// nextMatch moves the cursor of the table on top to the next match of the
// search kept (dir 1: n) or the previous (dir -1: N), and says which it
// is; from the row under the cursor itself when the search has just been
// typed (inclusive).
func (m *app) nextMatch(dir int, inclusive bool) {
	tv, ok := m.top().(*tableView)
	if !ok || m.search == "" {
		return
	}
	q := model.Escape(m.search)
	at, rank, total, found := tv.findMatch(m.search, tv.cursor, dir, inclusive)
	if !found {
		m.setStatus(false, "no row matches /%s", q)
		return
	}
	wrapped := ""
	if !inclusive && (dir > 0 && at <= tv.cursor || dir < 0 && at >= tv.cursor) && total > 1 {
		wrapped = map[int]string{1: " · wrapped to the top", -1: " · wrapped to the bottom"}[dir]
	}
	tv.follow = false
	tv.cursor = at
	tv.move(0)
	m.setStatus(false, "match %d of %d for /%s%s · n next, N previous", rank, total, q, wrapped)
}
