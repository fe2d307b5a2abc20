#!/usr/bin/env bash
# Builds and runs tests/package/consumer twice: against the installed package (find_package) and
# against the source tree (add_subdirectory). Usage: consumers.sh SOURCE_DIR BUILD_DIR WORK_DIR WITH_REDIS
# (WITH_REDIS ON: the build had hiredis, so the package must offer oic::redis).
set -euo pipefail
src=$1 build=$2 work=$3 expect_redis=$4
rm -rf "$work"
mkdir -p "$work"
cmake --install "$build" --prefix "$work/prefix" >/dev/null
for via in package source; do
  cmake -S "$src/tests/package/consumer" -B "$work/$via" -DOIC_VIA="$via" -DOIC_SOURCE_DIR="$src" \
    -DCMAKE_PREFIX_PATH="$work/prefix" -DOIC_EXPECT_REDIS="$expect_redis" >/dev/null
  cmake --build "$work/$via" >/dev/null
  "$work/$via/consumer" | grep -q "refused: base_url .*is not an http(s) URL" || { echo "consumer via $via: wrong output"; exit 1; }
  echo "consumer via $via: ok"
done
