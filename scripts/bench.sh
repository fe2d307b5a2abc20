#!/usr/bin/env bash
# Builds and runs oic-bench (the oic client vs a fetch-per-call baseline, libcurl and wrk, all against
# oic-mock-server on 127.0.0.1). Results: benchmarks/results/latest.json and a table on stdout.
# Usage: scripts/bench.sh [oic-bench options]   e.g. --scenario token_storm
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh --bench
cmake --preset bench >/dev/null && cmake --build --preset bench --target oic-bench oic-mock-server
build/bench/bin/oic-bench --out benchmarks/results/latest.json "$@"
