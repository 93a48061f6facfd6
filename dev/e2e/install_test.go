package e2e

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestInstallPutsAndUninstallRemovesEveryFile: make install PREFIX=dir puts
// the binary (which runs), the man page (which man renders), the bash, zsh
// and fish completions, and the systemd unit once dist/ has one; make
// uninstall removes each; a user's make install builds as the user and
// elevates only to write where the user cannot. It runs in a copy of the Makefile and dist/ with the
// binary already built (`-o build`), so the clone's ./tlmon is left as it is.
func TestInstallPutsAndUninstallRemovesEveryFile(t *testing.T) {
	if out := makeDryRun(t, false, "install"); !strings.Contains(out, "go build") || strings.Contains(out, "sudo") {
		t.Errorf("as root, make install would run:\n%s\nwant tlmon built first, and no sudo", out)
	}
	// As a user, only the writes into /usr/local go through sudo.
	if out := makeDryRun(t, true, "install"); !regexp.MustCompile(`(?m)^sudo install .* /usr/local/bin/tlmon$`).MatchString(out) || regexp.MustCompile(`(?m)^sudo .*go build`).MatchString(out) {
		t.Errorf("as a user, make install would run:\n%s\nwant the build as the user, the install through sudo", out)
	}
	src, prefix := t.TempDir(), t.TempDir()
	if out, err := exec.Command("cp", "-r", filepath.Join(repoRoot, "Makefile"), filepath.Join(repoRoot, "dist"), src).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	if out, err := exec.Command("cp", tlmonBin, filepath.Join(src, "tlmon")).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	run := func(target string) {
		t.Helper()
		cmd := exec.Command("make", "--no-print-directory", "-o", "build", target, "PREFIX="+prefix)
		cmd.Dir = src
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("make %s: %v\n%s", target, err, out)
		}
	}
	installed := func() []string {
		var files []string
		filepath.WalkDir(prefix, func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				rel, _ := filepath.Rel(prefix, path)
				files = append(files, rel)
			}
			return nil
		})
		slices.Sort(files)
		return files
	}

	run("install")
	want := []string{"bin/tlmon", "share/bash-completion/completions/tlmon", "share/fish/vendor_completions.d/tlmon.fish", "share/man/man8/tlmon.8", "share/zsh/site-functions/_tlmon"}
	if _, err := os.Stat(filepath.Join(repoRoot, "dist/tlmon.service")); err == nil {
		want = append(want, "lib/systemd/system/tlmon.service")
		slices.Sort(want)
	}
	if got := installed(); !slices.Equal(got, want) {
		t.Errorf("make install put %q, want %q", got, want)
	}
	if unit, err := os.ReadFile(filepath.Join(prefix, "lib/systemd/system/tlmon.service")); err == nil && !strings.Contains(string(unit), "ExecStart="+prefix+"/bin/tlmon ") {
		t.Errorf("the installed unit does not run the installed binary:\n%s", unit)
	}
	if out, err := exec.Command(filepath.Join(prefix, "bin/tlmon"), "--version").Output(); err != nil || !regexp.MustCompile(`^tlmon \S+ \(.*go1\.\d+.*\)\n$`).Match(out) {
		t.Errorf("the installed tlmon --version: %q (%v)", out, err)
	}
	if _, err := exec.LookPath("man"); err == nil {
		cmd := exec.Command("man", "-l", filepath.Join(prefix, "share/man/man8/tlmon.8"))
		cmd.Env = append(os.Environ(), "MANPAGER=cat", "MANWIDTH=80")
		if out, err := cmd.Output(); err != nil || !strings.Contains(string(out), "TLMON(8)") {
			t.Errorf("man -l of the installed page: %v\n%.300s", err, out)
		}
	}
	out, err := exec.Command("bash", "-c", "source "+filepath.Join(prefix, "share/bash-completion/completions/tlmon")+" && complete -p tlmon").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "-F __tlmon_complete tlmon") {
		t.Errorf("the installed bash completion: %v\n%s", err, out)
	}

	run("uninstall")
	if got := installed(); len(got) > 0 {
		t.Errorf("make uninstall left %q", got)
	}
}

// TestShellsCompleteFromTheBinary: the generated scripts, sourced in bash
// (with bash-completion, as a login shell has it) and fish, ask the real
// binary: --theme's values, a class list, flag names, and after -- the
// command's own completion (tlmon's, here).
func TestShellsCompleteFromTheBinary(t *testing.T) {
	path := "PATH=" + filepath.Dir(tlmonBin) + ":" + os.Getenv("PATH")
	script, err := filepath.Abs(filepath.Join(repoRoot, "dist/completions/tlmon.bash"))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("bash", func(t *testing.T) {
		const bashCompletion = "/usr/share/bash-completion/bash_completion"
		if _, err := os.Stat(bashCompletion); err != nil {
			t.Skip("bash-completion is not installed (apt-get install bash-completion)")
		}
		for _, c := range []struct {
			words string // the line typed so far, the last word being completed
			want  []string
		}{
			{`tlmon --theme ""`, []string{"auto", "dark", "light", "mono"}},
			{`tlmon --hook ra`, []string{"raw_tp"}},
			{`tlmon --classes file,ne`, []string{"file,network"}},
			{`tlmon --no-`, []string{"--no-latency", "--no-follow"}},
			{`tlmon -p 1 -- tlmon --them`, []string{"--theme"}},
		} {
			// COMP_* as bash sets them when Tab is pressed after the words.
			sh := `source ` + bashCompletion + ` && source ` + script + ` && COMP_WORDS=(` + c.words + `) && COMP_CWORD=$((${#COMP_WORDS[@]} - 1)) && COMP_LINE="${COMP_WORDS[*]}" && COMP_POINT=${#COMP_LINE} && __tlmon_complete tlmon "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}" 2>/dev/null; printf '%s\n' "${COMPREPLY[@]}"`
			cmd := exec.Command("bash", "-c", sh)
			cmd.Env = append(os.Environ(), path)
			out, err := cmd.Output()
			// bash inserts a lone completion quoted: file\,network.
			got := strings.Fields(strings.ReplaceAll(string(out), `\`, ""))
			for _, w := range c.want {
				if !slices.Contains(got, w) {
					t.Errorf("%s<Tab>: %q (%v), want %q among them", c.words, got, err, w)
				}
			}
		}
	})
	t.Run("fish", func(t *testing.T) {
		if _, err := exec.LookPath("fish"); err != nil {
			t.Skip("fish is not installed")
		}
		fishScript := strings.TrimSuffix(script, ".bash") + ".fish"
		cmd := exec.Command("fish", "--no-config", "-c", "source "+fishScript+"; complete -C'tlmon --theme '")
		cmd.Env = append(os.Environ(), path)
		out, err := cmd.Output()
		if got := strings.Fields(string(out)); err != nil || !slices.Equal(got, []string{"auto", "dark", "light", "mono"}) {
			t.Errorf("fish, tlmon --theme <Tab>: %q (%v)", got, err)
		}
	})
}
