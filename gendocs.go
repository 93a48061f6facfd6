package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra/doc"

	"tlmon/ui"
)

// The man page and completion scripts, written by `tlmon --gen-docs DIR`
// (`make generate` into dist/, which is committed; `make check-generated`
// fails when they no longer match the flags). Their text comes from the flag
// set, the --help examples and the monitor's key map; what is written here is
// what none of those holds.

// manDescription is the man page's DESCRIPTION, in markdown (cobra's doc
// package renders it with go-md2man).
const manDescription = `tlmon watches every system call on a Linux machine: which processes make
them, how many, how long they take, how often and why they fail. It counts in
the kernel with eBPF, so its numbers are exact and its cost is a fraction of
strace's or perf trace's.

Without flags it opens a live, full-screen monitor of every process (its keys
are under KEYS; **?** lists those that work where it is pressed).
**--headless**, or a flag that only means something in a report (**-o**,
**-d**, **--top**, **--events**), prints a summary instead: a table like
**strace -c**'s, JSON or CSV. **-p**, **--cgroup** or a command after **--**
choose what to watch; a command is started in a cgroup of its own, watched
from its first instruction with its children, and tlmon exits with its status.

**--record** writes the session to a file as it goes; **--replay** plays a
recording back on any machine, without root, in the monitor or as a report, and
**--diff** compares two recordings, or two windows of one.

Watching needs root, or the capabilities CAP_BPF and CAP_PERFMON (Linux 5.8
and later; CAP_SYS_ADMIN before). A replay needs neither.`

// manSections follow the options and examples, in roff.
const manSections = `.SH EXIT STATUS
.TP
.B 0
The run ended as asked (Ctrl\-C, SIGTERM, SIGHUP, \fB\-\-duration\fP, the watched processes gone).
.TP
.B 1
A failure at run time: not root, no kernel BTF where it is needed, a process or cgroup that does not exist, a command that cannot start, a recording that cannot be read.
.TP
.B 2
A usage mistake: an unknown flag, a value out of range, flags that do not go together.
.PP
With a command after \fB\-\-\fP, tlmon exits with the command's status (128 and the signal's number when a signal ended it).
.SH FILES
.TP
\fIFILE\fP of \fB\-\-record\fP, \fB\-\-replay\fP and \fB\-\-diff\fP
A recording: a header naming the host, kernel, rung and scope, then compressed, checksummed frames of snapshots and detail events. A recording made by a newer tlmon opens in an older one; a torn or damaged file says where.
.SH SEE ALSO
.BR strace (1),
.BR perf\-trace (1),
.BR bpftrace (8)
`

// bashCommandOffset hands the words after `--` to the command's own
// completion, as bash-completion does after sudo or nohup (cobra's script
// would only complete the command's name and then files). Without
// bash-completion's _command_offset, cobra's answer stands.
const bashCommandOffset = `
# Written by tlmon --gen-docs, not cobra: the words after -- are a command
# of their own, completed as bash-completion completes them after sudo.
__tlmon_complete()
{
    local i
    for ((i = 1; i < COMP_CWORD; i++)); do
        if [[ ${COMP_WORDS[i]} == -- ]]; then
            if declare -F _command_offset >/dev/null 2>&1; then
                _command_offset $((i + 1))
                return
            fi
            break
        fi
    done
    __start_tlmon "$@"
}
if [[ $(type -t compopt) = "builtin" ]]; then
    complete -o default -F __tlmon_complete tlmon
else
    complete -o default -o nospace -F __tlmon_complete tlmon
fi
`

// helpExamples are the examples of --help (helpHead), for the man page.
func helpExamples() string {
	_, ex, _ := strings.Cut(helpHead, "Examples:\n")
	ex, _, _ = strings.Cut(ex, "\n\nFlags:")
	return ex
}

// manKeys is the KEYS section: the monitor's bindings, from its key map.
func manKeys() string {
	var b strings.Builder
	b.WriteString(".SH KEYS\nThe monitor's keys; \\fB?\\fP lists those that work where it is pressed.\n")
	km := ui.DefaultKeyMap()
	for _, group := range km.FullHelp() {
		for _, k := range group {
			h := k.Help()
			if h.Key == "" {
				continue
			}
			fmt.Fprintf(&b, ".TP\n\\fB%s\\fP\n%s\n", roffEscape(h.Key), roffEscape(h.Desc))
		}
	}
	return b.String()
}

// roffEscape makes text safe in a roff line: a backslash and a minus as
// themselves, no line taken for a request, and only ASCII (\[uXXXX] for the
// rest, which groff and mandoc both read).
func roffEscape(s string) string {
	var b strings.Builder
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		b.WriteString(`\&`)
	}
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\e`)
		case r == '-':
			b.WriteString(`\-`)
		case r > 0x7e:
			fmt.Fprintf(&b, `\[u%04X]`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// asciiRoff turns what go-md2man left outside ASCII into roff's escapes.
func asciiRoff(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r > 0x7e && r != '\n' {
			fmt.Fprintf(&b, `\[u%04X]`, r)
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// thLine is the page's title line: cobra dates it with the month of
// generation, which would make the committed page stale every month.
var thLine = regexp.MustCompile(`(?m)^\.TH .*$`)

// genDocs writes the man page tlmon.8 and the bash, zsh and fish
// completions (completions/tlmon.bash, _tlmon, tlmon.fish) into dir.
func genDocs(dir string) error {
	cmd := newCommand()
	var man, bash, zsh, fish bytes.Buffer
	header := &doc.GenManHeader{Title: "TLMON", Section: "8", Date: &time.Time{}, Source: "tlmon", Manual: "System Administration"}
	if err := doc.GenMan(cmd, header, &man); err != nil {
		return fmt.Errorf("man page: %w", err)
	}
	page := thLine.ReplaceAllLiteralString(man.String(), `.TH "TLMON" "8" "" "tlmon" "System Administration"`)
	page = `.\" Generated by make generate (tlmon --gen-docs) from tlmon's flags: do not edit.` + "\n" +
		asciiRoff(page) + manKeys() + manSections
	if err := cmd.GenBashCompletionV2(&bash, true); err != nil {
		return fmt.Errorf("bash completion: %w", err)
	}
	bash.WriteString(bashCommandOffset)
	if err := cmd.GenZshCompletion(&zsh); err != nil {
		return fmt.Errorf("zsh completion: %w", err)
	}
	if err := cmd.GenFishCompletion(&fish, true); err != nil {
		return fmt.Errorf("fish completion: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "completions"), 0o755); err != nil {
		return err
	}
	for name, data := range map[string][]byte{
		"tlmon.8":                []byte(page),
		"completions/tlmon.bash": bash.Bytes(),
		"completions/_tlmon":     zsh.Bytes(),
		"completions/tlmon.fish": fish.Bytes(),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
