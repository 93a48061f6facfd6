package main

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"tlmon/dev/internal/devtool"
)

// debianKeyring verifies every suite we read: bookworm's keyring also holds
// bullseye's archive keys.
const debianKeyring = "/usr/share/keyrings/debian-archive-keyring.gpg"

// mirrorEnv overrides the mirror found in the machine's apt configuration.
const mirrorEnv = "TLMON_DEBIAN_MIRROR"

// apt runs apt-get and apt-cache against a sources list and state of our own
// under the cache, so that suites this machine does not use (bullseye,
// bookworm-backports) never enter its apt configuration. The rest of the
// system's apt configuration (proxies, apt.conf.d) still applies.
type apt struct {
	dir     string // the cache's apt folder: sources.list, lists/, cache/
	mirror  string
	foreign []string // architectures other than nativeArch whose lists are read
}

// nativeArch is the host's Debian architecture: the VMs' qemu is an amd64
// build.
const nativeArch = "amd64"

// mirrorFromAPT returns the Debian archive the machine's own apt uses: the URI
// of the first enabled "deb" entry with component main for one of suites.
// The host is never written into the project: it is read here at run time.
func mirrorFromAPT(suites []string) (string, error) {
	if m := os.Getenv(mirrorEnv); m != "" {
		return strings.TrimSuffix(m, "/"), nil
	}
	files := []string{"/etc/apt/sources.list"}
	for _, pat := range []string{"/etc/apt/sources.list.d/*.list", "/etc/apt/sources.list.d/*.sources"} {
		m, _ := filepath.Glob(pat)
		files = append(files, m...)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var entries []sourceEntry
		if strings.HasSuffix(f, ".sources") {
			entries = parseDeb822Sources(string(b))
		} else {
			entries = parseOneLineSources(string(b))
		}
		for _, e := range entries {
			if e.matches(suites) {
				return strings.TrimSuffix(e.uri, "/"), nil
			}
		}
	}
	return "", fmt.Errorf("no Debian archive (a deb entry for %s with component main) in /etc/apt/sources.list or sources.list.d; set %s",
		strings.Join(suites, " or "), mirrorEnv)
}

// hostCodename is this machine's Debian release (bookworm), whose entry in
// the apt configuration names the archive; "" when unknown.
func hostCodename() string {
	b, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return ""
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "VERSION_CODENAME="); ok {
			return strings.Trim(v, `"'`)
		}
	}
	return ""
}

// sourceEntry is one URI of an apt source with its suites and components.
type sourceEntry struct {
	uri                string
	suites, components []string
}

// matches says whether the entry serves Debian's main archive: component main
// and one of the given suites (a security or third-party entry does not name
// a plain release suite such as "bookworm").
func (e sourceEntry) matches(suites []string) bool {
	if !slices.Contains(e.components, "main") {
		return false
	}
	for _, s := range e.suites {
		if slices.Contains(suites, s) {
			return true
		}
	}
	return false
}

// parseOneLineSources reads the classic format:
// deb [options] uri suite component...
func parseOneLineSources(text string) []sourceEntry {
	var out []sourceEntry
	for line := range strings.Lines(text) {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) < 3 || f[0] != "deb" {
			continue
		}
		f = f[1:]
		if strings.HasPrefix(f[0], "[") {
			// Options may hold spaces: skip to the field that closes them.
			for len(f) > 0 && !strings.HasSuffix(f[0], "]") {
				f = f[1:]
			}
			if len(f) > 0 {
				f = f[1:]
			}
		}
		if len(f) < 3 {
			continue
		}
		out = append(out, sourceEntry{uri: f[0], suites: f[1:2], components: f[2:]})
	}
	return out
}

// parseDeb822Sources reads the .sources format: stanzas of "Field: value"
// separated by blank lines, one entry per URI.
func parseDeb822Sources(text string) []sourceEntry {
	var out []sourceEntry
	for _, stanza := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n\n") {
		fields := map[string]string{}
		last := ""
		for line := range strings.Lines(stanza) {
			line = strings.TrimRight(line, "\n")
			if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
				continue
			}
			if line[0] == ' ' || line[0] == '\t' { // a continuation line
				if last != "" {
					fields[last] += " " + strings.TrimSpace(line)
				}
				continue
			}
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			last = strings.ToLower(strings.TrimSpace(k))
			fields[last] = strings.TrimSpace(v)
		}
		if !slices.Contains(strings.Fields(fields["types"]), "deb") || strings.EqualFold(fields["enabled"], "no") {
			continue
		}
		for _, uri := range strings.Fields(fields["uris"]) {
			out = append(out, sourceEntry{uri: uri, suites: strings.Fields(fields["suites"]), components: strings.Fields(fields["components"])})
		}
	}
	return out
}

