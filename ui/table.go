package ui

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"tlmon/model"
	"tlmon/themes"
)

// rowKey identifies what a row shows, so that the cursor stays on it when the
// user sorts or filters, and on a followed row when a new snapshot reorders
// the rows.
type rowKey struct {
	proc model.ProcID
	nr   int
	tid  uint32
	name string // a path, an endpoint, a connection
	at   int64  // when an event happened (ns since the epoch)
}

// column is one column of a table: its title, its width, when it gives way
// on a narrow terminal, and what its cells say. Every table's columns are
// of this one type.
type column struct {
	title string
	width int  // cells; for the flex column, the least it gets
	flex  bool // takes what the other columns leave
	right bool // a number: right-aligned, sorted largest first
	// cutLeft cuts a cell too long from its start, not its end: a path's
	// file name says more than its first directories.
	cutLeft bool
	// gap sets a left-aligned first column one cell apart from the row mark
	// (x: an exited process), which a right-aligned one is by its padding.
	gap bool
	// hidden leaves the column out until the user shows it (the column
	// chooser, o).
	hidden bool
	// alert, when set, says whether a cell should draw the eye (errors, a
	// slow p99), from the row's item and the cell's sort value: it is drawn
	// in the theme's Error style, but on the cursor's row and on an exited
	// process's. Make it with alertOf, or use nonZero.
	alert func(item any, v float64) bool
	// drop orders the columns left out when the terminal is too narrow for all:
	// the highest first, columns with the same drop together (a pair such as
	// READ and WRITE goes as one); 0 is never left out.
	drop int
	// cell is the column's text of the item a row is built from (each table
	// has its items: processes, syscalls, files…) and, for a right-aligned
	// column, the number it sorts by. Make it with textCell, rateCell,
	// countCell, idCell or cellOf, which say the item's type.
	cell func(item any) (string, float64)
}

// rowMaker makes the rows of a table: their cells and sort values are cut
// from a few allocations, not two a row, as a refresh makes thousands.
type rowMaker struct {
	cols  []column
	cells []string
	nums  []float64
}

// rowChunk is how many rows' cells a rowMaker allocates at once past the
// rows it was told of.
const rowChunk = 64

// newRowMaker makes the rows of cols, with room made at once for rows of
// them: the number of rows when it is known, else 0 (a chunk at a time).
func newRowMaker(cols []column, rows int) rowMaker {
	n := rows * len(cols)
	return rowMaker{cols: cols, cells: make([]string, n), nums: make([]float64, n)}
}

// row is a row of item, a cell of each column; what identifies it, what the
// filter matches and the rest are the caller's to set.
func (m *rowMaker) row(item any) row {
	n := len(m.cols)
	if len(m.cells) < n {
		m.cells, m.nums = make([]string, rowChunk*n), make([]float64, rowChunk*n)
	}
	r := row{cells: m.cells[:n:n], nums: m.nums[:n:n]}
	m.cells, m.nums = m.cells[n:], m.nums[n:]
	for i := range m.cols {
		r.cells[i], r.nums[i] = m.cols[i].cell(item)
		if a := m.cols[i].alert; a != nil && a(item, r.nums[i]) {
			r.alerts |= 1 << i
		}
	}
	return r
}

// cellOf makes a cell function of one over items of type T.
func cellOf[T any](f func(*T) (string, float64)) func(any) (string, float64) {
	return func(item any) (string, float64) { return f(item.(*T)) }
}

// textCell is a cell of text, sorted as text.
func textCell[T any](f func(*T) string) func(any) (string, float64) {
	return func(item any) (string, float64) { return f(item.(*T)), 0 }
}

// rateCell is a per-second rate: 12.3k.
func rateCell[T any](f func(*T) float64) func(any) (string, float64) {
	return func(item any) (string, float64) {
		r := f(item.(*T))
		return rate(r), r
	}
}

// byteRateCell is bytes per second: 12KiB/s.
func byteRateCell[T any](f func(*T) float64) func(any) (string, float64) {
	return func(item any) (string, float64) {
		r := f(item.(*T))
		return byteRate(r), r
	}
}

// countCell is a counter: 12.3k.
func countCell[T any](f func(*T) uint64) func(any) (string, float64) {
	return func(item any) (string, float64) {
		n := f(item.(*T))
		return count(n), float64(n)
	}
}

