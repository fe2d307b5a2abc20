#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz (preset fuzz: clang, ASan + UBSan) and runs each for a
# bounded time from its committed seed corpus (tests/fuzz/corpus/<name>, only read: what the run
# finds goes to a temp dir). A crash, a leak or a broken property fails the run, and the input that
# did it is kept as build/fuzz/crash-<name>-* to reproduce with `build/fuzz/bin/fuzz-<name> FILE`.
# Usage: scripts/fuzz.sh [SECONDS]   (per target; default 30)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
[[ $seconds =~ ^[0-9]+$ && $seconds -gt 0 ]] || { echo "fuzz.sh: SECONDS must be a positive integer" >&2; exit 2; }

bash scripts/install-deps.sh --fuzz
cmake --preset fuzz >/dev/null
targets=(page token redirect response retry_after)
cmake --build --preset fuzz --target "${targets[@]/#/fuzz-}"

work=$(mktemp -d /tmp/oic-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
for name in "${targets[@]}"; do
  mkdir -p "$work/$name"
  echo "fuzz: $name, ${seconds} s"
  if ! build/fuzz/bin/fuzz-"$name" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=1024 \
      -print_final_stats=1 -artifact_prefix="build/fuzz/crash-$name-" "$work/$name" "tests/fuzz/corpus/$name" \
      >"$work/$name.log" 2>&1; then
    tail -n 60 "$work/$name.log" >&2
    echo "fuzz: $name FAILED (input kept as build/fuzz/crash-$name-*)" >&2
    exit 1
  fi
  grep -E '^stat::number_of_executed_units|^stat::new_units_added' "$work/$name.log" | sed "s/^/fuzz: $name /"
done
echo "fuzz: all targets ran ${seconds} s each without a failure"
