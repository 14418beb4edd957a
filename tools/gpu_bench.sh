#!/usr/bin/env bash
# The GPU benchmarks in one command, for a lent GPU machine (the `device` tool), where nothing can
# be installed: it unpacks what tools/gpu_pack.sh packed here (Vulkan loader, node, node_modules),
# then runs within a time budget, each step under its own timeout so one slow step cannot eat the
# others':
#   bench:kernels --full            (issue 2: every kernel and variant on SD 1.4 shapes)
#   bench:quality --n 500 --steps 20 (issue 5: the 500-image record, --append: rows made stay)
#   bench:unet --full --latent 64   (full-size SD 1.4 UNet at 512 x 512, synthetic f16 weights)
#   bench:sampler                   (per-image times of the tasks on the embedded model)
# and copies bench/RESULTS.md, bench/results/*.json and the log into $OUT.
#
# Here, once per session:  bash tools/gpu_pack.sh
# Then: device run, carry ['.gl', '.gpu', 'bench/results'], timeout_s = budget + 60:
#   bash tools/gpu_bench.sh [budget seconds, default 480] [step names, default: all four]
# e.g. `bash tools/gpu_bench.sh 300 quality` for the quality record alone.
set -uo pipefail
cd "$(dirname "$0")/.."
budget=${1:-480}
shift || true
steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(kernels quality unet sampler)
out=${OUT:-bench/results}
mkdir -p "$out" bench/results
log="$out/gpu_bench.log"
start=$(date +%s)
say() { echo "[gpu_bench $(( $(date +%s) - start ))s] $*" | tee -a "$log"; }

if [ -d .gl ] && ls .gl/*.deb >/dev/null 2>&1 && ! ldconfig -p | grep -q libvulkan.so.1; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
if [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ] && [ -z "${VK_DRIVER_FILES:-}" ]; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
fi

rt=/tmp/tether-runtime
if [ -f .gpu/tether-runtime.tar.xz ]; then
  rm -rf "$rt" && mkdir -p "$rt"
  if ! tar -C "$rt" -xJf .gpu/tether-runtime.tar.xz 2>>"$log"; then
    python3 -c 'import lzma, sys, tarfile; tarfile.open(fileobj=lzma.open(sys.argv[1])).extractall(sys.argv[2])' \
      .gpu/tether-runtime.tar.xz "$rt" || { say "cannot unpack .gpu/tether-runtime.tar.xz"; exit 1; }
  fi
  node="$rt/bin/node"
  [ -d node_modules ] || ln -s "$rt/node_modules" node_modules
else
  node=$(command -v node) || { say "no node: run tools/gpu_pack.sh here and carry .gpu"; exit 1; }
  [ -d node_modules/webgpu ] || { say "no node_modules: run tools/gpu_pack.sh here and carry .gpu"; exit 1; }
fi
export PATH="$(dirname "$node"):$PATH"
[ -n "${TETHER_GOLDEN:-}" ] || [ -d ../shared/golden ] || [ ! -d .gpu/golden ] || export TETHER_GOLDEN="$PWD/.gpu/golden"
say "node $("$node" --version); budget ${budget}s; steps: ${steps[*]}"
"$node" tools/gen_wgsl.mjs >>"$log" 2>&1
if ! adapter=$("$node" tools/probe_gpu.mjs 2>>"$log"); then say "no WebGPU adapter (see $log)"; exit 1; fi
say "adapter: $adapter"

tsx=(node_modules/tsx/dist/cli.mjs)  # run by "$node" (timeout cannot run a shell function)
left() { echo $(( budget - ($(date +%s) - start) )); }
run_step() {  # name, share of the time left (percent), bench script and its arguments
  local name=$1 share=$2; shift 2
  local t=$(( $(left) * share / 100 ))
  if [ "$t" -lt 20 ]; then say "$name: skipped (${t}s left for it)"; return; fi
  say "$name: up to ${t}s: tsx $*"
  timeout --kill-after=10 "$t" "$node" "${tsx[@]}" "$@" >>"$log" 2>&1
  local rc=$?
  say "$name: exit $rc$([ $rc = 124 ] && echo ' (timed out)')"
}
for s in "${steps[@]}"; do
  case $s in
    kernels) run_step kernels 30 bench/kernels.ts --full --reps 5 ;;
    quality) run_step quality 60 bench/quality.ts --n 500 --steps 20 --batch 100 --append ;;
    unet)    run_step unet 60 bench/unet.ts --full --latent 64 --batches 1,2 --reps 3 ;;
    sampler) run_step sampler 100 bench/sampler.ts --steps 20 --reps 2 ;;
    *) say "unknown step '$s' (kernels, quality, unet, sampler)" ;;
  esac
done
cp bench/RESULTS.md "$out/" 2>/dev/null
for f in kernels quality unet sampler; do  # $OUT takes at most 8 files
  [ "$out" = bench/results ] || [ ! -f "bench/results/$f.json" ] || cp "bench/results/$f.json" "$out/"
done
say "done; results in $out"
