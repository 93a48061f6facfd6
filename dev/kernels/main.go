// Command kernels runs the project's BPF tests inside Debian's own kernels,
// each booted under qemu:
//
//	go run ./dev/kernels [-kernels LIST] [-pkgs LIST] [-run REGEXP] [-env K=V] [-timeout 6m] [-jobs 2] [-qemu PATH] [-keep] [-v]
//
// It downloads each kernel's package from the Debian archive this machine's
// apt uses (the host is read from /etc/apt, never written into the project),
// decompresses its vmlinux once and caches both, builds the test binaries of
// the given packages and the workload command once, statically, and boots
// every kernel with an initramfs holding them, busybox and an init that mounts
// what BPF needs, runs the tests and prints one result line. qemu, like the
// kernels and busybox, comes out of its packages (bookworm-backports' 10.0:
// see qemuPackages for why not bookworm's). It prints a
// table of the results and exits non-zero if any kernel failed, printed no
// result, or hung.
//
// The flags are the standard library's, as in ../bench, so they read as
// written in the issue: -kernels, -run.
//
// See README.md next to this file.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"tlmon/dev/internal/devtool"
)

// kernelSpec is one kernel of the matrix.
type kernelSpec struct {
	name  string         // TLMON_KERNEL inside the VM
	suite string         // the Debian suite it comes from
	pkg   *regexp.Regexp // its package names: the newest match in suite is used
	arch  *archSpec
	env   map[string]string
}

// archSpec is what differs between the kernels' architectures: their
// packages, the test binaries' GOARCH, the qemu that boots them and how.
type archSpec struct {
	deb    string // Debian's name, the .debs' suffix: amd64, arm64
	goarch string
	// qemuPackages are the packages of its qemu, from qemuSuite; the first
	// holds qemuBinary.
	qemuPackages []string
	qemuBinary   string
	machine      []string // qemu's machine, CPU and accelerator
	cmdline      string   // the kernel's command line
	// bzImage: the package's vmlinuz is an x86 bzImage, whose vmlinux is
	// taken out to boot through its PVH note. Otherwise (arm64) it is an
	// Image, maybe gzip'd, which qemu's -kernel loads as it is.
	bzImage bool
	config  []string // the options of configOptions only this architecture has
}

var (
	// amd64: see qemuPackages and qemu.args for why these.
	amd64 = &archSpec{
		deb: "amd64", goarch: "amd64",
		qemuPackages: []string{"qemu-system-x86", "qemu-system-data", "seabios"},
		qemuBinary:   "usr/bin/qemu-system-x86_64",
		machine:      []string{"-accel", "tcg,thread=single", "-M", "pc", "-cpu", "max"},
		cmdline:      "console=ttyS0 reboot=t panic=-1 quiet",
		bzImage:      true,
		config:       []string{"CONFIG_SERIAL_8250_CONSOLE", "CONFIG_PVH"},
	}
	// arm64: qemu's virt machine; its PL011 UART is ttyAMA0, and the
	// reboot (and the panic, at once) is a PSCI reset, which -no-reboot
	// turns into qemu's exit. pauth-impdef: Debian's kernel signs its
	// return addresses (CONFIG_ARM64_PTR_AUTH_KERNEL), and qemu's own
	// signature algorithm is much cheaper under TCG than the architected
	// QARMA5 (qemu's documentation advises it for speed; here the tests
	// took 161 and 149 s with it, 182 s without, on a shared host);
	// the kernel signs and checks with whichever algorithm the CPU has.
	arm64 = &archSpec{
		deb: "arm64", goarch: "arm64",
		qemuPackages: []string{"qemu-system-arm", "qemu-system-data"},
		qemuBinary:   "usr/bin/qemu-system-aarch64",
		machine:      []string{"-accel", "tcg,thread=single", "-M", "virt", "-cpu", "max,pauth-impdef=on"},
		cmdline:      "console=ttyAMA0 panic=-1 quiet",
		config:       []string{"CONFIG_SERIAL_AMBA_PL011_CONSOLE"},
	}
)

