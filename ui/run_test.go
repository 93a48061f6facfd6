package ui

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
)

// runFor runs the whole program on pipes, as main does on the terminal.
func runFor(t *testing.T, ctx context.Context, input io.Reader) (string, error) {
	t.Helper()
	var out bytes.Buffer
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, newFake(), Options{Interval: 10 * time.Millisecond, Theme: "mono"},
			tea.WithInput(input), tea.WithOutput(&out), tea.WithWindowSize(80, 24))
	}()
	select {
	case err := <-errc:
		return out.String(), err
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
		return "", nil
	}
}

func TestRunQuitsOnQ(t *testing.T) {
	r, w := io.Pipe()
	defer w.Close()
	go func() {
		time.Sleep(100 * time.Millisecond) // a few ticks first
		w.Write([]byte("q"))
	}()
	out, err := runFor(t, context.Background(), r)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !strings.Contains(out, "nginx") {
		t.Errorf("the processes never showed:\n%q", out)
	}
}

func TestRunQuitsWhenTheContextEnds(t *testing.T) {
	r, w := io.Pipe()
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := runFor(t, ctx, r); err != nil {
		t.Fatalf("Run after the context ended: %v, want nil (a signal is a normal way out)", err)
	}
}

func TestRunRejectsAnUnknownTheme(t *testing.T) {
	t.Setenv("NO_COLOR", "1") // not a way around the check
	if err := Run(context.Background(), newFake(), Options{Theme: "solarized"}); err == nil {
		t.Error("Run accepted theme solarized")
	}
}
