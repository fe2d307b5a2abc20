#!/usr/bin/env bash
# Installs what is missing, builds, starts the bundled mock OIC server and lists its connections
# with the oic-connections CLI, through the runtime host's redirect, as a real user would.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake --preset default >/dev/null
cmake --build --preset default --target oic-mock-server oic-connections

work=$(mktemp -d)
mock_pid=""
cleanup() {
  [[ -n "$mock_pid" ]] && kill "$mock_pid" 2>/dev/null && wait "$mock_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

build/default/bin/oic-mock-server --ca-dir "$work" >"$work/ready.json" &
mock_pid=$!
for _ in $(seq 100); do
  [[ -s "$work/ready.json" ]] && break
  kill -0 "$mock_pid" 2>/dev/null || { echo "oic-mock-server failed to start" >&2; exit 1; }
  sleep 0.1
done
ready=$(head -n 1 "$work/ready.json")
field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" <<<"$ready"; }

echo "mock server: token $(field token_url), runtime $(field runtime_url), design $(field design_url)" >&2
# The secret goes through the environment, never through a flag value. The mock's design-time host
# is an address, not design.integration.<region>.ocp.oraclecloud.com, so the token may go there on
# the runtime host's redirect only because it is trusted by name and port (--trust-host).
design_host=$(field design_url)
design_host=${design_host#*://}
OIC_TOKEN_URL=$(field token_url) \
OIC_CLIENT_ID=$(field client_id) \
OIC_CLIENT_SECRET=$(field client_secret) \
OIC_SCOPE=$(field scope) \
OIC_BASE_URL=$(field runtime_url) \
OIC_INTEGRATION_INSTANCE=$(field integration_instance) \
  build/default/bin/oic-connections --cacert "$(field ca_file)" --trust-host "$design_host" --all "$@"
