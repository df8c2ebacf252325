#!/usr/bin/env bash
# Type-checks and tests client-js (@starsgate/client) with node's test runner,
# then runs the browser tests (test/browser: the example backend and headless
# Chromium; needs Go, and installs Chromium with scripts/ensure-browser.sh).
#
# Installs the dev dependencies with `npm ci` only when node_modules is
# missing or was installed from another package-lock.json / package.json.
set -euo pipefail
cd "$(dirname "$0")/../client-js"

log() { printf '==> %s\n' "$*" >&2; }

# Node.js 18+ and npm: Debian's packages when missing and we are root.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
		log "installing nodejs and npm with apt-get"
		DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
	fi
fi
for tool in node npm; do
	command -v "$tool" >/dev/null || { echo "$tool not found: client-js needs Node.js 18+ and npm" >&2; exit 1; }
done

stamp=node_modules/.starsgate-install
want="$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)"
if [[ ! -d node_modules || "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
	log "npm ci (client-js)"
	npm ci --no-audit --no-fund
	echo "$want" >"$stamp"
fi

log "tsc --noEmit (client-js)"
npx --no -- tsc --noEmit -p .

log "npm test (client-js)"
npm test

# The browser tests build and run ../example and drive Debian's Chromium.
../scripts/ensure-browser.sh
log "browser tests (client-js, headless Chromium)"
npm run test:browser
