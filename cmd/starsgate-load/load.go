package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// maxSamplesPerWorker bounds the latency samples a worker keeps per side
// (8 MB per worker at most); later requests are still counted.
const maxSamplesPerWorker = 1 << 20

// target is one side of a comparison: a route and how to build its requests.
type target struct {
	name string
	// build appends the raw HTTP/1.1 request number i to buf.
	build func(buf []byte, i int64) []byte
	// round, called at the start of each round of the target, returns what
	// hands out the round's request numbers; ok false ends the round early
	// (its share of one-use requests ran out). Nil means 0, 1, 2, ….
	round func() (next func() (i int64, ok bool))
	// status is the expected response status.
	status int
}

// side accumulates one target's measurements over all rounds.
type side struct {
	name     string
	requests int64
	errors   int64
	elapsed  time.Duration
	mallocs  uint64
	samples  []time.Duration
	rounds   []float64 // requests/s of each round
	// firstErr is the first unexpected answer, for the report.
	firstErr error
}

func (s *side) rps() float64 {
	if s.elapsed <= 0 {
		return 0
	}
	return float64(s.requests) / s.elapsed.Seconds()
}

func (s *side) allocsPerRequest() float64 {
	if s.requests == 0 {
		return 0
	}
	return float64(s.mallocs) / float64(s.requests)
}

func (s *side) percentile(p float64) time.Duration { return percentile(s.samples, p) }

// percentile returns the p-th quantile of sorted, 0 when empty.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(float64(len(sorted))*p))]
}

// comparison is the result of alternating a baseline and a subject.
type comparison struct {
	baseline, subject side
}

// ratio is the subject's requests/s over the baseline's.
func (c *comparison) ratio() float64 {
	if c.baseline.rps() == 0 {
		return 0
	}
	return c.subject.rps() / c.baseline.rps()
}

// roundRatios returns the lowest, median and highest of the per-round
// ratios. The spread shows the run's noise; the median resists a burst of
// load from other processes in one round better than the overall ratio.
func (c *comparison) roundRatios() (lo, median, hi float64) {
	var rs []float64
	for i := range min(len(c.baseline.rounds), len(c.subject.rounds)) {
		if c.baseline.rounds[i] > 0 {
			rs = append(rs, c.subject.rounds[i]/c.baseline.rounds[i])
		}
	}
	if len(rs) == 0 {
		return 0, 0, 0
	}
	slices.Sort(rs)
	median = rs[len(rs)/2]
	if len(rs)%2 == 0 {
		median = (rs[len(rs)/2-1] + rs[len(rs)/2]) / 2
	}
	return rs[0], median, rs[len(rs)-1]
}

// compare runs a short warm-up of both targets, then o.rounds rounds of
// baseline and subject in alternating order (baseline first in even rounds),
// each for o.perSide, with concurrency connections to addr. With
// -cpuprofile, the rounds (not the set-up) are profiled into
// <cpuprofile>.<label>.prof.
func compare(ctx context.Context, addr string, concurrency int, o options, label string, baseline, subject target) (_ *comparison, err error) {
	rounds, perSide := o.rounds, o.perSide()
	warm := min(perSide/4, 200*time.Millisecond)
	for _, t := range []target{baseline, subject} {
		var discard side
		if err := runRound(ctx, addr, concurrency, warm, t, &discard); err != nil {
			return nil, err
		}
	}
	if o.cpuprofile != "" {
		stop, err := startProfile(o.cpuprofile + "." + label + ".prof")
		if err != nil {
			return nil, err
		}
		defer func() {
			if serr := stop(); err == nil {
				err = serr
			}
		}()
	}
	c := &comparison{baseline: side{name: baseline.name}, subject: side{name: subject.name}}
	for r := range rounds {
		order := []struct {
			t target
			s *side
		}{{baseline, &c.baseline}, {subject, &c.subject}}
		if r%2 == 1 {
			slices.Reverse(order)
		}
		for _, o := range order {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if err := runRound(ctx, addr, concurrency, perSide, o.t, o.s); err != nil {
				return nil, err
			}
		}
	}
	for _, s := range []*side{&c.baseline, &c.subject} {
		slices.Sort(s.samples)
	}
	return c, nil
}

