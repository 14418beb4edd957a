#!/usr/bin/env bash
# Makes sure headless Chromium exists for the browser tests (test/e2e/browser*.test.ts), which
# drive it with playwright-core at /usr/bin/chromium (or $TETHER_CHROMIUM). As root on
# Debian/Ubuntu it installs Debian's `chromium` package (~17 s); elsewhere it says what to do.
# Its WebGPU adapter is SwiftShader (software): no GPU is needed.
set -euo pipefail
CHROMIUM="${TETHER_CHROMIUM:-/usr/bin/chromium}"

if [ -x "$CHROMIUM" ]; then
  echo "Chromium: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  cat >&2 <<MSG
No Chromium at $CHROMIUM, and it cannot be installed here (needs root and apt-get). Either
  sudo apt-get install -y --no-install-recommends chromium      (Debian 12 / Ubuntu)
or set TETHER_CHROMIUM to a Chromium or Chrome binary.
MSG
  exit 1
fi
echo "Installing Chromium for the browser tests..." >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
[ -x "$CHROMIUM" ] || { echo "installed the chromium package but $CHROMIUM is missing" >&2; exit 1; }
echo "Chromium: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