// kernelTable is the matrix, oldest first. Each Debian ABI bump is a new
// package name, so a kernel is named by a pattern and the newest version in
// its suite wins. env holds variables for that kernel's tests only, on top
// of those every VM gets (see vmEnv).
var kernelTable = []kernelSpec{
	{name: "bullseye-5.10-cloud", suite: "bullseye", pkg: regexp.MustCompile(`^linux-image-5\.10\.0-\d+-cloud-amd64$`), arch: amd64, env: everyRung},
	{name: "bookworm-6.1", suite: "bookworm", pkg: regexp.MustCompile(`^linux-image-6\.1\.0-\d+-amd64$`), arch: amd64, env: everyRung},
	{name: "bookworm-6.1-cloud", suite: "bookworm", pkg: regexp.MustCompile(`^linux-image-6\.1\.0-\d+-cloud-amd64$`), arch: amd64, env: everyRung},
	{name: "bookworm-6.12-cloud", suite: "bookworm-backports", pkg: regexp.MustCompile(`^linux-image-6\.12\.\d+\+deb12(\.\d+)?-cloud-amd64$`), arch: amd64, env: everyRung},
	{name: "bookworm-6.12-arm64", suite: "bookworm-backports", pkg: regexp.MustCompile(`^linux-image-6\.12\.\d+\+deb12(\.\d+)?-arm64$`), arch: arm64, env: arm64Rungs},
}

// everyRung proves all four rungs: every kernel of the matrix has kprobes
// and the syscall tracepoints (no 4.x kernel is reachable to boot).
var everyRung = map[string]string{"TLMON_RUNGS": "1,2,3,4,3old,4old"}

// arm64Rungs leaves out rung 4: the Go loader attaches kprobes on x86 only.
var arm64Rungs = map[string]string{"TLMON_RUNGS": "1,2,3,3old"}

// busyboxSpec is the shell and tools of the initramfs: the static build,
// taken from its package rather than installed, since busybox-static
// conflicts with the busybox package a machine may have.
// Each architecture's busybox is this spec with its arch.
var busyboxSpec = kernelSpec{name: "busybox-static", suite: "bookworm", pkg: regexp.MustCompile(`^busybox-static$`)}

// configOptions are what the tests need built in: the initramfs has no
// modules. The summary shows each kernel's value of these and of its
// architecture's own (archSpec.config).
var configOptions = []string{
	"CONFIG_BPF_SYSCALL", "CONFIG_BPF_JIT", "CONFIG_BPF_EVENTS", "CONFIG_KPROBES", "CONFIG_KPROBE_EVENTS",
	"CONFIG_FTRACE_SYSCALLS", "CONFIG_DEBUG_INFO_BTF", "CONFIG_DEVTMPFS",
}

// hostTools are the commands the run needs and the packages that have them.
var hostTools = [][2]string{
	{"dpkg-deb", "dpkg"}, {"apt-get", "apt"},
	{"xz", "xz-utils"}, {"lz4", "lz4"}, {"zstd", "zstd"}, {"gzip", "gzip"},
}

type options struct {
	kernels []kernelSpec
	pkgs    []string
	run     string
	env     map[string]string
	timeout time.Duration
	jobs    int
	keep    bool
	echo    bool
	cache   string
	logs    string
	qemu    string
}

// envList is a repeatable -env K=V flag.
type envList map[string]string

func (e envList) String() string { return fmt.Sprint(map[string]string(e)) }
func (e envList) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("%q is not NAME=value", s)
	}
	e[k] = v
	return nil
}

