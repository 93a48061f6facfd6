package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"tlmon/internal/bpftest"
)

// freePort is a TCP port of 127.0.0.1 no one listens on, as the kernel
// chose it (others' tests may take it meanwhile, seldom).
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// needProgram is the path of a program Debian's prometheus package
// installs: the test skips without it, or fails when BPF tests are required
// (CI installs it).
func needProgram(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv(bpftest.RequireEnv) != "" {
			t.Fatalf("%s not found: apt-get install prometheus", name)
		}
		t.Skipf("%s not found: apt-get install prometheus", name)
	}
	return path
}

// startPrometheus runs a Prometheus server of the test's own, scraping
// target every second, and returns its address once it is ready.
func startPrometheus(t *testing.T, target string) string {
	t.Helper()
	bin := needProgram(t, "prometheus")
	dir := t.TempDir()
	conf := filepath.Join(dir, "prometheus.yml")
	err := os.WriteFile(conf, fmt.Appendf(nil, `global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: tlmon
    static_configs:
      - targets: [%q]
`, target), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + freePort(t)
	cmd := exec.Command(bin, "--config.file="+conf, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("prometheus:\n%s", log.String())
		}
	})
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get("http://" + addr + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return addr
			}
		}
	}
	t.Fatalf("prometheus did not get ready:\n%s", log.String())
	return ""
}

// promQuery is the value of a PromQL query returning one sample ("" for
// none).
func promQuery(t *testing.T, addr, query string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/api/v1/query?query=" + url.QueryEscape(query))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || r.Status != "success" {
		t.Fatalf("%s: %v %s %s", query, err, r.Status, r.Error)
	}
	if len(r.Data.Result) == 0 {
		return ""
	}
	v, _ := r.Data.Result[0].Value[1].(string)
	return v
}

// TestPrometheusScrapesTheExactCounts runs tlmon with --metrics on a workload
// that makes 12,345 getppid calls, has Debian's Prometheus scrape it every
// second, and asks Prometheus, in PromQL, how many getppid calls were made,
// system-wide and by the workload's command: exactly as many as the workload
// made. promtool finds nothing wrong in what tlmon serves.
func TestPrometheusScrapesTheExactCounts(t *testing.T) {
	bpftest.Require(t)
	promtool := needProgram(t, "promtool")
	target := "127.0.0.1:" + freePort(t)
	prom := startPrometheus(t, target)

	w := startWorkload(t, "--hold", "60s", "getppid", "12345") // alive until killed: tlmon watches on
	tl := startTlmon(t, "--headless", "-o", "json", "--classes", "none", "-p", pidArg(w.pid),
		"--metrics", target, "--metrics-labels", "comm,cgroup")
	var want workloadReport
	w.goAhead(t, &want)
	made := strconv.FormatUint(want.Calls["getppid"], 10)
	if made != "12345" {
		t.Fatalf("the workload made %s getppid", made)
	}

	queries := []string{
		`sum(tlmon_syscalls_total{job="tlmon",syscall="getppid"})`,
		`sum(tlmon_command_syscalls_total{comm="workload",syscall="getppid"})`,
		`sum(tlmon_syscall_duration_seconds_count{syscall="getppid"})`,
	}
	got := make([]string, len(queries))
	deadline := time.Now().Add(20 * time.Second)
	for i, q := range queries {
		for got[i] = promQuery(t, prom, q); got[i] != made && time.Now().Before(deadline); got[i] = promQuery(t, prom, q) {
			time.Sleep(200 * time.Millisecond)
		}
		if got[i] != made {
			t.Errorf("%s = %q, want %s", q, got[i], made)
		}
	}
	t.Logf("PromQL %v = %v; the workload made %s", queries, got, made)
	// A second later, still exactly: nothing counted twice.
	time.Sleep(1500 * time.Millisecond)
	if v := promQuery(t, prom, queries[0]); v != made {
		t.Errorf("%s = %q a scrape later, want %s", queries[0], v, made)
	}
	if v := promQuery(t, prom, `up{job="tlmon"}`); v != "1" {
		t.Errorf("up = %q", v)
	}
	if v := promQuery(t, prom, `count(tlmon_syscalls_total{pid!=""})`); v != "" {
		t.Errorf("series with a pid label: %s", v)
	}

	// promtool lints the text form and the OpenMetrics form Prometheus
	// asked for.
	for _, accept := range []string{"text/plain", "application/openmetrics-text; version=1.0.0"} {
		req, _ := http.NewRequest("GET", "http://"+target+"/metrics", nil)
		req.Header.Set("Accept", accept)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !getppidLine.Match(body) {
			t.Errorf("%s: no line matching %s in\n%s", accept, getppidLine, grepLines(body, "getppid"))
		}
		if strings.HasPrefix(accept, "text/plain") {
			check := exec.Command(promtool, "check", "metrics")
			check.Stdin = bytes.NewReader(body)
			if out, err := check.CombinedOutput(); err != nil || len(out) > 0 {
				t.Errorf("promtool check metrics: %v\n%s", err, out)
			}
		} else if !bytes.HasSuffix(body, []byte("# EOF\n")) {
			t.Errorf("OpenMetrics without # EOF")
		}
	}
	w.cmd.Process.Kill()
	w.cmd.Wait()
	tl.finish(t, false) // the workload gone, tlmon prints its summary and ends
}

// getppidLine is the series of the workload's calls, in the text form and
// in OpenMetrics (where a float has a point).
var getppidLine = regexp.MustCompile(`(?m)^tlmon_syscalls_total\{class="[a-z,]+",syscall="getppid"\} 12345(\.0)?$`)

// grepLines are the lines of body holding s.
func grepLines(body []byte, s string) string {
	var b strings.Builder
	for line := range strings.Lines(string(body)) {
		if strings.Contains(line, s) {
			b.WriteString(line)
		}
	}
	return b.String()
}

// TestMetricsOnAnAddressInUseIsOneLine: an address someone listens on ends
// tlmon at once with one line and exit 1, before anything is counted.
func TestMetricsOnAnAddressInUseIsOneLine(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	start := time.Now()
	code, stderr := runFail(t, exec.Command(tlmonBin, "--headless", "-d", "10s", "--metrics", addr))
	want := "tlmon: --metrics " + addr + ": listen tcp " + addr + ": bind: address already in use\n"
	if code != 1 || stderr != want || time.Since(start) > 5*time.Second {
		t.Errorf("exit %d after %v, stderr %q; want exit 1 at once and %q", code, time.Since(start), stderr, want)
	}
}