// idCell is a PID or a TID, in full.
func idCell[T any](f func(*T) uint32) func(any) (string, float64) {
	return func(item any) (string, float64) {
		id := f(item.(*T))
		return strconv.FormatUint(uint64(id), 10), float64(id)
	}
}

type row struct {
	key    rowKey
	cells  []string  // shown as is: already sanitized
	nums   []float64 // sort values of the right-aligned columns
	alerts uint64    // bit i: cell i draws the eye (column.alert)
	hl     uint8     // the config file's highlight rule matching it, + 1 (0: none)
	match  string    // lower-case text the filter searches
	dim    bool      // an exited process
	// link is the process Enter leads to from a row that is not one (a file,
	// an endpoint, a connection): the zero ProcID for none.
	link model.ProcID
	// parent is the parent process's row in the process tree.
	parent rowKey
	// comm is the command a process's row or a command's row stands for: a
	// followed process that exits hands the cursor to a row of its command.
	comm string
}

// table is the list every view but the detail draws: rows built once per
// snapshot, filtered and sorted once per change, and only the visible rows
// drawn.
type table struct {
	cols []column
	// showCol says, per column, whether the user shows it (the column chooser);
	// nil: as the columns say (hidden or not).
	showCol []bool
	rows    []row
	shown   []int // indexes into rows, filtered and in order
	cursor  int   // index into shown
	offset  int   // first shown row on screen
	width   int   // cells of a line
	height  int   // rows that fit under the header
	sortCol int
	reverse bool
	filter  string
	// xoff scrolls the columns sideways (→ and ←): 0 lays them out to
	// fit, dropping the least needed; n > 0 lays out every column shown in
	// order, none dropped, with the first n-1 past the pinned ones scrolled
	// off to the left and what does not fit cut at the right.
	xoff int
	// tree draws parents above their children, with treeCol indented by
	// prefix (one per shown row).
	tree    bool
	treeCol int
	prefix  []string
	// follow keeps the cursor on the followed row (P) when a new snapshot
	// moves it. Otherwise the cursor holds its place on screen, as in htop:
	// the rows change under it, and the busiest stay in sight.
	follow   bool
	followed row
}

const gutter = 2 // cursor mark and row mark before the first column

// setRows replaces the rows. The cursor stays where it is on screen, unless
// it follows a row: then it goes where that row went.
func (t *table) setRows(rows []row) {
	at := t.cursor
	t.rows = rows
	t.arrange(rowKey{}, false)
	if t.follow {
		t.track(at)
	}
}

// toggleFollow follows the row under the cursor, or stops following.
func (t *table) toggleFollow() {
	r, ok := t.selected()
	t.follow = !t.follow && ok
	t.followed = r
}

// track puts the cursor back on the followed row; at is where the cursor was.
// A followed process that exited hands the cursor over to the nearest live
// row of its command (its command's row when grouped), never to a row of
// another; with none, the cursor stays on the exited row while it shows,
// then on another row of its command. With no row of its command left,
// following ends and the cursor stays where it was.
func (t *table) track(at int) {
	f := &t.followed
	rank := func(r *row) int { // the lower the better; -1: not a candidate
		same, kin := r.key == f.key, r.comm != "" && r.comm == f.comm
		switch {
		case same && !r.dim:
			return 0
		case kin && !r.dim:
			return 1
		case same:
			return 2
		case kin:
			return 3
		}
		return -1
	}
	best, bestRank, bestDist := -1, 0, 0
	for i, ri := range t.shown {
		rk := rank(&t.rows[ri])
		if rk < 0 {
			continue
		}
		dist := max(i-at, at-i)
		if best < 0 || rk < bestRank || rk == bestRank && dist < bestDist {
			best, bestRank, bestDist = i, rk, dist
		}
	}
	if best < 0 {
		t.follow, t.followed = false, row{}
		return
	}
	t.cursor, t.followed = best, t.rows[t.shown[best]]
	t.move(0)
}

// focusComm puts the cursor on the row of command comm nearest the top, a
// live one if any (another view of the same rows: grouped or not).
func (t *table) focusComm(comm string) {
	best := -1
	for i, ri := range t.shown {
		r := &t.rows[ri]
		if r.comm == comm && (best < 0 || !r.dim && t.rows[t.shown[best]].dim) {
			best = i
		}
	}
	if best >= 0 {
		t.cursor = best
		t.move(0)
	}
}

