# tlmon: `make run`, `make test`, `make build`, `make bench`, `make generate`.
# sudo resets PATH: fall back to Go's usual place so a make under sudo finds go.
GO      ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
# The commit's date, which --version prints after the version.
COMMIT_DATE ?= $(shell git log -1 --format=%cs 2>/dev/null)
# What runs as root goes through $(SUDO): nothing when make already runs as
# root (a container, CI), sudo otherwise. Building never needs root.
SUDO    ?= $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: build run test test-deps bench kernels generate check-generated install uninstall vmlinux vmlinux-arm64 clean

build:
	$(GO) build -ldflags "-X main.version=$(VERSION) -X main.commitDate=$(COMMIT_DATE)" -o tlmon .

# Builds, then runs tlmon as root: `make run ARGS="-p 1234"`.
run: build
	$(SUDO) ./tlmon $(ARGS)

# A line per stage. The tests run as root: BPF tests skip when not root; CI
# sets TLMON_REQUIRE_BPF=1 so they fail instead (passed through sudo). The
# arm64 vet compiles everything, tests included, for arm64 too. The end-to-end
# tests print a line per test as it ends (go test -v without its === lines).
test: test-deps
	@echo "make test: vet (amd64 and arm64)"
	$(GO) vet ./...
	GOARCH=arm64 $(GO) vet ./...
	@echo "make test: the packages' tests, as root (about a minute)"
	$(SUDO) env TLMON_REQUIRE_BPF=$(TLMON_REQUIRE_BPF) $(GO) test -count=1 $$($(GO) list ./... | grep -v '/dev/e2e$$')
	@echo "make test: the race detector on the aggregator, model, history and the keeper of the session"
	$(GO) test -count=1 -race ./aggregator/ ./model/
	$(GO) test -count=1 -race -run 'Concurrently|KeptPerFrame|Keeper' ./history/ ./session/
	@echo "make test: end-to-end tests of the binary, as root (about 3 minutes)"
	$(SUDO) env TLMON_REQUIRE_BPF=$(TLMON_REQUIRE_BPF) bash -o pipefail -c \
		"$(GO) test -count=1 -v ./dev/e2e/ | grep --line-buffered -v -E '^\s*=== (RUN|PAUSE|CONT|NAME)'"

# The end-to-end tests drive the monitor in tmux and compare counts with
# strace: say so before anything runs.
test-deps:
	@missing=; for c in tmux strace; do command -v $$c >/dev/null 2>&1 || missing="$$missing $$c"; done; \
	if [ -n "$$missing" ]; then \
		echo "make test needs tmux and strace; missing:$$missing (apt-get install tmux strace)" >&2; exit 1; \
	fi