// newAPT writes the sources list of suites. A suite whose arches (Debian's
// names) include one other than nativeArch is read for those architectures
// too, and only that suite: arm64's package list of a suite is ~9 MB.
func newAPT(dir, mirror string, suites []string, arches map[string][]string) (*apt, error) {
	a := &apt{dir: dir, mirror: mirror}
	for _, d := range []string{"lists/partial", "cache/archives/partial"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	var b strings.Builder
	for _, s := range suites {
		fmt.Fprintf(&b, "deb [signed-by=%s%s] %s %s main\n", debianKeyring, a.archOption(arches[s]), mirror, s)
	}
	if err := os.WriteFile(filepath.Join(dir, "sources.list"), []byte(b.String()), 0o644); err != nil {
		return nil, err
	}
	return a, nil
}

// archOption is the sources-list option for a suite read for arches, and
// records the foreign ones: "" when only nativeArch is, as before arm64.
func (a *apt) archOption(arches []string) string {
	all := []string{nativeArch}
	for _, ar := range arches {
		if !slices.Contains(all, ar) {
			all = append(all, ar)
			if !slices.Contains(a.foreign, ar) {
				a.foreign = append(a.foreign, ar)
			}
		}
	}
	if len(all) == 1 {
		return ""
	}
	return " arch=" + strings.Join(all, ",")
}

// opts point apt at our own sources and state. The sandbox user is root
// because apt's _apt user cannot write into a cache under root's home.
func (a *apt) opts() []string {
	var foreign []string
	for _, ar := range a.foreign {
		foreign = append(foreign, "-o", "APT::Architectures::="+ar)
	}
	return append(foreign,
		"-q", "-o", "Dir::Etc::sourcelist="+filepath.Join(a.dir, "sources.list"),
		"-o", "Dir::Etc::sourceparts=-",
		"-o", "Dir::State::Lists="+filepath.Join(a.dir, "lists"),
		"-o", "Dir::Cache="+filepath.Join(a.dir, "cache"),
		"-o", "APT::Sandbox::User=root",
		// Only the package lists: no translations, no AppStream metadata.
		"-o", "Acquire::Languages=none",
		"-o", "Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false",
		"-o", "Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false",
		"-o", "Acquire::IndexTargets::deb::DEP-11-icons-hidpi::DefaultEnabled=false",
	)
}

func (a *apt) run(ctx context.Context, dir, tool string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, tool, append(a.opts(), args...)...)
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s %s: %w: %s", tool, strings.Join(args, " "), err, devtool.Tail([]byte(stderr.String()), 5))
	}
	return out, nil
}

func (a *apt) update(ctx context.Context) error {
	_, err := a.run(ctx, a.dir, "apt-get", "update")
	return err
}

// debPackage is one version of a binary package in one suite, for one
// architecture (Debian's name; an arch-all package has the native one, as
// apt-cache madison says).
type debPackage struct {
	name, version, suite, arch string
}

// stem is the start of the name apt-get download gives the .deb, before the
// architecture: the epoch's colon is written %3a.
func (p debPackage) stem() string {
	return p.name + "_" + strings.ReplaceAll(p.version, ":", "%3a")
}

// file is the .deb's name (arch-all ones end _all.deb, not _amd64.deb).
func (p debPackage) file() string {
	return p.stem() + "_" + p.arch + ".deb"
}

// aptName is the package's name for apt: a foreign architecture's is
// qualified, name:arm64.
func (p debPackage) aptName() string {
	return qualified(p.name, p.arch)
}

func qualified(name, arch string) string {
	if arch == nativeArch {
		return name
	}
	return name + ":" + arch
}

// resolve finds the newest package of arch in suite whose name matches re:
// Debian names each kernel ABI as its own package
// (linux-image-6.1.0-50-amd64), so the newest is chosen by version among the
// names that match.
func (a *apt) resolve(ctx context.Context, re *regexp.Regexp, suite, arch string) (debPackage, error) {
	prefix, _ := re.LiteralPrefix()
	out, err := a.run(ctx, a.dir, "apt-cache", "pkgnames", prefix)
	if err != nil {
		return debPackage{}, err
	}
	var names []string
	for n := range strings.FieldsSeq(string(out)) {
		if re.MatchString(n) {
			names = append(names, qualified(n, arch))
		}
	}
	if len(names) == 0 {
		return debPackage{}, fmt.Errorf("no package matches %s in the package lists", re)
	}
	out, err = a.run(ctx, a.dir, "apt-cache", append([]string{"madison"}, names...)...)
	if err != nil {
		return debPackage{}, err
	}
	best := debPackage{}
	for _, p := range parseMadison(string(out)) {
		if p.suite != suite || p.arch != arch {
			continue
		}
		if best.name == "" || versionGreater(ctx, p.version, best.version) {
			best = p
		}
	}
	if best.name == "" {
		return debPackage{}, fmt.Errorf("no %s package matching %s in suite %s (found %s elsewhere)", arch, re, suite, strings.Join(names, ", "))
	}
	return best, nil
}

