#!/usr/bin/env bash
# Installs the Debian 12 packages oic needs, only those that are missing.
# As root it runs apt-get; otherwise it prints the exact command and fails.
# Usage: scripts/install-deps.sh [--bench | --fuzz]
#   --bench adds what scripts/bench.sh uses: nginx-light (the server), wrk (the ceiling), libcurl
#   (the peer client), gnuplot-nox (the chart), python3 (page, report); taskset and setpriv come
#   with util-linux, timeout with coreutils (both essential).
#   --fuzz adds what scripts/fuzz.sh uses: clang and its libFuzzer and sanitizer runtimes.
set -euo pipefail

packages=(build-essential cmake pkg-config openssl libssl-dev
          libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev catch2 clang-format
          libhiredis-dev redis-server curl doxygen)
case "${1:-}" in
  "") ;;
  --bench) packages+=(nginx-light wrk libcurl4-openssl-dev gnuplot-nox python3 util-linux coreutils) ;;
  --fuzz) packages+=(clang libclang-rt-14-dev) ;;
  *) echo "install-deps.sh: unknown option '$1' (usage: scripts/install-deps.sh [--bench | --fuzz])" >&2; exit 2 ;;
esac

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
  echo "oic: missing packages: ${missing[*]}" >&2
  echo "oic: run as root: apt-get update && $cmd" >&2
  exit 1
fi
echo "oic: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Installing nginx or redis-server would start the system's service (ports 80, 6379): the benchmarks
# and tests run their own, so keep the packages' services from starting (policy-rc.d, only while
# apt-get runs, only if none exists).
policy=/usr/sbin/policy-rc.d
if [[ ( " ${missing[*]} " == *" nginx-light "* || " ${missing[*]} " == *" redis-server "* ) && ! -e $policy ]]; then
  trap 'rm -f "$policy"' EXIT
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
fi
apt-get update -qq
$cmd >/dev/null
