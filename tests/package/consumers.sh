#!/usr/bin/env bash
# Builds and runs tests/package/consumer twice: against the installed package (find_package), linking
# oic::compiled, and against the source tree (add_subdirectory), header-only with oic::oic.
# Usage: consumers.sh SOURCE_DIR BUILD_DIR WORK_DIR WITH_REDIS
# (WITH_REDIS ON: the build had hiredis, so the package must offer oic::redis).
set -euo pipefail
src=$1 build=$2 work=$3 expect_redis=$4
rm -rf "$work"
mkdir -p "$work"
cmake --install "$build" --prefix "$work/prefix" >/dev/null
# A symbol of the session's transport code: defined in a header-only program's object, and in a
# compiled one's only inside oic::compiled.
transport='oic::http::basic_session<boost::asio::any_io_executor[^(]*>::do_send\('
for via in package source; do
  compiled=$([[ $via == package ]] && echo ON || echo OFF)
  cmake -S "$src/tests/package/consumer" -B "$work/$via" -DOIC_VIA="$via" -DOIC_SOURCE_DIR="$src" \
    -DCMAKE_PREFIX_PATH="$work/prefix" -DOIC_EXPECT_REDIS="$expect_redis" -DOIC_COMPILED="$compiled" >/dev/null
  cmake --build "$work/$via" -j2 >/dev/null
  "$work/$via/consumer" | grep -q "refused: base_url .*is not an http(s) URL" || { echo "consumer via $via: wrong output"; exit 1; }
  defined=$(nm -C --defined-only "$work/$via/CMakeFiles/consumer.dir/main.cpp.o" | grep -c -E "$transport" || true)
  if [[ $compiled == ON && $defined != 0 ]]; then
    echo "consumer via $via: compiled mode, yet main.cpp.o holds the transport code ($transport)"; exit 1
  elif [[ $compiled == OFF && $defined == 0 ]]; then
    echo "consumer via $via: header-only, yet main.cpp.o lacks $transport (the check above would prove nothing)"; exit 1
  fi
  echo "consumer via $via (compiled mode $compiled): ok"
done
