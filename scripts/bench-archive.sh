#!/usr/bin/env bash
# Archive export and import through the runtime host (issue 21): `oic integrations export` and
# `oic integrations import --replace` against curl (`--location-trusted`, `-o` and `-X PUT -F
# file=@...`, the token fetched by curl too), an archive of MIB MiB from oic-mock-server over TLS on
# 127.0.0.1. Per client and direction: seconds, MiB/s, peak RSS of the process and its growth over
# the same client's smallest call (one page of connections), the API requests and request-body bytes
# each host saw, and (export) whether the file is byte-exact (SHA-256 against X-Content-SHA256).
# Writes benchmarks/results/archive.json and a markdown table on stdout.
#
# Usage: scripts/bench-archive.sh [MIB]   (default 50)
set -euo pipefail
cd "$(dirname "$0")/.."

mib=${1:-50}
case "$mib" in '' | *[!0-9]*) echo "bench-archive.sh: MIB must be a number, not '$mib'" >&2; exit 2 ;; esac
log() { echo "bench-archive: $*" >&2; }

bash scripts/install-deps.sh --bench >&2
for tool in curl jq; do
  command -v "$tool" >/dev/null || { apt-get install -y "$tool" >&2; }
done
cmake --preset bench >/dev/null
cmake --build --preset bench --target oic-mock-server oic-cli >&2
bin=$PWD/build/bench/bin