func main() {
	o := options{env: map[string]string{}}
	var kernelList, pkgList string
	names := make([]string, len(kernelTable))
	for i, k := range kernelTable {
		names[i] = k.name
	}
	flag.StringVar(&kernelList, "kernels", "", "comma list of kernels (default all: "+strings.Join(names, ",")+")")
	flag.StringVar(&pkgList, "pkgs", "./bpf/,./replay/", "comma list of Go packages whose tests run in every kernel (replay's: a recording of amd64 replayed on arm64)")
	flag.StringVar(&o.run, "run", "", "run only the tests matching this regexp (go test -run)")
	flag.Var(envList(o.env), "env", "NAME=value for the tests in every kernel; repeatable")
	flag.DurationVar(&o.timeout, "timeout", 6*time.Minute, "how long one VM may take, boot to power-off, before it is killed and fails")
	flag.IntVar(&o.jobs, "jobs", 2, "VMs run at once (each on one host thread)")
	flag.BoolVar(&o.keep, "keep", false, "keep the work dir (test binaries, initramfs images) and print its path")
	flag.BoolVar(&o.echo, "v", false, "echo every VM's console as it runs")
	flag.StringVar(&o.cache, "cache", "", "kernel cache (default $TLMON_KERNEL_CACHE, else $XDG_CACHE_HOME/tlmon/kernels, else ~/.cache/tlmon/kernels)")
	flag.StringVar(&o.qemu, "qemu", "", "a qemu-system-x86_64 for the x86 kernels instead of bookworm-backports' qemu (e.g. /usr/bin/qemu-system-x86_64; bookworm's 7.2 crashes 6.12)")
	flag.StringVar(&o.logs, "logs", filepath.Join(os.TempDir(), "tlmon-kernels-logs"), "where each VM's console log is written (emptied first)")
	flag.Parse()
	if flag.NArg() > 0 || o.timeout <= 0 || o.jobs < 1 {
		flag.Usage()
		os.Exit(2)
	}
	var err error
	if o.kernels, err = selectKernels(devtool.SplitList(kernelList)); err == nil {
		o.pkgs = devtool.SplitList(pkgList)
		if len(o.pkgs) == 0 {
			err = errors.New("-pkgs is empty")
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "kernels: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintf(os.Stderr, "kernels: %v\n", err)
		os.Exit(1)
	}
}

func selectKernels(names []string) ([]kernelSpec, error) {
	if len(names) == 0 {
		return kernelTable, nil
	}
	var out []kernelSpec
	for _, n := range names {
		i := slices.IndexFunc(kernelTable, func(k kernelSpec) bool { return k.name == n })
		if i < 0 {
			var have []string
			for _, k := range kernelTable {
				have = append(have, k.name)
			}
			return nil, fmt.Errorf("unknown kernel %q (have %s)", n, strings.Join(have, ", "))
		}
		out = append(out, kernelTable[i])
	}
	return out, nil
}

// kernelImage is a kernel ready to boot.
type kernelImage struct {
	spec   kernelSpec
	deb    debPackage
	boot   string // what qemu's -kernel gets
	how    string // "vmlinux (PVH)" or "bzImage", and the payload's compression
	config map[string]string
}

func run(ctx context.Context, o options) error {
	began := time.Now()
	if err := ensureTools(ctx); err != nil {
		return err
	}
	cache, err := cacheDir(o.cache)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "tlmon-kernels-")
	if err != nil {
		return err
	}
	if o.keep {
		fmt.Printf("kernels: work dir %s (kept)\n", work)
	} else {
		defer os.RemoveAll(work)
	}
	if err := os.RemoveAll(o.logs); err != nil {
		return err
	}
	if err := os.MkdirAll(o.logs, 0o755); err != nil {
		return err
	}

	// The kernels and busybox, from the archive or the cache: the package
	// lists of each suite for the architectures taken from it.
	var arches []*archSpec
	for _, k := range o.kernels {
		if !slices.Contains(arches, k.arch) {
			arches = append(arches, k.arch)
		}
	}
	var suites []string
	suiteArches := map[string][]string{}
	need := func(suite, arch string) {
		if !slices.Contains(suites, suite) {
			suites = append(suites, suite)
		}
		if !slices.Contains(suiteArches[suite], arch) {
			suiteArches[suite] = append(suiteArches[suite], arch)
		}
	}
	for _, ar := range arches {
		need(busyboxSpec.suite, ar.deb)
	}
	for _, ar := range arches {
		if ar != amd64 || o.qemu == "" {
			need(qemuSuite, nativeArch)
		}
	}
	for _, k := range o.kernels {
		need(k.suite, k.arch.deb)
	}
	mirror, err := mirrorFromAPT(append(slices.Clone(suites), hostCodename()))
	if err != nil {
		return err
	}
	a, err := newAPT(filepath.Join(cache, "apt"), mirror, suites, suiteArches)
	if err != nil {
		return err
	}
	fmt.Printf("kernels: cache %s; package lists of %s\n", cache, strings.Join(suites, ", "))
	if err := a.update(ctx); err != nil {
		return err
	}
	// Per architecture: busybox, qemu, and the binaries, built once for
	// all its kernels.
	busybox, qemus := map[*archSpec]string{}, map[*archSpec]qemu{}
	pkgs, workload := map[*archSpec][]vmPackage{}, map[*archSpec]string{}
	for _, ar := range arches {
		if busybox[ar], err = fetchBusybox(ctx, a, cache, ar); err != nil {
			return err
		}
		q := qemu{binary: o.qemu, version: "given with -qemu"}
		if ar != amd64 || o.qemu == "" {
			if q, err = fetchQemu(ctx, a, cache, ar); err != nil {
				return err
			}
		}
		q.arch = ar
		qemus[ar] = q
		fmt.Printf("kernels: qemu %s (%s)\n", q.version, q.binary)
	}
	var images []kernelImage
	for _, k := range o.kernels {
		img, err := fetchKernel(ctx, a, cache, k)
		if err != nil {
			return fmt.Errorf("%s: %w", k.name, err)
		}
		fmt.Printf("kernels: %-20s %s %s, %s\n", k.name, img.deb.name, img.deb.version, img.how)
		images = append(images, img)
	}
	for _, ar := range arches {
		built := time.Now()
		if pkgs[ar], workload[ar], err = buildBinaries(ctx, filepath.Join(work, ar.goarch), o.pkgs, ar.goarch); err != nil {
			return err
		}
		fmt.Printf("kernels: built %s and the workload for %s in %.1fs\n", pkgNames(pkgs[ar]), ar.goarch, time.Since(built).Seconds())
	}

	// One initramfs per kernel (only /init differs), then the VMs.
	testArgs := []string{"-test.v", "-test.count=1", "-test.timeout=" + testTimeout(o.timeout).String()}
	if o.run != "" {
		testArgs = append(testArgs, "-test.run="+o.run)
	}
	runs := make([]*vmRun, len(images))
	logs := make([]string, len(images))
	sem := make(chan struct{}, o.jobs)
	var wg sync.WaitGroup
	for i, img := range images {
		ar := img.spec.arch
		initrd := filepath.Join(work, img.spec.name+".cpio")
		fs := initramfs{busybox: busybox[ar], workload: workload[ar], pkgs: pkgs[ar], init: initScript(pkgs[ar], vmEnv(img.spec, o.env), testArgs)}
		if err := writeInitramfs(initrd, fs); err != nil {
			return err
		}
		logs[i] = filepath.Join(o.logs, img.spec.name+".log")
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if ctx.Err() != nil {
				runs[i] = &vmRun{qemuErr: ctx.Err()}
				return
			}
			fmt.Printf("kernels: %-20s booting\n", img.spec.name)
			q := qemus[ar]
			r := boot(ctx, q, img.spec.name, q.args(img.boot, initrd), logs[i], o.timeout, o.echo)
			runs[i] = r
			verdict := "ok"
			if !r.ok() {
				verdict = "FAILED"
			}
			fmt.Printf("kernels: %-20s %s in %.1fs (log %s)\n", img.spec.name, verdict, r.wall.Seconds(), logs[i])
		}()
	}
	wg.Wait()

	failed := report(os.Stdout, images, runs, logs)
	fmt.Printf("\nkernels: logs in %s; the whole run took %.0fs\n", o.logs, time.Since(began).Seconds())
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d kernels failed", failed, len(images))
	}
	return nil
}

