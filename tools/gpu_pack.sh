#!/usr/bin/env bash
# Packs what a lent GPU machine (the `device` tool; /work/.library/device/README.md) needs to run
# Tether's benchmarks, since nothing can be installed there: no npm registry, no Node, no Vulkan
# loader. Run it here, once per session; then on the device run tools/gpu_bench.sh with
#   carry ['.gl', '.gpu', 'bench/results']
# .gl/  the Vulkan/EGL loader packages (Debian's; unpacked there with dpkg -x)
# .gpu/ tether-runtime.tar.xz: this machine's node binary and the node_modules the benchmarks
#       import at run time (webgpu with only its linux-x64 Dawn, tsx + esbuild, pngjs, commander,
#       cli-progress and its few dependencies), ~35 MB compressed (the working tree that travels
#       must stay under 64 MiB, weights/ included), and golden/: the SD 1.4 key manifest and UNet
#       config that the full-size UNet bench builds its synthetic weights from.
# Both folders are git-ignored.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules/webgpu ] || npm ci --no-audit --no-fund

if ! ls .gl/libvulkan1_*.deb >/dev/null 2>&1; then
  mkdir -p .gl /tmp/tether-apt-amd64/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/tether-apt-amd64'
  apt-get $o update -qq
  (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
fi

stage=$(mktemp -d -t tether-gpu-pack-XXXXXX)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/node_modules"
cp "$(readlink -f "$(command -v node)")" "$stage/bin/node"
runtime=(webgpu tsx esbuild @esbuild pngjs commander cli-progress string-width strip-ansi ansi-regex emoji-regex is-fullwidth-code-point)
for m in "${runtime[@]}"; do
  [ -e "node_modules/$m" ] || { echo "gpu_pack: node_modules/$m is missing (npm ci first)" >&2; exit 1; }
  mkdir -p "$stage/node_modules/$(dirname "$m")"
  cp -a "node_modules/$m" "$stage/node_modules/$m"
done
# Dawn for the device's platform only (the package ships five)
find "$stage/node_modules/webgpu/dist" -mindepth 1 -maxdepth 1 ! -name linux-x64 -exec rm -rf {} +
mkdir -p .gpu
# the full-size SD 1.4 UNet bench synthesises weights from the goldens' SD 1.4 key manifest and
# config (shared/ does not travel to the device)
golden=${TETHER_GOLDEN:-../shared/golden}
rm -rf .gpu/golden && mkdir -p .gpu/golden/sd14_configs/unet
cp "$golden/sd14_configs/sd14_key_manifest.json" .gpu/golden/sd14_configs/
cp "$golden/sd14_configs/unet/config.json" .gpu/golden/sd14_configs/unet/
tmp=.gpu/tether-runtime.tar.xz.tmp
tar -C "$stage" -cf - bin node_modules | xz -T0 -6 > "$tmp"
mv "$tmp" .gpu/tether-runtime.tar.xz
echo "gpu_pack: .gl/ $(du -sh .gl | cut -f1), .gpu/tether-runtime.tar.xz $(du -h .gpu/tether-runtime.tar.xz | cut -f1) ($("$stage/bin/node" --version))"
tracked=$(git ls-files -z | du -c --files0-from=- -b | tail -1 | cut -f1)
echo "gpu_pack: tracked files $((tracked / 1048576)) MiB; the device's limit is 64 MiB for all that travels"
