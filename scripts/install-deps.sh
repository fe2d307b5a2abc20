#!/usr/bin/env bash
# Installs the Debian 12 packages oic needs, only those that are missing.
# As root it runs apt-get; otherwise it prints the exact command and fails.
# Usage: scripts/install-deps.sh [--bench]   (--bench adds wrk and libcurl for the benchmarks)
set -euo pipefail

packages=(build-essential cmake pkg-config openssl libssl-dev
          libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev catch2)
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(wrk libcurl4-openssl-dev)
fi

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
apt-get update -qq
$cmd >/dev/null
