package recording

// The kinds of frame tlmon writes. The container carries any kind; a reader
// skips a kind it does not know, so a newer tlmon may add kinds and its
// recordings still replay in an older one.
const (
	// KindSnapshot is a history frame (package history): one snapshot
	// against the frame before it, or a keyframe.
	KindSnapshot uint16 = 1
	// KindMeta is JSON of what changed in the session's description while
	// it ran: {"command_end": "exit 3"}.
	KindMeta uint16 = 2
	// KindCalls is the detail events of the interval the snapshot frame
	// before it ends (package history's calls frame).
	KindCalls uint16 = 3
	// KindLifecycle is the forks, execs and exits of that interval, with
	// their kernel times (package history's lifecycle frame).
	KindLifecycle uint16 = 4
)
