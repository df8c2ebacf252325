#!/usr/bin/env bash
# Makes sure a Chromium for the client-js browser tests exists at
# $CHROMIUM_PATH (default /usr/bin/chromium).
#
# The only Chromium we use is Debian's `chromium` package: it is installed
# with apt-get when missing and we are root. Playwright's own browser
# downloads (`npx playwright install`) are never used: the tests drive this
# binary with playwright-core. The emoji font is only for legible screenshots.
set -euo pipefail

chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"

if [[ -x "$chromium" ]]; then
	exit 0
fi
if [[ "$chromium" != /usr/bin/chromium ]]; then
	echo "CHROMIUM_PATH=$chromium is not an executable file" >&2
	exit 1
fi
if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null; then
	echo "no Chromium at /usr/bin/chromium: install Debian's chromium package (apt-get install chromium)" >&2
	echo "or set CHROMIUM_PATH to a Chromium or Chrome binary" >&2
	exit 1
fi
printf '==> %s\n' "installing chromium with apt-get" >&2
DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-color-emoji >/dev/null
[[ -x "$chromium" ]] || { echo "apt-get installed chromium but $chromium is missing" >&2; exit 1; }
