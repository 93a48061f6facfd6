package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"tlmon/model"
)

// Options are what the endpoint serves.
type Options struct {
	// Snapshot gives the latest snapshot (session.Live.Snapshot).
	Snapshot func() *model.Snapshot
	// Labels are the --metrics-labels values (LabelComm, LabelCgroup).
	Labels []string
	// Interval is how often the per-group series fold a snapshot (the
	// session's interval); unused without Labels.
	Interval time.Duration
	// Version is tlmon's, for tlmon_build_info.
	Version string
}

// CheckLabels says whether every --metrics-labels value is one of ours, and
// each given once.
func CheckLabels(labels []string) error {
	for i, l := range labels {
		if _, err := newGroups(l, 0); err != nil {
			return err
		}
		if slices.Contains(labels[:i], l) {
			return fmt.Errorf("%q given twice", l)
		}
	}
	return nil
}

// Listen takes the endpoint's address before anything is counted, so that an
// address in use ends tlmon at once with one line.
func Listen(addr string) (net.Listener, error) {
	return net.Listen("tcp", addr)
}

// Server is the running endpoint.
type Server struct {
	http   *http.Server
	served chan error
	stop   context.CancelFunc
	wg     sync.WaitGroup

	closeOnce sync.Once
	closeErr  error
}

// Serve serves /metrics on ln until Close: the snapshot's counts, and tlmon's
// own cost (the process_* and go_* families of Prometheus's client). It owns
// ln from then on, failing or not.
func Serve(ln net.Listener, o Options) (*Server, error) {
	var gs []*groups
	for _, l := range o.Labels {
		g, err := newGroups(l, MaxGroups)
		if err != nil {
			ln.Close()
			return nil, err
		}
		gs = append(gs, g)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		newCollector(o.Snapshot, o.Version, gs),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewGoCollector(),
	)
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.InstrumentMetricHandler(reg,
		promhttp.HandlerFor(reg, promhttp.HandlerOpts{EnableOpenMetrics: true, Registry: reg})))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("tlmon: metrics at /metrics\n"))
	})
	ctx, stop := context.WithCancel(context.Background())
	s := &Server{
		http:   &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second},
		served: make(chan error, 1),
		stop:   stop,
	}
	go func() { s.served <- s.http.Serve(ln) }()
	if len(gs) > 0 {
		s.wg.Go(func() { foldEvery(ctx, o.Interval, o.Snapshot, gs) })
	}
	return s, nil
}

// foldEvery folds the latest snapshot into the groups once an interval, so
// that they see every process's last counts however seldom Prometheus
// scrapes: an exited process leaves the snapshots seconds after its exit.
func foldEvery(ctx context.Context, every time.Duration, snapshot func() *model.Snapshot, gs []*groups) {
	if every <= 0 {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s := snapshot()
			for _, g := range gs {
				g.fold(s)
			}
		}
	}
}

// Close stops serving, letting a scrape under way finish for a moment; calls
// after the first return the first's error.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.stop()
		s.wg.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		s.closeErr = s.http.Shutdown(ctx)
		if err := <-s.served; !errors.Is(err, http.ErrServerClosed) && s.closeErr == nil {
			s.closeErr = err
		}
	})
	return s.closeErr
}
