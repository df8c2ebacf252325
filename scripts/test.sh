#!/usr/bin/env bash
# Runs every test of the project on a fresh machine.
#
# It finds a Redis (REDIS_URL, else 127.0.0.1:6379) or starts a throwaway
# redis-server on a free port (installing it with apt-get when it is missing
# and we are root), then runs go vet, go test -race, the allocation tests
# (without -race), a short benchmark pass and the client-js tests, headless
# Chromium ones included. Redis test suites
# fail, never skip, when Redis is unreachable: this script is what guarantees
# one exists.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> %s\n' "$*" >&2; }

redis_ping() { # host port
	local reply
	exec 3<>"/dev/tcp/$1/$2" 2>/dev/null || return 1
	printf 'PING\r\n' >&3
	IFS= read -r -t 2 reply <&3 || true
	exec 3>&- 3<&-
	[[ "$reply" == +PONG* ]]
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
		echo $((20000 + RANDOM % 20000))
}

REDIS_PID=""
cleanup() {
	if [[ -n "$REDIS_PID" ]]; then
		kill "$REDIS_PID" 2>/dev/null || true
		wait "$REDIS_PID" 2>/dev/null || true
	fi
}
trap cleanup EXIT

ensure_redis() {
	if [[ -n "${REDIS_URL:-}" ]]; then
		log "using REDIS_URL from the environment"
		return
	fi
	if redis_ping 127.0.0.1 6379; then
		export REDIS_URL="redis://127.0.0.1:6379/0"
		log "using the Redis at 127.0.0.1:6379"
		return
	fi
	if ! command -v redis-server >/dev/null; then
		if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
			log "installing redis-server with apt-get"
			DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
		else
			echo "no Redis found: set REDIS_URL, run one on 127.0.0.1:6379, or install redis-server" >&2
			exit 1
		fi
	fi
	local port
	port="$(free_port)"
	log "starting a throwaway redis-server on 127.0.0.1:$port"
	redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
		--maxmemory-policy noeviction --daemonize no --loglevel warning >/dev/null &
	REDIS_PID=$!
	for _ in $(seq 1 50); do
		redis_ping 127.0.0.1 "$port" && break
		sleep 0.1
	done
	redis_ping 127.0.0.1 "$port" || { echo "redis-server did not start" >&2; exit 1; }
	export REDIS_URL="redis://127.0.0.1:$port/0"
}

ensure_redis

log "go vet ./..."
go vet ./...

log "go test -race ./..."
go test -race -count=1 -timeout 20m ./...

# Allocation counts are checked without -race (the race detector
# allocates): middleware/alloc_test.go is built only then.
log "allocation tests (no -race)"
go test -count=1 -run 'Allocations' ./middleware/

log "benchmarks, once briefly (they must keep compiling and running)"
go test -run '^$' -bench . -benchtime=20x -count=1 ./... >/dev/null

if [[ -x scripts/test-js.sh ]]; then
	scripts/ensure-browser.sh # Chromium for the browser tests
	log "client-js tests"
	scripts/test-js.sh
fi
