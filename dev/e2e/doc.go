// Package e2e tests the tlmon binary end to end, as a user runs it: built
// once, run as root (and as nobody, with capabilities, under a fake sudo)
// against the workload generator, its reports read back and compared with
// what the workload did, its monitor driven in tmux. Its tests need root and
// skip without it, unless TLMON_REQUIRE_BPF is set (CI), which makes them fail.
package e2e