tmp=$(mktemp -d /tmp/oic-archive.XXXXXX)
mock_pid=
cleanup() {
  [ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

"$bin/oic-mock-server" --archive-size $((mib * 1024 * 1024)) >"$tmp/ready" &
mock_pid=$!
for _ in $(seq 100); do [ -s "$tmp/ready" ] && break; sleep 0.1; done
[ -s "$tmp/ready" ] || { log "oic-mock-server did not start"; exit 1; }
field() { jq -r ".$1" "$tmp/ready"; }
ca=$(field ca_file)
runtime=$(field runtime_url)
design_host=$(field design_url | sed 's#^https://##')
instance=$(field integration_instance)
export OIC_TOKEN_URL OIC_CLIENT_ID OIC_CLIENT_SECRET OIC_SCOPE OIC_BASE_URL OIC_INTEGRATION_INSTANCE
OIC_TOKEN_URL=$(field token_url) OIC_CLIENT_ID=$(field client_id) OIC_CLIENT_SECRET=$(field client_secret)
OIC_SCOPE=$(field scope) OIC_BASE_URL=$runtime OIC_INTEGRATION_INSTANCE=$instance
oic=("$bin/oic" --cacert "$ca" --trust-host "$design_host")

id=$("${oic[@]}" integrations list --limit 1 --output json | jq -r '.[0].id')
enc_id=$(jq -rn --arg v "$id" '$v|@uri')
archive_url="$runtime/ic/api/integration/v1/integrations/$enc_id/archive?integrationInstance=$instance"
page_url="$runtime/ic/api/integration/v1/connections?limit=1&integrationInstance=$instance"
token=$(curl -s --cacert "$ca" -u "$OIC_CLIENT_ID:$OIC_CLIENT_SECRET" --data-urlencode "grant_type=client_credentials" \
  --data-urlencode "scope=$OIC_SCOPE" "$OIC_TOKEN_URL" | jq -r .access_token)
curl=(curl -s -f --cacert "$ca" --location-trusted -H "Authorization: Bearer $token")
expected=$("${curl[@]}" -D - -o /dev/null "$archive_url" | tr -d '\r' | sed -n 's/^[Xx]-[Cc]ontent-[Ss][Hh][Aa]256: //p')
[ -n "$expected" ] || { log "no X-Content-SHA256 from the mock"; exit 1; }

counters() { curl -s --cacert "$ca" "$(field counters_url)"; }
# `measure NAME CMD...`: runs CMD under GNU time; prints "seconds peak_kib".
measure() {
  /usr/bin/time -f "%e %M" -o "$tmp/time" "$@" >/dev/null 2>"$tmp/err" || { cat "$tmp/err" >&2; return 1; }
  cat "$tmp/time"
}

rows=()
run_client() { # OP NAME FILE BASELINE_CMD... -- CMD...
  local op=$1 name=$2 file=$3
  shift 3
  local base=()
  while [ "$1" != -- ]; do base+=("$1"); shift; done
  shift
  local b e before after
  b=$(measure "${base[@]}")
  before=$(counters)
  e=$(measure "$@")
  after=$(counters)
  local seconds=${e% *} peak=${e#* } base_peak=${b#* }
  local sum exact
  sum=$(sha256sum "$file" | cut -d' ' -f1)
  exact=$([ "$sum" = "$expected" ] && echo true || echo false)
  [ "$op" = import ] && exact=null
  delta() { echo $(($(jq ".$1" <<<"$after") - $(jq ".$1" <<<"$before"))); }
  rows+=("$(jq -n --arg op "$op" --arg client "$name" --argjson mib "$mib" --argjson seconds "$seconds" \
    --argjson peak "$peak" --argjson base "$base_peak" --argjson exact "$exact" \
    --argjson rt "$(delta runtime_api_requests)" --argjson dt "$(delta design_api_requests)" \
    --argjson tok "$(delta design_authorization_headers)" --argjson rb "$(delta runtime_body_bytes)" \
    --argjson db "$(delta design_body_bytes)" \
    '{op: $op, client: $client, mib: $mib, seconds: $seconds, mib_per_s: ($mib / ([$seconds, 0.001] | max)),
      peak_rss_kib: $peak, baseline_rss_kib: $base, rss_growth_kib: ($peak - $base), byte_exact: $exact,
      runtime_requests: $rt, design_requests: $dt, design_requests_with_token: $tok,
      runtime_body_bytes: $rb, design_body_bytes: $db}')")
  log "$op $name: ${seconds} s, peak RSS ${peak} KiB (baseline ${base_peak}), byte-exact $exact"
}

run_client export oic "$tmp/oic.iar" "${oic[@]}" connections list --limit 1 -- \
  "${oic[@]}" integrations export "$id" -o "$tmp/oic.iar"

run_client export "curl --location-trusted" "$tmp/curl.iar" "${curl[@]}" -o /dev/null "$page_url" -- \
  "${curl[@]}" -o "$tmp/curl.iar" "$archive_url"

# The exported archive back in, replacing the integration: the runtime host answers the PUT's
# `Expect: 100-continue` with its 307, so the body should reach the design host only.
import_url="$runtime/ic/api/integration/v1/integrations/archive?integrationInstance=$instance"
run_client import oic "$tmp/oic.iar" "${oic[@]}" connections list --limit 1 -- \
  "${oic[@]}" integrations import "$tmp/oic.iar" --replace

run_client import "curl --location-trusted" "$tmp/curl.iar" "${curl[@]}" -o /dev/null "$page_url" -- \
  "${curl[@]}" -o /dev/null -X PUT -F "file=@$tmp/curl.iar;type=application/octet-stream" "$import_url"

mkdir -p benchmarks/results
printf '%s\n' "${rows[@]}" | jq -s --arg date "$(date -u +%F)" '{date: $date, rows: .}' >benchmarks/results/archive.json
echo "| | client | MiB | s | MiB/s | peak RSS | growth over one page | byte-exact | runtime / design requests (with token) | body bytes to runtime / design |"
echo "|---|---|---|---|---|---|---|---|---|---|"
jq -r '.rows[] | "| \(.op) | \(.client) | \(.mib) | \(.seconds) | \(.mib_per_s * 10 | round / 10) | \(.peak_rss_kib) KiB | \(.rss_growth_kib) KiB | \(.byte_exact // "-") | \(.runtime_requests) / \(.design_requests) (\(.design_requests_with_token)) | \(.runtime_body_bytes) / \(.design_body_bytes) |"' \
  benchmarks/results/archive.json
