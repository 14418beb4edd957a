#!/usr/bin/env bash
# Makes sure Dawn finds a WebGPU adapter. Machines with a GPU driver are left untouched. On a
# machine without one, as root on Debian 12 / Ubuntu, installs Mesa's software Vulkan driver
# (lavapipe; Debian 12 needs it from bookworm-backports, its own mesa 22.3 is refused by Dawn).
# Elsewhere it says what to install and fails.
set -euo pipefail
cd "$(dirname "$0")/.."

probe() { node tools/probe_gpu.mjs 2>/dev/null; }

if adapter=$(probe); then echo "WebGPU adapter: $adapter"; exit 0; fi

echo "No WebGPU adapter found: installing Mesa lavapipe (software Vulkan)..." >&2
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  cat >&2 <<MSG
Cannot install a driver here (need root and apt-get). Install a Vulkan driver Dawn accepts, e.g.
  Debian 12:  echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/backports.list
              apt-get update && apt-get install -y -t bookworm-backports mesa-vulkan-drivers
  Ubuntu 24.04+ / Debian 13+:  apt-get install -y mesa-vulkan-drivers
  or your GPU vendor's Vulkan driver; then run this again.
MSG
  exit 1
fi
. /etc/os-release
export DEBIAN_FRONTEND=noninteractive
if [ "${ID:-}" = debian ] && [ "${VERSION_CODENAME:-}" = bookworm ]; then
  echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/backports.list
  apt-get update -qq
  apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers >/dev/null
else
  apt-get update -qq
  apt-get install -y -qq mesa-vulkan-drivers >/dev/null
fi
if adapter=$(probe); then echo "WebGPU adapter: $adapter"; exit 0; fi
echo "Installed mesa-vulkan-drivers but Dawn still finds no adapter; see shared notes on lavapipe versions." >&2
exit 1
