#!/usr/bin/env bash
# The benchmarks of issue 8: oic against libcurl + a JSON DOM and wrk (the ceiling), all against
# nginx on 127.0.0.1 over TLS, plus token_storm and fleet_storm (oic-mock-server, fleet-member,
# redis-server), inflight_memory (bench-slow-server) and parse_only (no network). Installs what is missing, builds (preset
# bench, build/bench), generates a test CA, a server certificate and an nginx config in a temp dir, starts nginx (one worker on CPU
# 0, unprivileged, in the foreground), runs each client alone on CPU 1, one at a time, and writes
# benchmarks/results/latest.json, benchmarks/results/latest.png and a markdown table on stdout.
#
# Usage: scripts/bench.sh [--quick]
#   --quick   1 s warm-up + 2 s per row, one round (about a minute once built); default 2 s + 6 s,
#             and the rows where wrk, libcurl and oic are compared run in 3 interleaved rounds, of
#             which the table shows the median (the machine's speed drifts during a run).
#   OIC_BENCH_PERF=FILE in the environment records oic's list_keepalive c64 row with `perf record -g`.
# Exit status: 0 ok, 1 a row failed or the run could not start, 2 bad usage.
set -euo pipefail
cd "$(dirname "$0")/.."

warmup=2 duration=6 rounds=3 mode=full
case "${1:-}" in
  "") ;;
  --quick) warmup=1 duration=2 rounds=1 mode=quick ;;
  -h | --help) sed -n '2,14p' "$0" | cut -c3-; exit 0 ;;
  *) echo "bench.sh: unknown option '$1' (usage: scripts/bench.sh [--quick])" >&2; exit 2 ;;
esac
log() { echo "bench: $*" >&2; }

bash scripts/install-deps.sh --bench >&2
cmake --preset bench >/dev/null
build_start=$SECONDS
cmake --build --preset bench --target bench-oic bench-libcurl bench-slow-server oic-mock-server fleet-member >&2
log "build: $((SECONDS - build_start)) s"
bin=$PWD/build/bench/bin
bench_py=$PWD/benchmarks/bench.py
results=$PWD/benchmarks/results

# One temp dir for everything; every process started here is killed on exit.
tmp=$(mktemp -d /tmp/oic-bench.XXXXXX)
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in {1..50}; do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

forget() { # the pid has been waited for: never signal it again
  local p kept=()
  for p in "${pids[@]}"; do [[ $p == "$1" ]] || kept+=("$p"); done
  pids=("${kept[@]}")
}

# run_bounded OUT SECONDS CMD...: CMD under timeout (which signals CMD's whole process group, the
# mock server bench-oic starts included), stdout to OUT; returns its status.
run_bounded() {
  local out=$1 limit=$2 pid rc=0
  shift 2
  timeout --kill-after=5 "$limit" "$@" >"$out" &
  pid=$!
  pids+=("$pid")
  wait "$pid" || rc=$?
  forget "$pid"
  return "$rc"
}

# wait_for_port PORT: until something listens on 127.0.0.1:PORT (5 s at most).
wait_for_port() {
  for _ in {1..50}; do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  log "nothing listens on 127.0.0.1:$1"
  return 1
}

# ---- A test CA and a server certificate for 127.0.0.1 (IP SAN), ECDSA P-256.
tls=$tmp/tls
mkdir -m 700 "$tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=oic-bench test CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -keyout "$tls/ca.key" -out "$tls/ca.pem" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=127.0.0.1" \
  -keyout "$tls/server.key" -out "$tls/server.csr" 2>/dev/null
printf '%s\n' "subjectAltName=IP:127.0.0.1" "basicConstraints=critical,CA:FALSE" \
  "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" >"$tls/server.ext"
openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -set_serial "0x$(openssl rand -hex 8)" \
  -days 2 -extfile "$tls/server.ext" -out "$tls/server.pem" 2>/dev/null
ca=$tls/ca.pem

