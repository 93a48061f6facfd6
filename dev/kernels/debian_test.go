package main

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// Hosts in these tests are made up (.invalid): the project names no
// registry host.
const deb822 = `Types: deb
# a comment inside the stanza
URIs: http://mirror.invalid/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.invalid/debian-security
Suites: bookworm-security
Components: main

Types: deb-src
URIs: http://src.invalid/debian
Suites: bookworm
Components: main
`

func TestMirrorIsTheMainArchiveOfTheAPTConfiguration(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries []sourceEntry
		want    string
	}{
		{"deb822: the release entry, not security or deb-src", parseDeb822Sources(deb822), "http://mirror.invalid/debian"},
		{"deb822: a disabled stanza is skipped", parseDeb822Sources("Types: deb\nEnabled: no\nURIs: http://off.invalid/debian\nSuites: bookworm\nComponents: main\n\n" + deb822), "http://mirror.invalid/debian"},
		{"deb822: a continued URIs field", parseDeb822Sources("Types: deb\nURIs:\n http://a.invalid/debian\nSuites: bookworm\nComponents: main contrib\n"), "http://a.invalid/debian"},
		{"one-line with options", parseOneLineSources("# deb http://old.invalid/debian bookworm main\ndeb http://sec.invalid/debian-security bookworm-security main\ndeb [arch=amd64 signed-by=/k.gpg] http://one.invalid/debian/ bookworm main non-free\n"), "http://one.invalid/debian/"},
		{"a third-party repo with another suite is not Debian", parseOneLineSources("deb http://vendor.invalid/apt cloud-sdk-bookworm main\n"), ""},
	} {
		got := ""
		for _, e := range tc.entries {
			if e.matches([]string{"bookworm", "bullseye"}) {
				got = e.uri
				break
			}
		}
		if got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestMirrorEnvOverridesTheAPTConfiguration(t *testing.T) {
	t.Setenv(mirrorEnv, "http://override.invalid/debian/")
	if m, err := mirrorFromAPT([]string{"bookworm"}); err != nil || m != "http://override.invalid/debian" {
		t.Errorf("got %q, %v", m, err)
	}
}

func TestMadisonLinesGiveNameVersionAndSuite(t *testing.T) {
	out := ` linux-image-6.1.0-50-amd64 |  6.1.176-1 | http://mirror.invalid/debian bookworm/main amd64 Packages
linux-image-6.12.95+deb12-cloud-amd64 | 6.12.95-1~bpo12+1 | http://mirror.invalid/debian bookworm-backports/main amd64 Packages
     linux | 6.1.176-1 | http://mirror.invalid/debian bookworm/main Sources
linux-image-6.12.95+deb12-arm64:arm64 | 6.12.95-1~bpo12+1 | http://mirror.invalid/debian bookworm-backports/main arm64 Packages
busybox-static:arm64 | 1:1.35.0-4+deb12u1+b1 | http://mirror.invalid/debian bookworm/main arm64 Packages
`
	want := []debPackage{
		{"linux-image-6.1.0-50-amd64", "6.1.176-1", "bookworm", "amd64"},
		{"linux-image-6.12.95+deb12-cloud-amd64", "6.12.95-1~bpo12+1", "bookworm-backports", "amd64"},
		{"linux-image-6.12.95+deb12-arm64", "6.12.95-1~bpo12+1", "bookworm-backports", "arm64"},
		{"busybox-static", "1:1.35.0-4+deb12u1+b1", "bookworm", "arm64"},
	}
	if got := parseMadison(out); !slices.Equal(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestDebFileNameIsWhatAptGetDownloadWrites(t *testing.T) {
	for _, tc := range []struct {
		p             debPackage
		want, aptName string
	}{
		{debPackage{name: "linux-image-6.1.0-50-amd64", version: "6.1.176-1", arch: "amd64"}, "linux-image-6.1.0-50-amd64_6.1.176-1_amd64.deb", "linux-image-6.1.0-50-amd64"},
		{debPackage{name: "busybox-static", version: "1:1.35.0-4+b4", arch: "amd64"}, "busybox-static_1%3a1.35.0-4+b4_amd64.deb", "busybox-static"},
		{debPackage{name: "busybox-static", version: "1:1.35.0-4+b4", arch: "arm64"}, "busybox-static_1%3a1.35.0-4+b4_arm64.deb", "busybox-static:arm64"},
		{debPackage{name: "linux-image-6.12.95+deb12-arm64", version: "6.12.95-1~bpo12+1", arch: "arm64"},
			"linux-image-6.12.95+deb12-arm64_6.12.95-1~bpo12+1_arm64.deb", "linux-image-6.12.95+deb12-arm64:arm64"},
	} {
		if got := tc.p.file(); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.p.name, got, tc.want)
		}
		if got := tc.p.aptName(); got != tc.aptName {
			t.Errorf("%s: apt name %q, want %q", tc.p.name, got, tc.aptName)
		}
	}
}

// An x86-only run's sources list is as before arm64; an arm64 kernel adds
// arm64 to its suite and busybox's, and nowhere else.
func TestSourcesListReadsArm64OnlyForTheSuitesThatNeedIt(t *testing.T) {
	dir := t.TempDir()
	a, err := newAPT(dir, "http://m.invalid/debian", []string{"bookworm", "bullseye"}, map[string][]string{"bookworm": {"amd64"}, "bullseye": {"amd64"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "sources.list"))
	if want := "deb [signed-by=" + debianKeyring + "] http://m.invalid/debian bookworm main\n" +
		"deb [signed-by=" + debianKeyring + "] http://m.invalid/debian bullseye main\n"; string(b) != want {
		t.Errorf("x86 only:\n%s\nwant\n%s", b, want)
	}
	if strings.Contains(strings.Join(a.opts(), " "), "Architectures") {
		t.Errorf("x86 only: %q", a.opts())
	}

	a, err = newAPT(dir, "http://m.invalid/debian", []string{"bookworm", "bookworm-backports", "bullseye"},
		map[string][]string{"bookworm": {"amd64", "arm64"}, "bookworm-backports": {"amd64", "arm64"}, "bullseye": {"amd64"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(filepath.Join(dir, "sources.list"))
	if want := "deb [signed-by=" + debianKeyring + " arch=amd64,arm64] http://m.invalid/debian bookworm main\n" +
		"deb [signed-by=" + debianKeyring + " arch=amd64,arm64] http://m.invalid/debian bookworm-backports main\n" +
		"deb [signed-by=" + debianKeyring + "] http://m.invalid/debian bullseye main\n"; string(b) != want {
		t.Errorf("with arm64:\n%s\nwant\n%s", b, want)
	}
	if opts := strings.Join(a.opts(), " "); strings.Count(opts, "APT::Architectures::=arm64") != 1 {
		t.Errorf("with arm64: %s", opts)
	}
}

// The cache keeps the files of the version in use, whatever their
// architecture, and removes only older versions of the same package.
func TestPruneCacheRemovesOnlyOlderVersionsOfThePackage(t *testing.T) {
	cache := t.TempDir()
	files := []string{
		"debs/seabios_1.16.2-1_all.deb", "debs/seabios_1.16.3-2~bpo12+1_all.deb", "debs/seabios-extra_1.0_all.deb",
		"debs/busybox-static_1%3a1.35.0-4_amd64.deb",
		"boot/seabios_1.16.2-1_all/bios.bin", "boot/seabios_1.16.3-2~bpo12+1_all/bios.bin",
	}
	for _, f := range files {
		p := filepath.Join(cache, f)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, nil, 0o644)
	}
	pruneCache(cache, regexp.MustCompile(`^seabios$`), debPackage{name: "seabios", version: "1.16.3-2~bpo12+1"})
	for _, f := range files {
		_, err := os.Stat(filepath.Join(cache, f))
		if gone, want := err != nil, strings.Contains(f, "1.16.2"); gone != want {
			t.Errorf("%s: removed %v, want %v", f, gone, want)
		}
	}
}

// Each kernel's pattern picks its own flavour and version, and no other:
// the generic 6.1 must not take the cloud, rt or 6.12 packages.
func TestKernelPatternsMatchOnlyTheirFlavour(t *testing.T) {
	names := []string{
		"linux-image-5.10.0-32-amd64", "linux-image-5.10.0-32-cloud-amd64", "linux-image-5.10.0-32-rt-amd64",
		"linux-image-6.1.0-50-amd64", "linux-image-6.1.0-50-cloud-amd64", "linux-image-6.1.0-50-rt-amd64", "linux-image-6.1.0-50-amd64-dbg",
		"linux-image-6.12.95+deb12-amd64", "linux-image-6.12.95+deb12-cloud-amd64", "linux-image-6.12.90+deb12.1-cloud-amd64",
		"linux-image-cloud-amd64", "linux-image-amd64",
		"linux-image-6.12.95+deb12-arm64", "linux-image-6.12.90+deb12.1-arm64", "linux-image-6.12.95+deb12-arm64-16k",
		"linux-image-6.12.95+deb12-cloud-arm64", "linux-image-6.12.95+deb12-rt-arm64", "linux-image-6.12.95+deb12-arm64-dbg", "linux-image-arm64",
	}
	want := map[string][]string{
		"bullseye-5.10-cloud": {"linux-image-5.10.0-32-cloud-amd64"},
		"bookworm-6.1":        {"linux-image-6.1.0-50-amd64"},
		"bookworm-6.1-cloud":  {"linux-image-6.1.0-50-cloud-amd64"},
		"bookworm-6.12-cloud": {"linux-image-6.12.95+deb12-cloud-amd64", "linux-image-6.12.90+deb12.1-cloud-amd64"},
		"bookworm-6.12-arm64": {"linux-image-6.12.95+deb12-arm64", "linux-image-6.12.90+deb12.1-arm64"},
	}
	for _, k := range kernelTable {
		var got []string
		for _, n := range names {
			if k.pkg.MatchString(n) {
				got = append(got, n)
			}
		}
		if !slices.Equal(got, want[k.name]) {
			t.Errorf("%s matches %q, want %q", k.name, got, want[k.name])
		}
		if p, _ := k.pkg.LiteralPrefix(); len(p) < len("linux-image-") {
			t.Errorf("%s: literal prefix %q is too short for apt-cache pkgnames", k.name, p)
		}
		// The package's architecture is the kernel's.
		if k.arch == nil || !strings.HasSuffix(k.pkg.String(), "-"+k.arch.deb+"$") {
			t.Errorf("%s: pattern %s, arch %v", k.name, k.pkg, k.arch)
		}
	}
}

func TestSelectKernelsKeepsTheOrderGivenAndRefusesUnknownNames(t *testing.T) {
	ks, err := selectKernels([]string{"bookworm-6.12-cloud", "bullseye-5.10-cloud"})
	if err != nil || len(ks) != 2 || ks[0].name != "bookworm-6.12-cloud" || ks[1].name != "bullseye-5.10-cloud" {
		t.Errorf("got %v, %v", ks, err)
	}
	if _, err := selectKernels([]string{"bookworm-6.1", "sid-9.9"}); err == nil {
		t.Error("an unknown kernel was accepted")
	}
	if ks, _ := selectKernels(nil); len(ks) != len(kernelTable) {
		t.Errorf("no names gave %d kernels, want all %d", len(ks), len(kernelTable))
	}
}

// Rung 4 (kprobes) is attached by the Go loader on x86 only.
func TestArm64KernelsRunEveryRungButTheKprobes(t *testing.T) {
	for _, k := range kernelTable {
		want := "1,2,3,4,3old,4old"
		if k.arch == arm64 {
			want = "1,2,3,3old"
		}
		if got := vmEnv(k, nil)["TLMON_RUNGS"]; got != want {
			t.Errorf("%s: TLMON_RUNGS=%s, want %s", k.name, got, want)
		}
	}
}

func TestVMEnvLayersKernelAndFlagVariablesOverTheDefaults(t *testing.T) {
	k := kernelSpec{name: "bookworm-6.1", env: map[string]string{"TLMON_RUNGS": "1,2", "X": "kernel"}}
	env := vmEnv(k, map[string]string{"X": "flag"})
	for name, want := range map[string]string{
		"TLMON_REQUIRE_BPF": "1", "TLMON_IN_VM": "1", "TLMON_KERNEL": "bookworm-6.1",
		"TLMON_WORKLOAD": "/bin/workload", "TLMON_RUNGS": "1,2", "X": "flag",
	} {
		if env[name] != want {
			t.Errorf("%s = %q, want %q", name, env[name], want)
		}
	}
}

func TestParseConfigReadsSetUnsetAndModules(t *testing.T) {
	c := parseConfig("#\n# comment\nCONFIG_BPF_SYSCALL=y\n# CONFIG_KPROBES is not set\nCONFIG_X=m\nCONFIG_S=\"str\"\n")
	want := map[string]string{"CONFIG_BPF_SYSCALL": "y", "CONFIG_KPROBES": "n", "CONFIG_X": "m", "CONFIG_S": `"str"`}
	for k, v := range want {
		if c[k] != v {
			t.Errorf("%s = %q, want %q", k, c[k], v)
		}
	}
	if len(c) != len(want) {
		t.Errorf("read %d options: %v", len(c), c)
	}
}

func TestExtractFromTarTakesTheWantedFilesAndStops(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct{ name, data string }{
		{"./boot/System.map-6.1.0-50-amd64", "map"},
		{"./boot/config-6.1.0-50-amd64", "CONFIG_BPF_SYSCALL=y\n"},
		{"./boot/vmlinuz-6.1.0-50-amd64", "bzimage"},
		{"./lib/modules/x.ko", "module"},
	} {
		tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)})
		tw.Write([]byte(f.data))
	}
	tw.Close()
	dir := t.TempDir()
	got, err := extractFromTar(&buf, dir, []string{"./boot/vmlinuz-*", "./boot/config-*"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("found %v", got)
	}
	if b, _ := os.ReadFile(got["./boot/vmlinuz-*"]); string(b) != "bzimage" {
		t.Errorf("vmlinuz holds %q", b)
	}
	if _, err := os.Stat(filepath.Join(dir, "x.ko")); err == nil {
		t.Error("read past the files it wanted")
	}
	if buf.Len() == 0 {
		t.Error("read the whole archive: it should stop once it has what it wants")
	}
}

func TestTestTimeoutLeavesTimeForTheTestsOwnPanic(t *testing.T) {
	for _, vm := range []time.Duration{time.Minute, 6 * time.Minute, 20 * time.Minute} {
		if tt := testTimeout(vm); tt >= vm || tt < vm/2 {
			t.Errorf("VM %v: test timeout %v", vm, tt)
		}
	}
}
