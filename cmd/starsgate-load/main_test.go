package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/starsgate/starsgate/internal/redistest"
)

// smokeOptions are short runs: these tests check that the scenarios work
// and count, never how fast.
func smokeOptions() options {
	return options{
		duration: 200 * time.Millisecond, rounds: 2, concurrency: 2,
		redis: redistest.URL(), sessions: 20, pool: 600, users: 3000,
		authCache: 1000, maxUsers: 1000,
	}
}

func TestWarmGate(t *testing.T) {
	var out bytes.Buffer
	c, err := warmGate(t.Context(), smokeOptions(), &out)
	require.NoError(t, err)
	for _, s := range []*side{&c.baseline, &c.subject} {
		assert.Positive(t, s.requests, s.name)
		assert.Zero(t, s.errors, "%s: %v", s.name, s.firstErr)
		assert.Len(t, s.rounds, 2, s.name)
	}
	assert.Contains(t, out.String(), "ratio subject/baseline")
}

func TestColdGate(t *testing.T) {
	redistest.Client(t) // fails, never skips, without Redis
	var out bytes.Buffer
	c, err := coldGate(t.Context(), smokeOptions(), &out)
	require.NoError(t, err)
	for _, s := range []*side{&c.baseline, &c.subject} {
		assert.Positive(t, s.requests, s.name)
		assert.Zero(t, s.errors, "%s: %v", s.name, s.firstErr)
	}
	// Each round has its own share of the 600 users, so no user repeats.
	assert.LessOrEqual(t, c.subject.requests, int64(600))
	assert.Contains(t, out.String(), "Redis round trips per cold check: 1.000")
}

func TestMemory(t *testing.T) {
	var out bytes.Buffer
	_, err := memory(t.Context(), smokeOptions(), &out)
	require.NoError(t, err)
	assert.Contains(t, out.String(), "at the end, both caches alive")
	assert.Contains(t, out.String(), "checker 1000 users", "the checker holds exactly its bound")
}

func TestRun(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		out  string
	}{
		{name: "ok, warm-gate", args: []string{"-scenario", "warm-gate", "-duration", "100ms", "-rounds", "1", "-sessions", "5"}, code: 0, out: "warm-gate"},
		{name: "ok, help", args: []string{"-h"}, code: 0},
		{name: "nok, unknown scenario", args: []string{"-scenario", "nope"}, code: 2},
		{name: "nok, zero duration", args: []string{"-duration", "0s"}, code: 2},
		{name: "nok, bad flag", args: []string{"-nope"}, code: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, func(string) string { return "" }, &stdout, &stderr)
			assert.Equal(t, tt.code, code, stderr.String())
			assert.True(t, strings.Contains(stdout.String(), tt.out), stdout.String())
		})
	}
}

func TestShares(t *testing.T) {
	next := shares(10, 3) // 3 per share, the last one left over
	var got [][]int64
	for range 4 {
		var round []int64
		n := next()
		for i, ok := n(); ok; i, ok = n() {
			round = append(round, i)
		}
		got = append(got, round)
	}
	assert.Equal(t, [][]int64{{0, 1, 2}, {3, 4, 5}, {6, 7, 8}, nil}, got)
}

func TestRoundRatios(t *testing.T) {
	tests := []struct {
		name              string
		baseline, subject []float64
		lo, median, hi    float64
	}{
		{name: "ok, odd", baseline: []float64{100, 100, 100}, subject: []float64{90, 50, 120}, lo: 0.5, median: 0.9, hi: 1.2},
		{name: "ok, even", baseline: []float64{100, 100}, subject: []float64{80, 90}, lo: 0.8, median: 0.85, hi: 0.9},
		{name: "ok, idle baseline round skipped", baseline: []float64{0, 100}, subject: []float64{10, 70}, lo: 0.7, median: 0.7, hi: 0.7},
		{name: "nok, no rounds", lo: 0, median: 0, hi: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := comparison{baseline: side{rounds: tt.baseline}, subject: side{rounds: tt.subject}}
			lo, median, hi := c.roundRatios()
			assert.InDelta(t, tt.lo, lo, 1e-9)
			assert.InDelta(t, tt.median, median, 1e-9)
			assert.InDelta(t, tt.hi, hi, 1e-9)
		})
	}
}

func TestCheckoutScenarios(t *testing.T) {
	redistest.Client(t)
	tests := []struct {
		name string
		run  func(context.Context, options, io.Writer) (*comparison, error)
		want string
	}{
		{name: "ok, webhook-new", run: webhookNew, want: "purchases recorded (OnEvent): "},
		{name: "ok, webhook-dup", run: webhookDup, want: "events emitted by duplicates: 0 "},
		{name: "ok, precheckout", run: precheckout, want: "burst: 5 waves of 100 queries sent at once"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			c, err := tt.run(t.Context(), smokeOptions(), &out)
			require.NoError(t, err)
			for _, s := range []*side{&c.baseline, &c.subject} {
				assert.Positive(t, s.requests, s.name)
				assert.Zero(t, s.errors, "%s: %v", s.name, s.firstErr)
			}
			assert.Contains(t, out.String(), tt.want)
		})
	}
}
