// Command starsgate-load measures starsgate under load: it starts an Echo
// server with the library on 127.0.0.1, drives it over loopback with its own
// HTTP/1.1 keep-alive client, and prints requests/s, p50/p99 latency and the
// ratio against a baseline route of the same server measured in the same
// run. Baseline and subject alternate in several short rounds so that drift
// of the machine cancels out. Every scenario stops by itself.
//
//	go run ./cmd/starsgate-load -scenario warm-gate -duration 10s
//	go run ./cmd/starsgate-load -scenario all
//
// Scenarios: warm-gate, cold-gate, memory, webhook-new, webhook-dup and
// precheckout. cold-gate and the webhook scenarios use the Redis of -redis
// under a unique key prefix that is deleted (SCAN + UNLINK, never FLUSHALL)
// at exit.
//
// Flags: -scenario, -duration (measuring time per comparison, split
// between baseline and subject), -rounds, -concurrency, -redis (default
// $REDIS_URL, else 127.0.0.1:6379), -sessions (warm-gate), -pool (cold-gate,
// webhook-new), -users, -auth-cache and -max-users (memory), and -cpuprofile
// (profiles the measuring rounds of each comparison). The client runs in the
// same process as the server, so both share the CPUs; the ratios are
// comparable between routes, the absolute numbers are the machine's.
//
// See docs/performance.md for the targets and the measured numbers.
package main