// testTimeout leaves the test binary time to print its own timeout panic,
// with every goroutine's stack, before the VM is killed.
func testTimeout(vm time.Duration) time.Duration {
	return max(vm-90*time.Second, vm*2/3)
}

// vmEnv is the environment of the tests in kernel k: the project's switches
// that turn a skipped BPF test into a failure, where the VM is, the kernel's
// own variables, then those of -env.
func vmEnv(k kernelSpec, extra map[string]string) map[string]string {
	env := map[string]string{
		"TLMON_REQUIRE_BPF": "1",
		"TLMON_IN_VM":       "1",
		"TLMON_KERNEL":      k.name,
		"TLMON_WORKLOAD":    "/bin/workload",
		"HOME":              "/tmp",
		"TMPDIR":            "/tmp",
	}
	maps.Copy(env, k.env)
	maps.Copy(env, extra)
	return env
}

func writeInitramfs(path string, fs initramfs) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := fs.write(f); err != nil {
		f.Close()
		return fmt.Errorf("initramfs %s: %w", path, err)
	}
	return f.Close()
}

// cacheDir is where kernels are kept between runs; CI keeps it when it can.
func cacheDir(flagValue string) (string, error) {
	dir := flagValue
	if dir == "" {
		dir = os.Getenv("TLMON_KERNEL_CACHE")
	}
	if dir == "" {
		base, err := os.UserCacheDir() // $XDG_CACHE_HOME, else ~/.cache
		if err != nil {
			return "", fmt.Errorf("no cache dir: %w (set TLMON_KERNEL_CACHE)", err)
		}
		dir = filepath.Join(base, "tlmon", "kernels")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	return dir, os.MkdirAll(dir, 0o755)
}

// ensureTools installs, with apt-get, the packages of the host tools that are
// missing. The program does it, not the Makefile, so `go run ./dev/kernels` works
// on its own.
func ensureTools(ctx context.Context) error {
	var missing []string
	for _, t := range hostTools {
		if _, err := exec.LookPath(t[0]); err != nil {
			missing = append(missing, t[1])
		}
	}
	return devtool.AptInstall(ctx, "kernels", missing...)
}

// fetchDeb resolves spec to its newest package of spec.arch and returns it
// with its folder in the cache, cache/boot/<stem>_<arch>. Unless the folder
// holds a file matching done already, it downloads the package and copies the
// files of want into it. Older versions of spec's packages are removed from
// the cache.
func fetchDeb(ctx context.Context, a *apt, cache string, spec kernelSpec, done string, want ...string) (debPackage, string, error) {
	p, err := a.resolve(ctx, spec.pkg, spec.suite, spec.arch.deb)
	if err != nil {
		return p, "", err
	}
	dir := filepath.Join(cache, "boot", strings.TrimSuffix(p.file(), ".deb"))
	if m, _ := filepath.Glob(filepath.Join(dir, done)); len(m) == 0 {
		fmt.Printf("kernels: %-20s fetching %s %s\n", spec.name, p.name, p.version)
		deb, err := a.download(ctx, p, filepath.Join(cache, "debs"))
		if err != nil {
			return p, dir, err
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return p, dir, err
		}
		if err := extractFromDeb(ctx, deb, dir, want...); err != nil {
			return p, dir, err
		}
	}
	pruneCache(cache, spec.pkg, p)
	return p, dir, nil
}

// fetchKernel resolves k to its newest package, and returns its vmlinux (or
// bzImage, or arm64 Image) and config from the cache, downloading and
// extracting what is not there.
func fetchKernel(ctx context.Context, a *apt, cache string, k kernelSpec) (kernelImage, error) {
	img := kernelImage{spec: k}
	// On x86 the vmlinux is made last, from the vmlinuz: with it there, the
	// folder is complete. An arm64 package's vmlinuz comes after its config,
	// and each file is renamed into place whole.
	done := "vmlinux"
	if !k.arch.bzImage {
		done = "vmlinuz-*"
	}
	p, dir, err := fetchDeb(ctx, a, cache, k, done, "./boot/vmlinuz-*", "./boot/config-*")
	if err != nil {
		return img, err
	}
	img.deb = p
	vmlinuz, _ := filepath.Glob(filepath.Join(dir, "vmlinuz-*"))
	if len(vmlinuz) == 0 {
		return img, fmt.Errorf("no vmlinuz in %s", dir)
	}
	if !k.arch.bzImage {
		img.boot, img.how = vmlinuz[0], "Image"
		if gz, err := isGzip(vmlinuz[0]); err != nil {
			return img, err
		} else if gz {
			img.how = "Image, gzip'd (qemu inflates it)"
		}
		return img, readConfig(&img, dir)
	}
	vmlinux := filepath.Join(dir, "vmlinux")
	if _, err := os.Stat(vmlinux); err != nil {
		format, err := extractVmlinux(ctx, vmlinuz[0], vmlinux)
		if err != nil {
			return img, err
		}
		os.WriteFile(filepath.Join(dir, "compression"), []byte(format), 0o644)
	}

	format, _ := os.ReadFile(filepath.Join(dir, "compression"))
	pvh, err := hasPVHNote(vmlinux)
	if err != nil {
		return img, fmt.Errorf("%s: %w", vmlinux, err)
	}
	if pvh {
		img.boot, img.how = vmlinux, "vmlinux (PVH), "+string(format)+" in the bzImage"
	} else {
		// qemu cannot load a vmlinux without the PVH note: the bzImage
		// boots anywhere, only slower.
		img.boot, img.how = vmlinuz[0], "bzImage (the vmlinux has no PVH note)"
	}
	return img, readConfig(&img, dir)
}

func readConfig(img *kernelImage, dir string) error {
	configs, _ := filepath.Glob(filepath.Join(dir, "config-*"))
	if len(configs) == 0 {
		return fmt.Errorf("no config in %s", dir)
	}
	b, err := os.ReadFile(configs[0])
	if err != nil {
		return err
	}
	img.config = parseConfig(string(b))
	return nil
}

// isGzip says whether the file at path starts with gzip's magic.
func isGzip(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	b := make([]byte, 2)
	_, err = io.ReadFull(f, b)
	return err == nil && b[0] == 0x1f && b[1] == 0x8b, nil
}

// pruneCache removes the cached .debs and extracted files of the older
// versions of the packages pkg matches, so the cache holds one version of
// each.
func pruneCache(cache string, pkg *regexp.Regexp, keep debPackage) {
	for _, pat := range []string{filepath.Join(cache, "debs", "*.deb"), filepath.Join(cache, "boot", "*")} {
		m, _ := filepath.Glob(pat)
		for _, f := range m {
			base := strings.TrimSuffix(filepath.Base(f), ".deb")
			name, _, _ := strings.Cut(base, "_")
			if pkg.MatchString(name) && !strings.HasPrefix(base+"_", keep.stem()+"_") {
				os.RemoveAll(f)
			}
		}
	}
}

func fetchBusybox(ctx context.Context, a *apt, cache string, arch *archSpec) (string, error) {
	spec := busyboxSpec
	spec.arch = arch
	_, dir, err := fetchDeb(ctx, a, cache, spec, "busybox", "./bin/busybox")
	if err != nil {
		return "", fmt.Errorf("busybox-static (%s): %w", arch.deb, err)
	}
	return filepath.Join(dir, "busybox"), nil
}

// parseConfig reads a kernel .config: CONFIG_X=y|m|value; "# CONFIG_X is not
// set" is recorded as "n".
func parseConfig(text string) map[string]string {
	out := map[string]string{}
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		if name, ok := strings.CutPrefix(line, "# "); ok {
			if name, ok = strings.CutSuffix(name, " is not set"); ok {
				out[name] = "n"
			}
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok {
			out[k] = v
		}
	}
	return out
}

// buildBinaries builds into work, statically, for goarch, the test binary of
// each package and the workload command. TCG is slow enough that nothing is
// built per kernel.
func buildBinaries(ctx context.Context, work string, pkgArgs []string, goarch string) ([]vmPackage, string, error) {
	goTool := devtool.GoCommand()
	root, err := devtool.ModuleRoot(goTool)
	if err != nil {
		return nil, "", err
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, "", err
	}
	env := append(os.Environ(), "CGO_ENABLED=0", "GOARCH="+goarch)
	list := exec.CommandContext(ctx, goTool, append([]string{"list", "-f", "{{.ImportPath}}\t{{.Dir}}\t{{len .TestGoFiles}}\t{{len .XTestGoFiles}}"}, pkgArgs...)...)
	list.Dir, list.Env = root, env
	out, err := list.Output()
	if err != nil {
		return nil, "", fmt.Errorf("go list %s: %w", strings.Join(pkgArgs, " "), exitText(err))
	}
	var pkgs []vmPackage
	seen := map[string]int{}
	for line := range strings.Lines(strings.TrimSpace(string(out))) {
		f := strings.Split(strings.TrimSpace(line), "\t")
		if len(f) != 4 || (f[2] == "0" && f[3] == "0") {
			fmt.Printf("kernels: %s has no tests\n", f[0])
			continue
		}
		// The binary is named for the package's last element, made unique.
		name := filepath.Base(f[0])
		if seen[name]++; seen[name] > 1 {
			name = fmt.Sprintf("%s%d", name, seen[name])
		}
		p := vmPackage{importPath: f[0], name: name, binary: filepath.Join(work, name+".test")}
		if st, err := os.Stat(filepath.Join(f[1], "testdata")); err == nil && st.IsDir() {
			p.testdata = filepath.Join(f[1], "testdata")
		}
		cmd := exec.CommandContext(ctx, goTool, "test", "-c", "-o", p.binary, p.importPath)
		cmd.Dir, cmd.Env = root, env
		if b, err := cmd.CombinedOutput(); err != nil {
			return nil, "", fmt.Errorf("go test -c %s: %w: %s", p.importPath, err, devtool.Tail(b, 10))
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		return nil, "", fmt.Errorf("no tests in %s", strings.Join(pkgArgs, ", "))
	}
	workload := filepath.Join(work, "workload")
	cmd := exec.CommandContext(ctx, goTool, "build", "-o", workload, "./dev/workload")
	cmd.Dir, cmd.Env = root, env
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, "", fmt.Errorf("go build ./dev/workload: %w: %s", err, devtool.Tail(b, 10))
	}
	return pkgs, workload, nil
}

func pkgNames(pkgs []vmPackage) string {
	var s []string
	for _, p := range pkgs {
		s = append(s, p.importPath)
	}
	return strings.Join(s, ", ")
}

func exitText(err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) && len(ee.Stderr) > 0 {
		return fmt.Errorf("%w: %s", err, devtool.Tail(ee.Stderr, 5))
	}
	return err
}

