package ui

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"tlmon/model"
	"tlmon/output"
)

// count formats a counter in at most 6 cells: 999, 12.3k, 4.56M, 1.23G.
func count(n uint64) string {
	if n < 10000 {
		return strconv.FormatUint(n, 10)
	}
	return si(float64(n))
}

// rate formats a per-second rate: 0, 0.5, 12, 12.3k.
func rate(r float64) string {
	switch {
	case r == 0:
		return "0"
	case r < 10:
		return strconv.FormatFloat(r, 'f', 1, 64)
	case r < 10000:
		return strconv.FormatFloat(r, 'f', 0, 64)
	}
	return si(r)
}

// byteRate formats bytes per second in at most 9 cells, in binary units:
// 0, 512B/s, 9.5KiB/s, 123MiB/s.
func byteRate(r float64) string {
	if r <= 0 {
		return "0"
	}
	unit := "B/s"
	for _, u := range []string{"KiB/s", "MiB/s", "GiB/s", "TiB/s"} {
		if r < 1023.5 {
			break
		}
		r, unit = r/1024, u
	}
	if r < 9.95 && unit != "B/s" {
		return strconv.FormatFloat(r, 'f', 1, 64) + unit
	}
	return strconv.FormatFloat(r, 'f', 0, 64) + unit
}

// thousands formats a count in full, with thousands separated: 3,214.
func thousands(n uint64) string {
	s := strconv.FormatUint(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// noSamples is a latency cell with no sample behind it: never 0ns, which
// would read as a measurement.
const noSamples = "–"

// avgCell formats a mean latency of samples.
func avgCell(ns, samples uint64) string {
	if samples == 0 {
		return noSamples
	}
	return output.Duration(ns)
}

// quantileCell formats a latency quantile, or says it is absent (has false):
// no histogram with samples is behind it (model.SyscallStat.HasQuantiles), as
// for a young process, whose latencies are summed per syscall, not
// bucketed. Its 0 is no measurement.
func quantileCell(ns uint64, has bool) string {
	if !has {
		return noSamples
	}
	return output.Duration(ns)
}

func si(f float64) string {
	for _, unit := range []string{"", "k", "M", "G", "T"} {
		if f < 999.5 {
			return fmt.Sprintf("%.3g%s", f, unit)
		}
		f /= 1000
	}
	return fmt.Sprintf("%.3gP", f)
}

// percent formats a share: 12.3%, 0.04%.
func percent(part, whole uint64) string {
	if whole == 0 {
		return "0%"
	}
	p := 100 * float64(part) / float64(whole)
	if p < 0.1 && part > 0 {
		return fmt.Sprintf("%.2g%%", p)
	}
	return fmt.Sprintf("%.1f%%", p)
}

// fit makes s exactly w cells wide: truncated with an ellipsis, padded on the
// right, or on the left when right-aligned. s must already be sanitized; its
// width is that of what is shown, not its byte length.
func fit(s string, w int, right bool) string {
	if w <= 0 {
		return ""
	}
	sw := width(s)
	if sw > w {
		s = ansi.Truncate(s, w, "…")
		sw = width(s)
	}
	pad := strings.Repeat(" ", w-sw)
	if right {
		return pad + s
	}
	return s + pad
}

// fitLeft is fit for a left-aligned cell cut from its start: "…/lib/libc.so.6".
func fitLeft(s string, w int) string {
	if sw := width(s); sw > w && w > 1 {
		s = "…" + ansi.TruncateLeft(s, sw-w+1, "")
	}
	return fit(s, w, false)
}

// width is the cells s takes on screen. Most of what is drawn is printable
// ASCII, one cell a byte, which is much cheaper to tell than to measure.
func width(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7f {
			return ansi.StringWidth(s)
		}
	}
	return len(s)
}

// cgroupLabel is what the CGROUP column shows: the v2 cgroup, shortened, unless
// the process sits at the v2 root of a hybrid host, where its v1 grouping says
// more (marked "v1:", since scoping is by v2 all the same).
func cgroupLabel(p *model.ProcStat) string {
	if p.V1Cgroup != "" && (p.CgroupPath == "/" || p.CgroupPath == "") {
		ctrl, path, found := strings.Cut(p.V1Cgroup, ":/")
		if !found {
			return "v1:" + shortCgroup(p.V1Cgroup)
		}
		return "v1:" + ctrl + ":" + shortCgroup("/"+path)
	}
	return shortCgroup(p.CgroupPath)
}

// shortCgroup names a cgroup by what it is: a container (runtime and the first
// 12 hex digits of its id), else the deepest systemd unit (.service or .scope),
// else its last path element.
func shortCgroup(path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	for i := len(parts) - 1; i >= 0; i-- {
		if id, runtime, ok := containerID(parts[i]); ok {
			return runtime + ":" + id[:12]
		}
	}
	for i := len(parts) - 1; i >= 0; i-- {
		if strings.HasSuffix(parts[i], ".service") || strings.HasSuffix(parts[i], ".scope") {
			return parts[i]
		}
	}
	if last := parts[len(parts)-1]; last != "" {
		return last
	}
	return "/"
}

// containerRuntimes maps the prefixes container runtimes give their cgroups to
// a short name: docker-ID.scope, cri-containerd-ID.scope, crio-ID.scope,
// libpod-ID.scope; cgroupfs drivers name the directory by the bare id.
var containerRuntimes = []struct{ prefix, name string }{
	{"docker-", "docker"}, {"cri-containerd-", "containerd"}, {"crio-", "crio"}, {"libpod-", "podman"}, {"", "container"},
}

func containerID(elem string) (id, runtime string, ok bool) {
	elem = strings.TrimSuffix(elem, ".scope")
	for _, r := range containerRuntimes {
		if rest, found := strings.CutPrefix(elem, r.prefix); found && isHexID(rest) {
			return rest, r.name, true
		}
	}
	return "", "", false
}

func isHexID(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// truncate cuts a line, styled or not, to width cells.
func truncate(s string, width int) string {
	return ansi.Truncate(s, width, "…")
}
