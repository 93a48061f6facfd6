package main

import (
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"tlmon/model"
	"tlmon/output"
	"tlmon/seccomp"
	"tlmon/session"
	"tlmon/syscalls"
	"tlmon/themes"
)

// tlmon parses its flags with pflag alone (it has no subcommands); cobra sees
// the same flag set (newFlagSet, nothing defined twice) for two jobs only: the
// man page and completion scripts `--gen-docs` writes (gendocs.go), and the
// `__complete` requests those scripts make of the binary at completion time
// (cobra's bash, zsh and fish scripts all ask the binary, so the binary must
// answer them: that is why cobra is in the product and not only in a tool
// under dev/, and then generating from main needs no flag definitions moved
// into a package of their own). The binary grew from 13.34 to 14.21 MB
// (6.6%; measured apart: cobra 0.37 MB, its doc package with go-md2man
// 0.34 MB).

// newCommand is tlmon as a cobra command: its flags, what their values
// complete to, and the command after `--`.
func newCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:               "tlmon [flags] [-- command [args...]]",
		Short:             "watch every system call on this machine with BPF",
		Long:              manDescription,
		Example:           helpExamples(),
		DisableAutoGenTag: true, // no generation date: the committed files stay the same
		Run:               func(*cobra.Command, []string) {},
	}
	cmd.Flags().SortFlags = false // in newFlagSet's order, as --help
	cmd.Flags().AddFlagSet(newFlagSet(&options{}))
	// pflag answers -h and --help itself; cobra would add the flag with its own text.
	cmd.Flags().BoolP("help", "h", false, "print the flags and exit")

	none := cobra.ShellCompDirectiveNoFileComp
	values := map[string][]string{
		"theme":  themes.Names,
		"output": {output.FormatTable, output.FormatJSON, output.FormatCSV, output.FormatPerfetto},
		"buffer": session.Buffers,
		"hook":   session.Hooks,
		// The profile's formats.
		"seccomp-format": {seccomp.FormatOCI, seccomp.FormatSystemd},
	}
	for name, vals := range values {
		cmd.RegisterFlagCompletionFunc(name, cobra.FixedCompletions(vals, none))
	}
	cmd.RegisterFlagCompletionFunc("classes", completeList(func() []string {
		return append(slices.Clone(model.ClassNames), "all", "none")
	}))
	cmd.RegisterFlagCompletionFunc("syscalls", completeList(func() []string {
		var names []string
		for _, c := range model.ClassNames {
			names = append(names, "%"+c)
		}
		for _, s := range syscalls.HostTable().All() {
			names = append(names, s.Name)
		}
		return names
	}))
	cmd.RegisterFlagCompletionFunc("metrics-labels", completeList(func() []string { return []string{"comm", "cgroup"} }))
	cmd.RegisterFlagCompletionFunc("pid", completeList(processes))
	cmd.RegisterFlagCompletionFunc("cgroup", completeCgroup)
	// Durations, counts, times and addresses have nothing to offer;
	// --record, --replay, --diff, --config and --seccomp-profile take files,
	// cobra's default.
	for _, name := range []string{"duration", "interval", "slow", "top", "history", "from", "to", "speed", "metrics"} {
		cmd.RegisterFlagCompletionFunc(name, cobra.NoFileCompletions)
	}
	return cmd
}

// complete answers a completion script's `tlmon __complete args...` on out
// (cobra says how it went on stderr, which the scripts do not read).
func complete(args []string, out, stderr io.Writer) error {
	cmd := newCommand()
	cmd.ValidArgsFunction = completeArgs(args[1:])
	cmd.SetArgs(args)
	cmd.SetOut(out)
	cmd.SetErr(stderr)
	return cmd.Execute()
}

// isCompletionRequest says whether tlmon was called by a completion script.
func isCompletionRequest(args []string) bool {
	return len(args) > 0 && (args[0] == cobra.ShellCompRequestCmd || args[0] == cobra.ShellCompNoDescRequestCmd)
}

// completeArgs completes what is not a flag in words (those after
// __complete, the last one being typed): nothing before `--`, then a command,
// then its arguments as files (bash hands the words after `--` to the
// command's own completion instead: bashCommandOffset). It reads the words
// itself: cobra parses them twice, the first time with a "--" appended, and
// pflag's ArgsLenAtDash keeps what that parse saw.
func completeArgs(words []string) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		dash := slices.Index(words, "--")
		switch {
		case dash < 0 || dash == len(words)-1:
			return nil, cobra.ShellCompDirectiveNoFileComp
		case dash == len(words)-2 && !strings.Contains(toComplete, "/"):
			return executables(toComplete), cobra.ShellCompDirectiveNoFileComp
		}
		return nil, cobra.ShellCompDirectiveDefault
	}
}

// executables are the commands in $PATH whose names start with prefix.
func executables(prefix string) []cobra.Completion {
	var names []string
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if !strings.HasPrefix(e.Name(), prefix) || e.IsDir() {
				continue
			}
			if info, err := os.Stat(filepath.Join(dir, e.Name())); err == nil && info.Mode().IsRegular() && info.Mode()&0o111 != 0 {
				names = append(names, e.Name())
			}
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// completeList completes the last item of a comma-separated list from all()
// ("tab" separating a value from its description), leaving out those already
// in the list.
func completeList(all func() []string) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		cut := strings.LastIndex(toComplete, ",") + 1
		done, cur := strings.Split(toComplete[:cut], ","), toComplete[cut:]
		var comps []cobra.Completion
		for _, v := range all() {
			name, _, _ := strings.Cut(v, "\t")
			if strings.HasPrefix(name, cur) && !slices.Contains(done, name) {
				comps = append(comps, toComplete[:cut]+v)
			}
		}
		// No space after a value: a comma and another may follow.
		return comps, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	}
}

// processes are the running processes' IDs, each described by its command
// name: a read of /proc, cheap enough at each Tab.
func processes() []string {
	entries, _ := os.ReadDir("/proc")
	var pids []string
	for _, e := range entries {
		if e.Name()[0] < '1' || e.Name()[0] > '9' {
			continue
		}
		comm, err := os.ReadFile("/proc/" + e.Name() + "/comm")
		if err != nil {
			continue
		}
		pids = append(pids, e.Name()+"\t"+model.Escape(strings.TrimSuffix(string(comm), "\n")))
	}
	return pids
}

// completeCgroup completes a path inside the cgroup v2 hierarchy a directory
// at a time: under /sys/fs/cgroup, or its unified/ on hybrid hosts (the
// v2 root is where cgroup.controllers is).
func completeCgroup(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	root := "/sys/fs/cgroup"
	if _, err := os.Stat(root + "/cgroup.controllers"); err != nil {
		root += "/unified"
	}
	dir, base := path.Split(toComplete)
	entries, _ := os.ReadDir(filepath.Join(root, dir))
	var comps []cobra.Completion
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), base) {
			comps = append(comps, dir+e.Name()+"/")
		}
	}
	return comps, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
}
