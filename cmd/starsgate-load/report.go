package main

import (
	"fmt"
	"io"
	"time"
)

// printComparison prints both sides of c and the ratio against want (the
// target ratio; 0 for none).
func printComparison(w io.Writer, title string, o options, concurrency int, c *comparison, want float64) {
	fmt.Fprintf(w, "\n== %s: %d connections, %d rounds × %s per side, alternating\n", title, concurrency, o.rounds, o.perSide())
	fmt.Fprintf(w, "%-34s %10s %10s %10s %10s %11s %7s\n", "route", "requests", "req/s", "p50", "p99", "allocs/req", "errors")
	for _, s := range []struct {
		name string
		s    *side
	}{{"baseline: " + c.baseline.name, &c.baseline}, {"subject:  " + c.subject.name, &c.subject}} {
		fmt.Fprintf(w, "%-34s %10d %10.0f %10s %10s %11.1f %7d\n", s.name, s.s.requests, s.s.rps(),
			roundDur(s.s.percentile(0.50)), roundDur(s.s.percentile(0.99)), s.s.allocsPerRequest(), s.s.errors)
		if s.s.firstErr != nil {
			fmt.Fprintf(w, "  first error: %v\n", s.s.firstErr)
		}
	}
	lo, median, hi := c.roundRatios()
	fmt.Fprintf(w, "ratio subject/baseline: %.3f overall; per round median %.3f, range %.3f–%.3f", c.ratio(), median, lo, hi)
	if want > 0 {
		verdict := "met"
		if c.ratio() < want {
			verdict = "MISSED"
		}
		fmt.Fprintf(w, "; target ≥ %.2f: %s", want, verdict)
	}
	fmt.Fprintf(w, "\nallocations added per request (process-wide, client included on both sides): %+.1f\n",
		c.subject.allocsPerRequest()-c.baseline.allocsPerRequest())
}

func roundDur(d time.Duration) string {
	switch {
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	default:
		return d.Round(100 * time.Nanosecond).String()
	}
}