// report prints the summary: a row per kernel, the failures with their
// output, and the config options; it returns how many kernels failed.
func report(w *os.File, images []kernelImage, runs []*vmRun, logs []string) int {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\nkernel\tpackage\tuname -r\tboot s\ttests s\twall s\tpassed\tfailed\tskipped\tresult")
	failed := 0
	for i, img := range images {
		r := runs[i]
		verdict := "pass"
		switch {
		case r.timedOut:
			verdict = "HUNG (killed)"
		case r.result == "":
			verdict = "NO RESULT"
		case !r.ok():
			verdict = "FAIL"
		}
		if verdict != "pass" {
			failed++
		}
		tests := 0.0
		if r.finished > 0 {
			tests = (r.finished - r.booted).Seconds()
		}
		fmt.Fprintf(tw, "%s\t%s %s\t%s\t%.1f\t%.1f\t%.1f\t%d\t%d\t%d\t%s\n", img.spec.name, img.deb.name, img.deb.version, r.uname,
			r.booted.Seconds(), tests, r.wall.Seconds(), r.count("PASS"), r.count("FAIL"), r.count("SKIP"), verdict)
	}
	tw.Flush()

	for i, img := range images {
		r := runs[i]
		if r.ok() {
			continue
		}
		fmt.Fprintf(w, "\n== %s (%s)\n", img.spec.name, logs[i])
		for _, fs := range r.noMount {
			fmt.Fprintf(w, "could not mount %s\n", fs)
		}
		for _, t := range r.tests {
			if t.status != "FAIL" {
				continue
			}
			fmt.Fprintf(w, "--- FAIL: %s.%s\n", t.pkg, t.name)
			out := r.output[t.pkg+"."+t.name]
			for _, l := range out[max(0, len(out)-20):] {
				fmt.Fprintf(w, "    %s\n", l)
			}
		}
		for _, name := range slices.Sorted(maps.Keys(r.pkgExit)) {
			if c := r.pkgExit[name]; c != 0 {
				fmt.Fprintf(w, "%s.test exited %d\n", name, c)
			}
		}
		if r.qemuErr != nil {
			fmt.Fprintf(w, "qemu: %v %s\n", r.qemuErr, r.qemuStderr)
		}
		if r.timedOut || r.result == "" || r.count("FAIL") == 0 {
			fmt.Fprintf(w, "the last lines of its console:\n")
			for _, l := range r.tail {
				fmt.Fprintf(w, "    %s\n", l)
			}
		}
	}

	// What the tests need built in, per kernel: "m" is as good as missing,
	// since the initramfs carries no modules.
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "config")
	for _, img := range images {
		fmt.Fprintf(tw, "\t%s", img.spec.name)
	}
	fmt.Fprintln(tw)
	opts := slices.Clone(configOptions)
	for _, img := range images {
		for _, opt := range img.spec.arch.config {
			if !slices.Contains(opts, opt) {
				opts = append(opts, opt)
			}
		}
	}
	for _, opt := range opts {
		fmt.Fprint(tw, opt)
		for _, img := range images {
			v := img.config[opt]
			switch {
			case !slices.Contains(configOptions, opt) && !slices.Contains(img.spec.arch.config, opt):
				v = "-" // another architecture's
			case v == "":
				v = "n"
			}
			fmt.Fprintf(tw, "\t%s", v)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	return failed
}
