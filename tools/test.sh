#!/usr/bin/env bash
# The test command (README, .ci/run): installs npm packages if missing, makes sure a WebGPU
# adapter exists (installing the software Vulkan driver when there is none), runs the whole
# suite, and ends with one plain 'N passed, N failed, N skipped' line. Extra arguments go to
# vitest (e.g. a file filter). Slow full-size model tests run with TETHER_SLOW=1.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules/webgpu ] || npm ci --no-audit --no-fund
bash tools/ensure_gpu.sh
bash tools/ensure_chromium.sh
node tools/gen_wgsl.mjs
report=$(mktemp -t tether-vitest-XXXXXX.json)
set +e
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@"
status=$?
set -e
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const skipped = r.numPendingTests + (r.numTodoTests || 0);
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
  if (r.numTotalTests === 0) { console.error("no test ran"); process.exit(1); }
' "$report" || status=1
rm -f "$report"
exit $status