// selected returns the row under the cursor.
func (t *table) selected() (row, bool) {
	if t.cursor < 0 || t.cursor >= len(t.shown) {
		return row{}, false
	}
	return t.rows[t.shown[t.cursor]], true
}

func (t *table) setFilter(f string) {
	keep, ok := t.selected()
	t.filter = f
	t.arrange(keep.key, ok)
}

// sortBy sorts by the next column shown, or reverses the present order.
func (t *table) sortBy(next, reverse bool) {
	keep, ok := t.selected()
	if next {
		ws, _ := t.layout()
		for i := 1; i <= len(t.cols); i++ {
			if c := (t.sortCol + i) % len(t.cols); ws[c] > 0 {
				t.sortCol = c
				break
			}
		}
		t.reverse = false
	}
	if reverse {
		t.reverse = !t.reverse
	}
	t.arrange(keep.key, ok)
}

func (t *table) toggleTree() {
	keep, ok := t.selected()
	t.tree = !t.tree
	t.arrange(keep.key, ok)
}

// filterColumn reads the filter: "column:text" (comm:bash, pid:12,
// syscall:open, path:/etc; a column by the start of its title) matches the
// text in that column only, anything else in every column the row offers
// (-1). The text is lower-case.
func (t *table) filterColumn() (col int, text string) {
	q := strings.ToLower(t.filter)
	name, rest, ok := strings.Cut(q, ":")
	if !ok || name == "" {
		return -1, q
	}
	for i, c := range t.cols {
		title := strings.ToLower(strings.TrimLeft(c.title, "↑↓"))
		if strings.HasPrefix(title, name) {
			return i, rest
		}
	}
	return -1, q
}

func (t *table) arrange(keep rowKey, hadCursor bool) {
	col, q := t.filterColumn()
	t.shown = t.shown[:0]
	for i := range t.rows {
		text := t.rows[i].match
		if col >= 0 && col < len(t.rows[i].cells) {
			text = strings.ToLower(t.rows[i].cells[col])
		}
		if strings.Contains(text, q) {
			t.shown = append(t.shown, i)
		}
	}
	slices.SortStableFunc(t.shown, t.compare)
	t.prefix = nil
	if t.tree {
		t.shown, t.prefix = treeOrder(t.rows, t.shown)
	}
	if hadCursor {
		if i := slices.IndexFunc(t.shown, func(r int) bool { return t.rows[r].key == keep }); i >= 0 {
			t.cursor = i
		}
	}
	t.move(0)
}

// compare orders two rows by the sort column: numbers largest first, text
// alphabetically; S reverses either. Ties keep the snapshot's order. Exited
// processes come after the live ones whatever the order: a shell loop's
// thousands of short processes never push a live one off screen.
func (t *table) compare(a, b int) int {
	ra, rb := &t.rows[a], &t.rows[b]
	if ra.dim != rb.dim {
		if ra.dim {
			return 1
		}
		return -1
	}
	var c int
	if t.cols[t.sortCol].right {
		c = cmp.Compare(rb.nums[t.sortCol], ra.nums[t.sortCol])
	} else {
		c = strings.Compare(strings.ToLower(ra.cells[t.sortCol]), strings.ToLower(rb.cells[t.sortCol]))
	}
	if t.reverse {
		return -c
	}
	return c
}

// move moves the cursor by delta rows, within bounds, and scrolls so it stays
// on screen.
func (t *table) move(delta int) {
	t.cursor = max(0, min(t.cursor+delta, len(t.shown)-1))
	h := max(1, t.height)
	if t.cursor < t.offset {
		t.offset = t.cursor
	}
	if t.cursor >= t.offset+h {
		t.offset = t.cursor - h + 1
	}
	t.offset = max(0, min(t.offset, len(t.shown)-h))
}

func (t *table) setHeight(h int) {
	t.height = h
	t.move(0)
}

// clickAt puts the cursor on the row drawn on line y of the table (0 is the
// header).
func (t *table) clickAt(y int) {
	if y >= 1 && t.offset+y-1 < len(t.shown) {
		t.cursor = t.offset + y - 1
	}
}

// colShown says whether column i is shown, room permitting.
func (t *table) colShown(i int) bool {
	if t.showCol != nil {
		return t.showCol[i]
	}
	return !t.cols[i].hidden
}