# Each fuzz target for FUZZTIME: the event decoder, the escaping of names, the
# flags, the syscall and class lists, the monitor's filter, a recording file (as
# it comes, and with its checksums made right). Seeds are in the
# tests; an input that fails lands in the package's testdata/fuzz and stays a
# test from then on. FUZZTIME counts runs, not seconds: Go 1.26 can fail a
# timed fuzz run at its deadline with no input at fault (golang/go#75804).
FUZZTIME ?= 500000x
FUZZ = ./bpf:FuzzDecodeEvent ./model:FuzzEscape ./syscalls:FuzzParseSyscallList ./model:FuzzParseClass ./ui:FuzzFilter .:FuzzParseFlags ./recording:FuzzReader ./recording:FuzzBlocks ./history:FuzzReadCalls ./history:FuzzApplyDelta ./history:FuzzReadLifecycle
.PHONY: fuzz
fuzz:
	@for t in $(FUZZ); do \
		pkg=$${t%%:*}; name=$${t#*:}; \
		echo "fuzz $$name ($$pkg, $(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	done

# The storms of docs/reliability.md at their full sizes (60 s of getppid flat
# out, 50,000 processes and a 1,000-deep fork chain, every detail class on), as
# root, with their figures; make test runs them at a quarter.
.PHONY: storms
storms:
	$(SUDO) env TLMON_STORM_SCALE=1 bash -o pipefail -c \
		"$(GO) test -count=1 -v -run '^TestStorm' ./dev/e2e/ | grep -E '^(=== RUN|--- |\s+storms_test|ok|FAIL|PASS)'"

# Side-by-side cost of tlmon, the floor, bpftrace, perf trace and strace, and
# tlmon's own CPU, memory and start-up, and its cost under process churn;
# writes docs/performance.md. About 30 minutes as root; `make bench BENCHFLAGS=-quick` for a few (dev/bench/README.md).
bench:
	$(SUDO) $(GO) run ./dev/bench $(BENCHFLAGS)

# Mixed load (spawn churn, getppid storms, file detail on distinct paths, the
# monitor in tmux) under two tlmons for 20 minutes, as root: counts exact, nothing
# lost, RSS flat, keys answered (dev/soak/README.md). CI runs
# `make soak SOAKFLAGS=-duration=60s`.
.PHONY: soak
soak: build
	$(SUDO) $(GO) run ./dev/soak $(SOAKFLAGS)

# The BPF tests (and the replay's: an amd64 recording replayed on arm64) inside
# Debian's 5.10, 6.1 and 6.12 kernels, and 6.12 arm64, under
# qemu (TCG): about 7 minutes here; takes the kernels, busybox and qemu (bookworm-backports')
# out of their packages into a cache (dev/kernels/README.md).
# `make kernels KERNELFLAGS="-kernels bookworm-6.1 -run TestX"`.
kernels:
	$(GO) run ./dev/kernels $(KERNELFLAGS)

# Regenerates the BPF objects (needs Debian's clang), the syscall tables, and
# the man page and shell completions in dist/ (from tlmon's own flag set:
# gendocs.go).
generate:
	$(GO) generate ./bpf/ ./syscalls/ ./dev/bench/...
	$(GO) run . --gen-docs dist

# CI: the committed generated files must match their sources.
check-generated: generate
	git diff --exit-code -- bpf/ syscalls/ dev/bench/ dist/

# `make install` puts tlmon, tlmon(8), the bash, zsh and fish completions and
# the systemd unit (once dist/ has one) under PREFIX; DESTDIR stages a package.
# As make run, it builds as you and goes through sudo only to write where you
# cannot (PREFIX=$$HOME/.local needs none).
PREFIX  ?= /usr/local
DESTDIR ?=
INSTALL_SUDO = $(shell d="$(DESTDIR)$(PREFIX)"; while [ ! -e "$$d" ]; do d=$$(dirname "$$d"); done; [ -w "$$d" ] || echo sudo)
INSTALLED = bin/tlmon share/man/man8/tlmon.8 \
	share/bash-completion/completions/tlmon share/zsh/site-functions/_tlmon \
	share/fish/vendor_completions.d/tlmon.fish lib/systemd/system/tlmon.service
install: build
	$(INSTALL_SUDO) install -D -m 0755 tlmon $(DESTDIR)$(PREFIX)/bin/tlmon
	$(INSTALL_SUDO) install -D -m 0644 dist/tlmon.8 $(DESTDIR)$(PREFIX)/share/man/man8/tlmon.8
	$(INSTALL_SUDO) install -D -m 0644 dist/completions/tlmon.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/tlmon
	$(INSTALL_SUDO) install -D -m 0644 dist/completions/_tlmon $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_tlmon
	$(INSTALL_SUDO) install -D -m 0644 dist/completions/tlmon.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/tlmon.fish
	# The unit runs the binary where PREFIX put it.
	sed 's|/usr/local/bin/tlmon|$(PREFIX)/bin/tlmon|' dist/tlmon.service > .tlmon.service
	$(INSTALL_SUDO) install -D -m 0644 .tlmon.service $(DESTDIR)$(PREFIX)/lib/systemd/system/tlmon.service
	rm -f .tlmon.service

uninstall:
	$(INSTALL_SUDO) rm -f $(addprefix $(DESTDIR)$(PREFIX)/,$(INSTALLED))

# The kernel types of bpf/headers/x86/vmlinux.h come from this machine's BTF.
vmlinux:
	bpftool btf dump file /sys/kernel/btf/vmlinux format c > bpf/headers/x86/vmlinux.h

# Those of bpf/headers/arm64/vmlinux.h from the BTF inside the image of Debian's
# arm64 kernel package ARM64_KERNEL (downloaded, not installed; needs bpftool).
ARM64_SUITE  ?= bookworm-backports
ARM64_KERNEL ?= linux-image-6.12.95+deb12-arm64
vmlinux-arm64:
	bpf/headers/vmlinux-deb.sh arm64 $(ARM64_SUITE) $(ARM64_KERNEL) > bpf/headers/arm64/vmlinux.h.tmp
	mv bpf/headers/arm64/vmlinux.h.tmp bpf/headers/arm64/vmlinux.h

clean:
	rm -f tlmon
