#!/usr/bin/env bash
# The full soak: 20,000 calls at concurrency 64 against the mock with faults in about 5 percent of
# the answers, under AddressSanitizer (the asan preset: a leak fails the run). The tests run a short
# form of it (2,000 calls) in every preset.
# Usage: scripts/soak.sh [CALLS]   (default 20000)
set -euo pipefail
cd "$(dirname "$0")/.."
calls="${1:-20000}"
[[ $calls =~ ^[0-9]+$ && $calls -gt 0 ]] || { echo "soak.sh: CALLS must be a positive integer" >&2; exit 2; }

bash scripts/install-deps.sh
cmake --preset asan >/dev/null
cmake --build --preset asan --target oic-integration-tests
start=$(date +%s)
OIC_SOAK_CALLS="$calls" build/asan/bin/oic-integration-tests "soak*" --success 2>&1 |
  grep -E "calls: |test cases|assertions|FAILED" | sort -u
echo "soak: $calls calls in $(( $(date +%s) - start )) s"