# ---- nginx: its own config, pid file, logs and temp dirs in $tmp/nginx, 127.0.0.1 only.
ngx=$tmp/nginx
mkdir -p "$ngx/tmp"
cp "$tls/server.pem" "$tls/server.key" "$ngx/"
python3 "$bench_py" page "$ngx/connections.json"
token=$(openssl rand -hex 32) # b64token characters only; only nginx.conf below holds it
read -r idp_port design_port runtime_port < <(python3 "$bench_py" free-ports 3)
cat >"$ngx/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 1;
pid $ngx/nginx.pid;
error_log $ngx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $ngx/tmp/body;
  proxy_temp_path $ngx/tmp/proxy;
  fastcgi_temp_path $ngx/tmp/fastcgi;
  uwsgi_temp_path $ngx/tmp/uwsgi;
  scgi_temp_path $ngx/tmp/scgi;
  keepalive_timeout 300s;
  keepalive_requests 100000000;
  open_file_cache max=16 inactive=300s;
  ssl_certificate $ngx/server.pem;
  ssl_certificate_key $ngx/server.key;
  ssl_protocols TLSv1.2 TLSv1.3;
  map_hash_bucket_size 128;
  map \$http_authorization \$bench_authorized { default 0; "Bearer $token" 1; }

  server { # the identity domain
    listen 127.0.0.1:$idp_port ssl;
    location = /oauth2/v1/token {
      if (\$request_method != POST) { return 405; }
      default_type application/json;
      return 200 '{"access_token":"$token","token_type":"Bearer","expires_in":3600}';
    }
    location / { return 404; }
  }
  server { # the design-time host
    listen 127.0.0.1:$design_port ssl;
    location = /ic/api/integration/v1/connections {
      default_type application/json;
      if (\$bench_authorized = 0) { return 401 '{"code":"NotAuthenticated","message":"no or wrong bearer token"}'; }
      alias $ngx/connections.json;
    }
    location / { return 404; }
  }
  server { # the runtime host: the Developer API redirects to the design-time host
    listen 127.0.0.1:$runtime_port ssl;
    location /ic/api/ { return 307 https://127.0.0.1:$design_port\$request_uri; }
    location / { return 404; }
  }
}
EOF
run_as=()
if [[ $(id -u) -eq 0 ]]; then # nginx itself never runs as root
  chmod 711 "$tmp"
  chown -R nobody:nogroup "$ngx"
  run_as=(setpriv --reuid=nobody --regid=nogroup --clear-groups --)
fi
taskset -c 0 "${run_as[@]}" nginx -p "$ngx" -c "$ngx/nginx.conf" -e "$ngx/error.log" &
pids+=($!)
for port in "$idp_port" "$design_port" "$runtime_port"; do
  wait_for_port "$port" || { cat "$ngx/error.log" >&2 || true; exit 1; }
done

# ---- Rows: each client alone on CPU 1, one at a time; one JSON line each in rows.jsonl.
rows=$tmp/rows.jsonl
: >"$rows"
failed=0
design=https://127.0.0.1:$design_port
runtime=https://127.0.0.1:$runtime_port
path="/ic/api/integration/v1/connections?integrationInstance=oic-bench"
common=(--token-url "https://127.0.0.1:$idp_port/oauth2/v1/token" --ca-file "$ca" --warmup "$warmup" --duration "$duration")
limit=$((warmup + duration + 90))

loadavg=$(cut -d' ' -f1-3 /proc/loadavg)
read -r load _ <<<"$loadavg"
if awk -v l="$load" 'BEGIN { exit !(l > 0.5) }'; then
  log "WARNING: load average $load before the run: something else uses the CPUs, numbers will be noisy"
fi

# row SCENARIO CLIENT CONCURRENCY CMD...: runs CMD on CPU 1 and appends its row.
row() {
  local scenario=$1 client=$2 c=$3 rc=0
  shift 3
  log "$scenario / $client / c$c"
  run_bounded "$tmp/row.out" "$limit" taskset -c 1 "$@" || rc=$?
  if grep -q '^{' "$tmp/row.out"; then
    grep '^{' "$tmp/row.out" >>"$rows"
  else
    printf '{"scenario": "%s", "client": "%s", "concurrency": %s, "requests": 0, "errors": 1, "first_error": "exit status %s"}\n' \
      "$scenario" "$client" "$c" "$rc" >>"$rows"
  fi
  [[ $rc -eq 0 ]] || failed=1
}

# children_cpu: sets $cpu to the CPU time (user + system, seconds) of the children this shell has
# waited for (`times` in the shell itself: in a $(...) subshell it would see none).
children_cpu() {
  times >"$tmp/times"
  cpu=$(awk 'NR == 2 { s = 0; for (i = 1; i <= 2; i++) { split($i, t, "m"); s += t[1] * 60 + substr(t[2], 1, length(t[2]) - 1) }
                       printf "%.3f\n", s }' "$tmp/times")
}

# wrk: the ceiling. It parses nothing and does not verify certificates (it cannot); the token comes
# from the environment through a Lua script, never through a file or the command line.
cat >"$tmp/wrk-auth.lua" <<'EOF'
wrk.headers["Authorization"] = "Bearer " .. os.getenv("OIC_BENCH_TOKEN")
wrk.headers["Accept"] = "application/json"
EOF
wrk_row() {
  local c=$1 before after rc=0
  log "list_keepalive / wrk / c$c"
  export OIC_BENCH_TOKEN=$token
  run_bounded /dev/null "$limit" taskset -c 1 wrk -t1 "-c$c" "-d${warmup}s" -s "$tmp/wrk-auth.lua" "$design$path" || rc=$?
  children_cpu
  before=$cpu
  run_bounded "$tmp/wrk.out" "$limit" taskset -c 1 wrk --latency -t1 "-c$c" "-d${duration}s" -s "$tmp/wrk-auth.lua" \
    "$design$path" || rc=$?
  children_cpu
  after=$cpu
  unset OIC_BENCH_TOKEN
  python3 "$bench_py" wrk-row list_keepalive "$c" "$(awk -v a="$after" -v b="$before" 'BEGIN { print a - b }')" \
    <"$tmp/wrk.out" >>"$rows"
  [[ $rc -eq 0 ]] || failed=1
}