// parseMadison reads apt-cache madison's lines,
// "name | version | uri suite/component arch Packages", and keeps the binary
// packages. A foreign architecture's name, name:arm64, loses its qualifier.
func parseMadison(text string) []debPackage {
	var out []debPackage
	for line := range strings.Lines(text) {
		f := strings.Split(line, "|")
		if len(f) != 3 {
			continue
		}
		src := strings.Fields(f[2])
		if len(src) < 4 || !strings.HasSuffix(strings.TrimSpace(f[2]), "Packages") {
			continue
		}
		suite, _, _ := strings.Cut(src[1], "/")
		name, _, _ := strings.Cut(strings.TrimSpace(f[0]), ":")
		out = append(out, debPackage{name: name, version: strings.TrimSpace(f[1]), suite: suite, arch: src[2]})
	}
	return out
}

// versionGreater compares Debian versions with dpkg, which owns their rules
// (epochs, ~, +bpo).
func versionGreater(ctx context.Context, a, b string) bool {
	return exec.CommandContext(ctx, "dpkg", "--compare-versions", a, "gt", b).Run() == nil
}

// download fetches p into dir unless it is there already, and returns the
// .deb's path.
func (a *apt) download(ctx context.Context, p debPackage, dir string) (string, error) {
	// busybox-static_V_amd64.deb and _arm64.deb share a stem: the
	// architecture is the package's, or all.
	find := func() string {
		for _, f := range []string{p.file(), p.stem() + "_all.deb"} {
			if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
				return filepath.Join(dir, f)
			}
		}
		return ""
	}
	if path := find(); path != "" {
		return path, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if _, err := a.run(ctx, dir, "apt-get", "download", p.aptName()+"="+p.version); err != nil {
		return "", err
	}
	if path := find(); path != "" {
		return path, nil
	}
	return "", fmt.Errorf("apt-get download %s=%s wrote no %s", p.aptName(), p.version, p.file())
}

// extractFromDeb copies the files of deb whose paths (as "./boot/...") match
// want into dir, flat. It reads the data archive through dpkg-deb, which
// knows every compression a .deb may use, and stops as soon as it has them
// all: a generic kernel's modules, after /boot, are hundreds of megabytes.
func extractFromDeb(ctx context.Context, deb, dir string, want ...string) error {
	cmd := exec.CommandContext(ctx, "dpkg-deb", "--fsys-tarfile", deb)
	cmd.WaitDelay = 5 * time.Second
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	found, err := extractFromTar(bufio.NewReader(pipe), dir, want)
	// Closing our end makes dpkg-deb's decompressor, which may still be
	// writing the rest, fail with EPIPE, and dpkg-deb with it. Killing
	// dpkg-deb instead would leave its child holding stderr open.
	pipe.Close()
	werr := cmd.Wait()
	if err != nil {
		return fmt.Errorf("%s: %w", filepath.Base(deb), err)
	}
	if len(found) < len(want) {
		return fmt.Errorf("%s: found %d of %s (dpkg-deb: %v %s)", filepath.Base(deb), len(found), strings.Join(want, ", "), werr, stderr.String())
	}
	return nil
}

// extractFromTar is extractFromDeb's reading of the archive; it returns the
// new paths of the files it found by the pattern that matched.
func extractFromTar(r io.Reader, dir string, want []string) (map[string]string, error) {
	found := map[string]string{}
	tr := tar.NewReader(r)
	for len(found) < len(want) {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return found, err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		for _, pat := range want {
			if ok, _ := filepath.Match(pat, h.Name); !ok || found[pat] != "" {
				continue
			}
			dst := filepath.Join(dir, filepath.Base(h.Name))
			if err := writeFileFrom(dst, tr, 0o755); err != nil {
				return found, err
			}
			found[pat] = dst
		}
	}
	return found, nil
}

// writeFileFrom writes r to path through a temporary name, so that an
// interrupted run never leaves a partial file in the cache.
func writeFileFrom(path string, r io.Reader, mode os.FileMode) error {
	tmp := path + ".part"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}
