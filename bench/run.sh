#!/usr/bin/env bash
# `npm run bench`: every benchmark, each printing ratios measured in one run. Figures go to docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
echo "== Worst cases: shim and cProfile against bare (bench/overhead.py)"
.venv/bin/python bench/overhead.py "$@"
echo
echo "== The stall sampler: near-threshold stalls at their true line; its cost on a busy reactor (bench/sampler.py)"
.venv/bin/python bench/sampler.py
echo
echo "== twisted.web under wrk: shim against bare (bench/web.py)"
.venv/bin/python bench/web.py
echo
echo "== One render look on a Klein route, first app function against up to 48 (bench/web_look.py)"
PYTHONPATH=runtime taskset -c 1 .venv/bin/python bench/web_look.py
echo
echo "== Telemetry server store: decode, ingest, range queries, memory (bench/server-store.mjs)"
node bench/server-store.mjs
echo
echo "== Telemetry server decoder: before and after issue 11, EVENTS frames before and after their cap (bench/decoder.mjs)"
node bench/decoder.mjs
echo
echo "== Timeline panel following a live session of 50k callbacks/s, 10 minutes (bench/timeline.mjs)"
npm run --silent build >/dev/null
node bench/timeline.mjs