# The compared rows, in rounds: each round runs every client once, so a drift of the machine's
# speed falls on all of them alike; the report keeps the median of each column.
for ((round = 1; round <= rounds; round++)); do
  for c in 1 64; do
    wrk_row "$c"
    row list_keepalive libcurl "$c" "$bin/bench-libcurl" --scenario list_keepalive --url "$design$path" \
      --concurrency "$c" "${common[@]}"
    profile=()
    if [[ -n ${OIC_BENCH_PERF:-} && $c -gt 1 && $round -eq 1 ]]; then # where oic's CPU goes: perf report -i "$OIC_BENCH_PERF"
      profile=(perf record -g -o "$OIC_BENCH_PERF" --)
    fi
    row list_keepalive oic "$c" "${profile[@]}" "$bin/bench-oic" --scenario list_keepalive --url "$design" --concurrency "$c" "${common[@]}"
  done
  row runtime_redirect libcurl 64 "$bin/bench-libcurl" --scenario runtime_redirect --url "$runtime$path" \
    --concurrency 64 "${common[@]}"
  row runtime_redirect oic 64 "$bin/bench-oic" --scenario runtime_redirect --url "$runtime" \
    --trust-host "127.0.0.1:$design_port" --concurrency 64 "${common[@]}"
done

# token_storm: bench-oic starts oic-mock-server itself (on CPU 0), the only one to know its secret.
row token_storm oic 1000 "$bin/bench-oic" --scenario token_storm --mock-cpu 0
row token_storm naive 1000 "$bin/bench-oic" --scenario token_storm --client naive --mock-cpu 0

# fleet_storm: 8 processes start at once, 200 calls each, on an empty token; alone, then sharing it
# through Redis. Both CPUs: the processes are the load.
for store in none redis; do
  log "fleet_storm / $store / 8 x 200"
  rc=0
  run_bounded "$tmp/row.out" "$limit" python3 "$bench_py" fleet-row "$bin/oic-mock-server" "$bin/fleet-member" 8 200 \
    "$store" || rc=$?
  grep '^{' "$tmp/row.out" >>"$rows" || printf '{"scenario": "fleet_storm", "client": "%s", "requests": 0, "errors": 1, "first_error": "exit status %s"}\n' "$store" "$rc" >>"$rows"
  [[ $rc -eq 0 ]] || failed=1
done

# inflight_memory and inflight_waiting: 1,000 calls held open at once by bench-slow-server (CPU 0;
# nginx is idle), answered 0.3 s after the last one arrived.
taskset -c 0 "$bin/bench-slow-server" --cert "$tls/server.pem" --key "$tls/server.key" --page "$ngx/connections.json" \
  --hold 1000 --answer-after 0.3 >"$tmp/slow.out" &
slow=$!
pids+=("$slow")
for _ in {1..50}; do grep -q port "$tmp/slow.out" && break; sleep 0.1; done
slow_port=$(sed -n 's/.*"port": *\([0-9]*\).*/\1/p' "$tmp/slow.out")
row inflight_memory oic 1000 "$bin/bench-oic" --scenario inflight_memory --url "https://127.0.0.1:$slow_port" \
  --token-url "https://127.0.0.1:$slow_port/oauth2/v1/token" --ca-file "$ca" --concurrency 1000
kill -TERM "$slow" 2>/dev/null || true
wait "$slow" 2>/dev/null || true
forget "$slow"

# parse_only: the same page, no network: oic's reader (fed 16 KiB at a time) against a Boost.JSON DOM.
for client in dom oic; do
  row parse_only "$client" 1 "$bin/bench-oic" --scenario parse_only --client "$client" --page "$ngx/connections.json" \
    --warmup "$warmup" --duration "$duration"
done

# ---- Results
printf '{"boost_version": "%s", "mode": "%s", "loadavg": "%s"}\n' "$("$bin/bench-oic" --about)" "$mode" "$loadavg" \
  >"$tmp/about.json"
mkdir -p "$results"
python3 "$bench_py" report "$rows" "$tmp/about.json" "$results/latest.json" "$results/latest.png" || failed=1
log "results: benchmarks/results/latest.json, benchmarks/results/latest.png"
exit "$failed"