// toggleCol shows column i, or hides it; the first column stays.
func (t *table) toggleCol(i int) {
	if t.showCol == nil {
		t.showCol = make([]bool, len(t.cols))
		for j := range t.cols {
			t.showCol[j] = !t.cols[j].hidden
		}
	}
	if i > 0 {
		t.showCol[i] = !t.showCol[i]
	}
}

// layout is the columns' widths at the table's width (0: left out), and
// whether a column shown is left out or cut at the right: → scrolls to it,
// and the header's last cell says so (›), a cell of its own where the
// columns are laid out to fit.
func (t *table) layout() ([]int, bool) {
	if t.xoff > 0 {
		ws := t.scrolledWidths(t.width)
		return ws, lineWidth(ws) > t.width
	}
	ws := t.fitWidths(t.width)
	for i := range t.cols {
		if ws[i] == 0 && t.colShown(i) {
			return t.fitWidths(t.width - 1), true
		}
	}
	return ws, false
}

// fitWidths lays the columns out in width cells: the columns dropped last
// stay, the flex column takes what is left. A dropped column gets 0.
func (t *table) fitWidths(width int) []int {
	ws := make([]int, len(t.cols))
	need := gutter - 1
	for i, c := range t.cols {
		if !t.colShown(i) {
			continue
		}
		ws[i] = c.width
		need += c.width + 1
	}
	for need > width {
		worst := -1
		for i, c := range t.cols {
			if ws[i] > 0 && c.drop > 0 && (worst < 0 || c.drop > t.cols[worst].drop) {
				worst = i
			}
		}
		if worst < 0 {
			break // nothing left to drop: the flex column shrinks, then lines are cut
		}
		for i, c := range t.cols {
			if ws[i] > 0 && c.drop == t.cols[worst].drop {
				need -= ws[i] + 1
				ws[i] = 0
			}
		}
	}
	for i, c := range t.cols {
		if c.flex && ws[i] > 0 {
			ws[i] = max(4, ws[i]+width-need)
		}
	}
	return ws
}

// pinned is how many leading columns stay in place when the table scrolls
// sideways: those up to the first that names the row (a text column: COMM,
// NAME, PATH).
func (t *table) pinned() int {
	for i, c := range t.cols {
		if !c.right {
			return i + 1
		}
	}
	return 1
}

// scrollable are the columns shown that scroll sideways, in order.
func (t *table) scrollable() []int {
	var cols []int
	for i := t.pinned(); i < len(t.cols); i++ {
		if t.colShown(i) {
			cols = append(cols, i)
		}
	}
	return cols
}

// skipped is how many scrollable columns are scrolled off to the left.
func (t *table) skipped() int { return max(0, t.xoff-1) }

// scrolledWidths lays out the pinned columns, then the scrollable ones past
// those skipped, each at its own width (the flex column takes what the
// others leave, if they leave any): what does not fit is cut at the edge.
func (t *table) scrolledWidths(width int) []int {
	ws := make([]int, len(t.cols))
	need := gutter - 1
	for i := range t.pinned() {
		if t.colShown(i) {
			ws[i] = t.cols[i].width
			need += ws[i] + 1
		}
	}
	sc := t.scrollable()
	for _, i := range sc[min(t.skipped(), len(sc)):] {
		ws[i] = t.cols[i].width
		need += ws[i] + 1
	}
	for i, c := range t.cols {
		if c.flex && ws[i] > 0 && need < width {
			ws[i] += width - need
		}
	}
	return ws
}

// cutRight says a column shown is left out or cut at the right: → scrolls
// to it.
func (t *table) cutRight() bool {
	_, cut := t.layout()
	return cut
}

// scroll moves the columns sideways by delta (→ 1, ← -1), within the
// columns there are: the last stays in sight.
func (t *table) scroll(delta int) {
	if delta > 0 && !t.cutRight() {
		return
	}
	t.xoff = max(0, min(t.xoff+delta, len(t.scrollable())))
}

