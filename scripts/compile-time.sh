#!/usr/bin/env bash
# What a user's file that includes <oic/oic.hpp> costs to compile (tests/package/consumer/main.cpp:
# a client on a thread pool, calls by coroutine, callback and future, a deadline, diagnostics),
# header-only and in compiled mode (OIC_SEPARATE_COMPILATION, oic/src.hpp compiled once apart), at
# -O2 and at -O0 -g: CPU seconds (user + sys) and peak memory of g++, one file at a time.
# Writes benchmarks/results/compile.json and prints a table.
#
# Usage: scripts/compile-time.sh [--baseline REV]
#   --baseline REV  also measures header-only at git revision REV (e.g. the last commit before the
#                   compiled mode), the same consumer file against that revision's headers.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
baseline=""
if [[ ${1:-} == --baseline ]]; then
  baseline=${2:?--baseline needs a revision}
fi
command -v g++ >/dev/null || { echo "compile-time.sh: g++ is missing (bash scripts/install-deps.sh)"; exit 1; }
[[ -x /usr/bin/time ]] || { echo "compile-time.sh: /usr/bin/time is missing (apt-get install time)"; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
consumer=$root/tests/package/consumer/main.cpp
compiled_defs=(-DOIC_SEPARATE_COMPILATION -DBOOST_ASIO_SEPARATE_COMPILATION -DBOOST_BEAST_SEPARATE_COMPILATION)
echo '#include <oic/src.hpp>' >"$work/src.cpp"

results=()
# measure NAME FLAGS INCLUDE_DIR SOURCE [DEFINES...]
measure() {
  local name=$1 flags=$2 include=$3 source=$4
  shift 4
  # shellcheck disable=SC2086 # the flags are words
  /usr/bin/time -f "%U %S %M" -o "$work/time" g++ -std=c++20 $flags "$@" -I"$include" -c "$source" -o "$work/out.o"
  read -r user sys kib <"$work/time"
  local cpu mib
  cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.1f", u + s }')
  mib=$((kib / 1024))
  printf '%-34s %-8s %8s s %8s MiB\n' "$name" "$flags" "$cpu" "$mib"
  results+=("{\"what\": \"$name\", \"flags\": \"$flags\", \"cpu_s\": $cpu, \"peak_mib\": $mib}")
}

if [[ -n $baseline ]]; then
  mkdir "$work/baseline"
  git -C "$root" archive "$baseline" include | tar -x -C "$work/baseline"
fi
printf '%-34s %-8s %10s %12s\n' "translation unit" "flags" "CPU" "peak memory"
for flags in "-O2" "-O0 -g"; do
  if [[ -n $baseline ]]; then
    measure "consumer, header-only at $baseline" "$flags" "$work/baseline/include" "$consumer"
  fi
  measure "consumer, header-only" "$flags" "$root/include" "$consumer"
  measure "consumer, compiled mode" "$flags" "$root/include" "$consumer" "${compiled_defs[@]}"
  measure "oic/src.hpp (once per program)" "$flags" "$root/include" "$work/src.cpp" "${compiled_defs[@]}"
done

mkdir -p "$root/benchmarks/results"
{
  echo "{"
  echo "  \"date\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\","
  echo "  \"compiler\": \"$(g++ --version | head -1)\","
  echo "  \"machine\": \"$(nproc) cores, $(awk '/MemTotal/ { printf "%d MiB", $2 / 1024 }' /proc/meminfo)\","
  echo "  \"results\": ["
  for i in "${!results[@]}"; do
    sep=","
    [[ $i == $((${#results[@]} - 1)) ]] && sep=""
    echo "    ${results[$i]}$sep"
  done
  echo "  ]"
  echo "}"
} >"$root/benchmarks/results/compile.json"
echo "written: benchmarks/results/compile.json"
