#!/usr/bin/env bash
# Makes sure Dawn finds a WebGPU adapter. Machines with a GPU driver are left untouched. On a
# machine without one, as root on Debian 12 / Ubuntu, installs Mesa's software Vulkan driver
# (lavapipe; Debian 12 needs it from bookworm-backports, its own mesa 22.3 is refused by Dawn).
# The backports line uses the Debian mirror this machine's own apt sources already name (one-line
# or deb822 format), so no registry host is written here. Elsewhere it says what to install and fails.
set -euo pipefail
cd "$(dirname "$0")/.."

probe() { node tools/probe_gpu.mjs 2>/dev/null; }

if adapter=$(probe); then echo "WebGPU adapter: $adapter"; exit 0; fi

echo "No WebGPU adapter found: installing Mesa lavapipe (software Vulkan)..." >&2
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  cat >&2 <<MSG
Cannot install a driver here (need root and apt-get). Install a Vulkan driver Dawn accepts, e.g.
  Debian 12:  add 'deb MIRROR bookworm-backports main' to /etc/apt/sources.list.d/backports.list, where
              MIRROR is the Debian mirror your /etc/apt sources already use; then
              apt-get update && apt-get install -y -t bookworm-backports mesa-vulkan-drivers
  Ubuntu 24.04+ / Debian 13+:  apt-get install -y mesa-vulkan-drivers
  or your GPU vendor's Vulkan driver; then run this again.
MSG
  exit 1
fi
. /etc/os-release
export DEBIAN_FRONTEND=noninteractive
# The URI of the machine's Debian archive for bookworm (not -security), from its apt sources.
debian_mirror() {
  {
    grep -hsE '^[[:space:]]*deb[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list |
      awk '/[[:space:]]bookworm(-updates|-backports)?[[:space:]]/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z+]+:\/\//) { print $i; break } }'
    # deb822 stanzas: remember URIs, print it at a Suites line naming bookworm (stanza order varies)
    for f in /etc/apt/sources.list.d/*.sources; do
      [ -f "$f" ] && awk 'BEGIN { RS = ""; FS = "\n" } {
        uri = ""; hit = 0
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^URIs:/) { split($i, a, /[[:space:]]+/); uri = a[2] }
          if ($i ~ /^Suites:/ && $i ~ /[[:space:]]bookworm(-updates)?([[:space:]]|$)/) hit = 1
        }
        if (hit && uri != "") print uri }' "$f"
    done
  } | grep -v -- '-security' | head -n 1
}
if [ "${ID:-}" = debian ] && [ "${VERSION_CODENAME:-}" = bookworm ]; then
  mirror=$(debian_mirror)
  if [ -z "$mirror" ]; then
    echo "No Debian bookworm mirror found in /etc/apt sources: add bookworm-backports by hand and install mesa-vulkan-drivers from it." >&2
    exit 1
  fi
  grep -qsE "^[[:space:]]*deb[[:space:]].*bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/*.list ||
    echo "deb $mirror bookworm-backports main" > /etc/apt/sources.list.d/backports.list
  apt-get update -qq
  apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers >/dev/null
else
  apt-get update -qq
  apt-get install -y -qq mesa-vulkan-drivers >/dev/null
fi
if adapter=$(probe); then echo "WebGPU adapter: $adapter"; exit 0; fi
echo "Installed mesa-vulkan-drivers but Dawn still finds no adapter; see shared notes on lavapipe versions." >&2
exit 1