// runRound sends requests of t on concurrency keep-alive connections for d
// (or until t's pool runs out) and adds the results to s.
func runRound(ctx context.Context, addr string, concurrency int, d time.Duration, t target, s *side) error {
	conns := make([]net.Conn, concurrency)
	for i := range conns {
		var err error
		if conns[i], err = net.Dial("tcp", addr); err != nil {
			return fmt.Errorf("dial %s: %w", addr, err)
		}
	}
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	next := pool(0, math.MaxInt64)
	if t.round != nil {
		next = t.round()
	}

	type result struct {
		requests, errors int64
		samples          []time.Duration
		err              error
	}
	results := make([]result, concurrency)
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for w := range concurrency {
		wg.Go(func() {
			res := &results[w]
			br := bufio.NewReaderSize(conns[w], 16<<10)
			var buf []byte
			for ctx.Err() == nil {
				i, ok := next()
				if !ok {
					return
				}
				buf = t.build(buf[:0], i)
				t0 := time.Now()
				if t0.After(deadline) {
					return
				}
				if _, err := conns[w].Write(buf); err != nil {
					res.err = err
					return
				}
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					res.err = err
					return
				}
				_, err = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				if err != nil {
					res.err = err
					return
				}
				lat := time.Since(t0)
				res.requests++
				if resp.StatusCode != t.status {
					res.errors++
					if res.err == nil {
						res.err = fmt.Errorf("%s: status %d, want %d", t.name, resp.StatusCode, t.status)
					}
				}
				if len(res.samples) < maxSamplesPerWorker {
					res.samples = append(res.samples, lat)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	runtime.ReadMemStats(&ms1)

	var requests int64
	for _, r := range results {
		requests += r.requests
		s.errors += r.errors
		s.samples = append(s.samples, r.samples...)
		if r.err != nil && s.firstErr == nil {
			s.firstErr = r.err
		}
	}
	s.requests += requests
	s.elapsed += elapsed
	s.mallocs += ms1.Mallocs - ms0.Mallocs
	s.rounds = append(s.rounds, float64(requests)/elapsed.Seconds())
	return nil
}

// bursts sends waves of n requests of t, one per connection and all at
// once, waiting for every answer (and a short pause) before the next wave.
// It returns every request's latency, sorted, and the median time a wave
// took from its first request sent to its last answer.
func bursts(ctx context.Context, addr string, n, waves int, t target) (lats []time.Duration, wave time.Duration, err error) {
	conns := make([]net.Conn, n)
	readers := make([]*bufio.Reader, n)
	defer func() {
		for _, c := range conns {
			if c != nil {
				_ = c.Close()
			}
		}
	}()
	for i := range conns {
		if conns[i], err = net.Dial("tcp", addr); err != nil {
			return nil, 0, fmt.Errorf("dial %s: %w", addr, err)
		}
		readers[i] = bufio.NewReader(conns[i])
	}
	reqs := make([][]byte, n)
	waveTimes := make([]time.Duration, 0, waves)
	errs := make([]error, n)
	var next int64
	for range waves {
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		for i := range reqs {
			reqs[i] = t.build(reqs[i][:0], next)
			next++
		}
		start := make(chan struct{})
		got := make([]time.Duration, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-start
				t0 := time.Now()
				if _, err := conns[i].Write(reqs[i]); err != nil {
					errs[i] = err
					return
				}
				resp, err := http.ReadResponse(readers[i], nil)
				if err != nil {
					errs[i] = err
					return
				}
				_, err = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				got[i] = time.Since(t0)
				if err == nil && resp.StatusCode != t.status {
					err = fmt.Errorf("%s: status %d, want %d", t.name, resp.StatusCode, t.status)
				}
				errs[i] = err
			})
		}
		t0 := time.Now()
		close(start)
		wg.Wait()
		waveTimes = append(waveTimes, time.Since(t0))
		if err := errors.Join(errs...); err != nil {
			return nil, 0, err
		}
		lats = append(lats, got...)
		time.Sleep(20 * time.Millisecond) // let the machine settle between waves
	}
	slices.Sort(lats)
	slices.Sort(waveTimes)
	return lats, waveTimes[len(waveTimes)/2], nil
}

// getRequest builds "GET path" carrying auth as the Authorization header
// (empty: none).
func getRequest(buf []byte, path, auth string) []byte {
	buf = append(buf, "GET "...)
	buf = append(buf, path...)
	buf = append(buf, " HTTP/1.1\r\nHost: 127.0.0.1\r\n"...)
	if auth != "" {
		buf = append(buf, "Authorization: tma "...)
		buf = append(buf, auth...)
		buf = append(buf, "\r\n"...)
	}
	return append(buf, "\r\n"...)
}

// postRequest builds "POST path" with a JSON body and extra header lines
// ("Name: value").
func postRequest(buf []byte, path string, body []byte, headers ...string) []byte {
	buf = append(buf, "POST "...)
	buf = append(buf, path...)
	buf = append(buf, " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"...)
	for _, h := range headers {
		buf = append(buf, h...)
		buf = append(buf, "\r\n"...)
	}
	buf = append(buf, "Content-Length: "...)
	buf = fmt.Appendf(buf, "%d", len(body))
	buf = append(buf, "\r\n\r\n"...)
	return append(buf, body...)
}

// pool hands out request numbers from..to-1, then reports exhaustion.
func pool(from, to int64) func() (int64, bool) {
	var n atomic.Int64
	n.Store(from)
	return func() (int64, bool) {
		i := n.Add(1) - 1
		return i, i < to
	}
}

// shares splits 0..n-1 into k consecutive shares, one per round; rounds
// after the k-th get nothing.
func shares(n, k int64) func() func() (int64, bool) {
	var r atomic.Int64
	size := n / k
	return func() func() (int64, bool) {
		i := r.Add(1) - 1
		if i >= k {
			return pool(0, 0)
		}
		return pool(i*size, (i+1)*size)
	}
}

// startProfile starts a CPU profile into path.
func startProfile(path string) (stop func() error, err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, err
	}
	return func() error {
		pprof.StopCPUProfile()
		return f.Close()
	}, nil
}