// render draws the header and the visible rows, height lines in all.
func (t *table) render(height int, th *themes.Theme, empty string) []string {
	width := t.width
	ws, cut := t.layout()
	lines := make([]string, 0, height)
	var b strings.Builder
	b.WriteString(strings.Repeat(" ", gutter))
	first := true
	for i, c := range t.cols {
		if ws[i] == 0 {
			continue
		}
		if !first {
			b.WriteByte(' ')
		}
		first = false
		title := c.title
		if i == t.sortCol {
			title = sortMark(c.right != t.reverse) + title
		}
		if c.gap {
			title = " " + title
		}
		b.WriteString(fit(title, ws[i], c.right))
	}
	// ‹ and › say columns are scrolled off to the left, or left out or
	// cut at the right.
	head := b.String()
	if t.skipped() > 0 {
		head = "‹" + head[1:]
	}
	if cut {
		head = fit(head, width-1, false) + "›"
	}
	lines = append(lines, th.Heading.Render(fit(head, width, false)))

	if len(t.shown) == 0 {
		lines = append(lines, th.Dim.Render(fit("  "+empty, width, false)))
	}
	end := min(len(t.shown), t.offset+height-1)
	for n := t.offset; n < end; n++ {
		r := &t.rows[t.shown[n]]
		b.Reset()
		switch {
		case n == t.cursor:
			b.WriteString(">")
		default:
			b.WriteString(" ")
		}
		if r.dim {
			b.WriteString("x") // exited: seen even where Dim shows nothing
		} else {
			b.WriteString(" ")
		}
		first := true
		for i, c := range t.cols {
			if ws[i] == 0 {
				continue
			}
			if !first {
				b.WriteByte(' ')
			}
			first = false
			cell := r.cells[i]
			if t.prefix != nil && i == t.treeCol {
				cell = t.prefix[n] + cell
			}
			if c.gap {
				cell = " " + cell
			}
			if c.cutLeft {
				cell = fitLeft(cell, ws[i])
			} else {
				cell = fit(cell, ws[i], c.right)
			}
			if r.alerts&(1<<i) != 0 && n != t.cursor && !r.dim {
				cell = th.Error.Render(cell)
			}
			b.WriteString(cell)
		}
		// The cells add up to the width but for a last column cut short.
		line := b.String()
		if used := lineWidth(ws); used < width {
			line += strings.Repeat(" ", width-used)
		} else if used > width {
			line = truncate(line, width)
		}
		switch {
		case n == t.cursor:
			line = th.Selected.Render(line)
		case r.dim:
			line = th.Dim.Render(line)
		case r.hl > 0 && int(r.hl) <= len(th.Highlights):
			line = th.Highlights[r.hl-1].Render(line)
		}
		lines = append(lines, line)
	}
	return lines
}

// lineWidth is the width of a row laid out in ws.
func lineWidth(ws []int) int {
	w := gutter - 1
	for _, cw := range ws {
		if cw > 0 {
			w += cw + 1
		}
	}
	return w
}

func sortMark(descending bool) string {
	if descending {
		return "↓"
	}
	return "↑"
}

// treeOrder puts the shown rows depth first under their parents, siblings in
// the order given, and returns the branch drawn before each row's name.
func treeOrder(rows []row, shown []int) ([]int, []string) {
	index := make(map[rowKey]int, len(shown))
	for _, i := range shown {
		index[rows[i].key] = i
	}
	children := make(map[int][]int)
	var roots []int
	for _, i := range shown {
		if p, ok := index[rows[i].parent]; ok && p != i {
			children[p] = append(children[p], i)
		} else {
			roots = append(roots, i)
		}
	}
	order := make([]int, 0, len(shown))
	prefix := make([]string, 0, len(shown))
	seen := make(map[int]bool, len(shown))
	var walk func(i int, lead, branch string)
	walk = func(i int, lead, branch string) {
		if seen[i] {
			return
		}
		seen[i] = true
		order = append(order, i)
		prefix = append(prefix, lead+branch)
		kids := children[i]
		next := lead
		switch branch {
		case "├─":
			next += "│ "
		case "└─":
			next += "  "
		}
		for k, c := range kids {
			if k == len(kids)-1 {
				walk(c, next, "└─")
			} else {
				walk(c, next, "├─")
			}
		}
	}
	for _, r := range roots {
		walk(r, "", "")
	}
	// Parent links that loop leave rows no root reaches: list them flat.
	for _, i := range shown {
		walk(i, "", "")
	}
	return order, prefix
}

// nonZero is the alert of the error columns: any error draws the eye.
func nonZero(_ any, v float64) bool { return v > 0 }

// alertOf makes a column's alert of one over items of type T.
func alertOf[T any](f func(*T, float64) bool) func(any, float64) bool {
	return func(item any, v float64) bool { return f(item.(*T), v) }
}
