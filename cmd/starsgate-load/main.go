package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// options are the command's flags.
type options struct {
	scenario    string
	duration    time.Duration
	rounds      int
	concurrency int
	redis       string
	sessions    int
	pool        int
	users       int
	authCache   int
	maxUsers    int
	cpuprofile  string
}

// scenario runs one measurement and prints its report to w.
type scenario struct {
	name string
	run  func(ctx context.Context, o options, w io.Writer) (*comparison, error)
}

// scenarios lists what -scenario accepts, in the order "all" runs them.
// The checkout scenarios are appended by checkout.go.
var scenarios = []scenario{
	{"warm-gate", warmGate},
	{"cold-gate", coldGate},
	{"memory", memory},
}

func scenarioNames() []string {
	names := make([]string, len(scenarios))
	for i, s := range scenarios {
		names[i] = s.name
	}
	return names
}

// run parses args, runs the scenarios and returns the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, getenv, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	fmt.Fprintf(stdout, "starsgate-load: %s %s/%s, GOMAXPROCS %d, NumCPU %d\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0), runtime.NumCPU())
	for _, s := range scenarios {
		if o.scenario != "all" && o.scenario != s.name {
			continue
		}
		if _, err := s.run(ctx, o, stdout); err != nil {
			fmt.Fprintf(stderr, "starsgate-load: %s: %v\n", s.name, err)
			return 1
		}
	}
	return 0
}

func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("starsgate-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.scenario, "scenario", "warm-gate", "scenario to run: all, "+strings.Join(scenarioNames(), ", "))
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "measuring time per comparison scenario, split between baseline and subject")
	fs.IntVar(&o.rounds, "rounds", 5, "rounds of baseline and subject (alternating order)")
	fs.IntVar(&o.concurrency, "concurrency", 8, "concurrent keep-alive connections (precheckout: at least 100)")
	fs.StringVar(&o.redis, "redis", cmpOr(getenv("REDIS_URL"), "127.0.0.1:6379"), "Redis address or URL (env REDIS_URL)")
	fs.IntVar(&o.sessions, "sessions", 1000, "warm-gate: returning users, each with one init data, all cached")
	fs.IntVar(&o.pool, "pool", 100_000, "cold-gate and webhook-new: one-use requests prepared in advance; a round that uses up its share ends early")
	fs.IntVar(&o.users, "users", 1_000_000, "memory: distinct users")
	fs.IntVar(&o.authCache, "auth-cache", 0, "memory: AuthConfig.CacheSize (0: the library default)")
	fs.IntVar(&o.maxUsers, "max-users", 0, "memory: CheckerConfig.MaxUsers (0: the library default)")
	fs.StringVar(&o.cpuprofile, "cpuprofile", "", "profile the measuring rounds of each comparison into <this>.<scenario>.prof")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.scenario != "all" && !slices.Contains(scenarioNames(), o.scenario) {
		fmt.Fprintf(stderr, "starsgate-load: unknown scenario %q (have: all, %s)\n", o.scenario, strings.Join(scenarioNames(), ", "))
		return o, errors.New("bad flags")
	}
	if o.duration <= 0 || o.rounds < 1 || o.concurrency < 1 || o.sessions < 1 || o.pool < 1 || o.users < 1 {
		fmt.Fprintln(stderr, "starsgate-load: -duration, -rounds, -concurrency, -sessions, -pool and -users must be positive")
		return o, errors.New("bad flags")
	}
	return o, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// burstWaves is how many bursts the pre-checkout scenarios send: one per
// 100 ms of -duration, at least 5.
func (o options) burstWaves() int {
	return max(5, int(o.duration/(100*time.Millisecond)))
}

// perSide is how long each round of one side lasts.
func (o options) perSide() time.Duration {
	return max(10*time.Millisecond, o.duration/time.Duration(2*o.rounds))
}
