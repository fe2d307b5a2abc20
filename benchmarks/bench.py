#!/usr/bin/env python3
"""Helpers of scripts/bench.sh (standard library only).

  bench.py page OUT                 writes the 50-item connections page nginx serves
  bench.py free-ports N             prints N free TCP ports on 127.0.0.1
  bench.py wrk-row SCENARIO C CPU_SECONDS < wrk-output
                                    prints wrk's report as a row (the same shape as the programs')
  bench.py fleet-row MOCK MEMBER PROCESSES CALLS none|redis
                                    runs the fleet_storm row (see fleet_row) and prints it
  bench.py report ROWS ABOUT OUT_JSON OUT_PNG
                                    writes the results file and the chart, prints a markdown table
"""

import datetime
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile

ROW_FIELDS = ["scenario", "client", "concurrency", "requests", "seconds", "rps", "p50_ms", "p99_ms",
              "cpu_us_per_call", "token_requests", "allocs_per_call", "rss_per_call_kib", "mb_per_s"]
CEILING_FACTOR = 2.0  # wrk must serve at least this many times what any client does
BUSY_FACTOR = 0.9  # ... unless the client's own core was this busy (it could not have gone faster)


def page(out):
    """50 OIC connection objects, realistic in shape and size (about 40 KiB)."""
    rnd = random.Random(8)
    adapters = [
        ("rest", "REST", "PREINSTALLED", "OAUTH_CLIENT_CREDENTIALS"),
        ("soap", "SOAP", "PREINSTALLED", "USERNAME_PASSWORD_TOKEN"),
        ("ftp", "FTP", "PREINSTALLED", "FTP_SSL"),
        ("atpdatabase", "Oracle Autonomous Transaction Processing", "PREINSTALLED", "JDBC_OVER_SSL"),
        ("erp", "Oracle ERP Cloud", "PREINSTALLED", "USERNAME_PASSWORD_TOKEN"),
        ("salesforce", "Salesforce", "PREINSTALLED", "OAUTH_AUTHORIZATION_CODE_CREDENTIALS"),
        ("servicenow", "ServiceNow", "PREINSTALLED", "BASIC_AUTH"),
        ("orders_api", "Orders API", "PRIVATE", "OAUTH_CLIENT_CREDENTIALS"),
    ]
    users = ["integration.admin@example.com", "jane.doe@example.com", "svc-oic-deploy@example.com"]
    base = "https://design.integration.eu-frankfurt-1.ocp.oraclecloud.com/ic/api/integration/v1/connections/"
    items = []
    for i in range(50):
        name, display, kind, policy = adapters[i % len(adapters)]
        cid = f"{name.upper()}_CONN_{i:03d}"
        host = f"{name.replace('_', '-')}-{i:03d}.apps.example.com"
        day = 1 + i % 28
        items.append({
            "id": cid,
            "name": f"{display} connection {i:03d}",
            "status": rnd.choice(["CONFIGURED", "CONFIGURED", "CONFIGURED", "INPROGRESS"]),
            "role": rnd.choice(["SOURCE", "TARGET", "SOURCE_AND_TARGET"]),
            "adapterType": {"name": name, "displayName": display, "type": kind},
            "securityPolicy": policy,
            "usage": rnd.randint(0, 12),
            "usageActive": rnd.randint(0, 3),
            "lockedFlag": i % 9 == 0,
            "percentageComplete": rnd.choice([100, 100, 100, 75]),
            "created": f"2025-03-{day:02d}T09:{i:02d}:17.000+0000",
            "createdBy": users[i % 3],
            "lastUpdated": f"2025-06-{day:02d}T16:{i:02d}:41.000+0000",
            "lastUpdatedBy": users[(i + 1) % 3],
            "connectionProperties": [
                {"propertyGroup": "CONNECTION_PROPS", "propertyName": "connectionUrl", "propertyType": "URL",
                 "propertyValue": f"https://{host}/api/v2", "displayName": "Connection URL",
                 "hasAttachment": False},
            ],
            "links": [{"href": base + cid, "rel": "self"}],
        })
    text = json.dumps({"items": items, "hasMore": False, "totalResults": 50, "limit": 50, "offset": 0},
                      separators=(",", ":"))
    with open(out, "w") as f:
        f.write(text)


def free_ports(n):
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    print(" ".join(str(s.getsockname()[1]) for s in socks))
    for s in socks:
        s.close()


def wrk_seconds(value, unit):
    return float(value) * {"us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}[unit]


def wrk_row(scenario, concurrency, cpu_seconds):
    out = sys.stdin.read()
    row = {"scenario": scenario, "client": "wrk", "concurrency": int(concurrency), "errors": 0}
    total = re.search(r"(\d+) requests in ([0-9.]+)(us|ms|s|m|h),", out)
    rate = re.search(r"Requests/sec:\s+([0-9.]+)", out)
    if not total or not rate:
        row.update(requests=0, errors=1, first_error="no wrk report")
        print(json.dumps(row))
        return
    requests = int(total.group(1))
    row.update(requests=requests, seconds=round(wrk_seconds(total.group(2), total.group(3)), 3),
               rps=round(float(rate.group(1)), 1))
    for pct, key in (("50", "p50_ms"), ("99", "p99_ms")):
        m = re.search(r"^\s+" + pct + r"%\s+([0-9.]+)(us|ms|s|m)\s*$", out, re.M)
        if m:
            row[key] = round(wrk_seconds(m.group(1), m.group(2)) * 1e3, 3)
    if requests:
        row["cpu_us_per_call"] = round(float(cpu_seconds) * 1e6 / requests, 1)
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if m:
        row["errors"] += int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        row["errors"] += sum(int(x) for x in m.groups())
    print(json.dumps(row))


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown"


def fmt(v, digits=0):
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def core_busy(row):
    """The share of its CPU core a client used during its window (1.0: all of it)."""
    if not row.get("rps") or not row.get("cpu_us_per_call"):
        return None
    return row["rps"] * row["cpu_us_per_call"] / 1e6


def ceiling_warnings(rows):
    """wrk on list_keepalive must be far above every client (runtime_redirect: against wrk at c64),
    unless the client used its whole core: then its own CPU, not the server, set its pace.
    Returns (warnings, notes)."""
    wrk = {r["concurrency"]: r.get("rps") for r in rows if r["client"] == "wrk"}
    warnings, notes = [], []
    for r in rows:
        if r["client"] == "wrk" or r["scenario"] not in ("list_keepalive", "runtime_redirect") or not r.get("rps"):
            continue
        ceiling = wrk.get(r["concurrency"])
        busy = core_busy(r)
        if not ceiling:
            warnings.append(f"no wrk ceiling for {r['scenario']} c{r['concurrency']}")
        elif ceiling < CEILING_FACTOR * r["rps"] and busy is not None and busy >= BUSY_FACTOR:
            notes.append(f"{r['client']} on {r['scenario']} c{r['concurrency']}: wrk's ceiling is only "
                         f"{ceiling / r['rps']:.1f}x its req/s, but its core was {busy:.0%} busy: its own CPU set its pace")
        elif ceiling < CEILING_FACTOR * r["rps"]:
            warnings.append(f"wrk's ceiling ({ceiling:,.0f} req/s) is only {ceiling / r['rps']:.1f}x "
                            f"{r['client']} on {r['scenario']} c{r['concurrency']} ({r['rps']:,.0f} req/s): "
                            "the server may be the bottleneck, do not trust this ratio")
    return warnings, notes


def chart(rows, png):
    groups = [("list_keepalive", 1, "list c1"), ("list_keepalive", 64, "list c64"),
              ("runtime_redirect", 64, "redirect c64")]
    clients = ["wrk", "libcurl", "oic"]
    rps = {(r["scenario"], r["concurrency"], r["client"]): r.get("rps") for r in rows}
    with tempfile.TemporaryDirectory() as d:
        data = os.path.join(d, "rps.dat")
        with open(data, "w") as f:
            for scenario, c, label in groups:
                values = [rps.get((scenario, c, client)) for client in clients]
                f.write(f'"{label}" ' + " ".join("-" if v is None else f"{v:.0f}" for v in values) + "\n")
        script = f"""
set terminal pngcairo size 900,500 noenhanced font 'sans,10'
set output '{png}'
set title 'oic vs libcurl + JSON DOM vs wrk (the ceiling), nginx on 127.0.0.1, TLS, 40 KiB page'
set ylabel 'requests per second'
set datafile missing '-'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set key top right
set grid ytics
set yrange [0:*]
plot '{data}' using 2:xtic(1) title 'wrk', '' using 3 title 'libcurl (multi + boost::json DOM)', \\
     '' using 4 title 'oic (typed pages)'
"""
        subprocess.run(["gnuplot"], input=script, text=True, check=True)


MEDIAN_FIELDS = ("rps", "p50_ms", "p99_ms", "cpu_us_per_call", "allocs_per_call")


def merge_rounds(rows):
    """One row per scenario, client and concurrency, in the order they first ran. A row run in
    several rounds gets the median of each of MEDIAN_FIELDS, its requests and seconds summed, its
    errors added up, and `rounds` plus the lowest and highest req/s (`rps_range`)."""
    groups = {}
    for r in rows:
        groups.setdefault((r["scenario"], r["client"], r.get("concurrency")), []).append(r)
    merged = []
    for runs in groups.values():
        if len(runs) == 1:
            merged.append(runs[0])
            continue
        row = dict(runs[0])
        for k in MEDIAN_FIELDS:
            values = [r[k] for r in runs if r.get(k) is not None]
            row[k] = round(statistics.median(values), 3) if values else None
        for k in ("requests", "seconds"):
            row[k] = round(sum(r.get(k) or 0 for r in runs), 3)
        row["errors"] = sum(r.get("errors") or 0 for r in runs)
        row["first_error"] = next((r.get("first_error") for r in runs if r.get("errors")), None)
        rps = [r["rps"] for r in runs if r.get("rps") is not None]
        row["rounds"] = len(runs)
        row["rps_range"] = [min(rps), max(rps)] if rps else None
        merged.append(row)
    return merged


def ratios(rows):
    """The ratios the targets are stated in, from this run's rows (those present)."""
    value = {(r["scenario"], r["client"], r["concurrency"], k): r.get(k) for r in rows for k in ("rps", "p50_ms", "cpu_us_per_call")}
    wanted = {
        "oic_cpu_per_call_vs_libcurl_c64": (("list_keepalive", "oic", 64, "cpu_us_per_call"), ("list_keepalive", "libcurl", 64, "cpu_us_per_call")),
        "oic_rps_vs_libcurl_c64": (("list_keepalive", "oic", 64, "rps"), ("list_keepalive", "libcurl", 64, "rps")),
        "oic_p50_vs_wrk_c1": (("list_keepalive", "oic", 1, "p50_ms"), ("list_keepalive", "wrk", 1, "p50_ms")),
        "oic_rps_vs_libcurl_runtime_redirect_c64": (("runtime_redirect", "oic", 64, "rps"), ("runtime_redirect", "libcurl", 64, "rps")),
    }
    out = {}
    for name, (a, b) in wanted.items():
        if value.get(a) and value.get(b):
            out[name] = round(value[a] / value[b], 3)
    return out


def report(rows_path, about_path, out_json, out_png):
    with open(rows_path) as f:
        rows = merge_rounds([json.loads(line) for line in f if line.strip()])
    with open(about_path) as f:
        about = json.load(f)
    results = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "boost_version": about.get("boost_version"),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "mode": about.get("mode"),
        "loadavg_at_start": about.get("loadavg"),
        "scenarios": [],
    }
    results["ratios"] = ratios(rows)
    for r in rows:
        row = {k: r.get(k) for k in ROW_FIELDS}
        if r.get("rounds"):
            row["rounds"], row["rps_range"] = r["rounds"], r["rps_range"]
        if r.get("errors"):
            row["errors"] = r["errors"]
            row["first_error"] = r.get("first_error")
        results["scenarios"].append(row)
    os.makedirs(os.path.dirname(out_json) or ".", exist_ok=True)
    lines = ",\n    ".join(json.dumps(r) for r in results["scenarios"])
    head = {k: v for k, v in results.items() if k != "scenarios"}
    with open(out_json, "w") as f:
        f.write("{\n" + "".join(f"  {json.dumps(k)}: {json.dumps(v)},\n" for k, v in head.items()) +
                f'  "scenarios": [\n    {lines}\n  ]\n}}\n')
    chart(rows, out_png)

    print(f"{results['cpu']}, {results['cores']} cores, Boost {results['boost_version']}, {results['date']}"
          f" ({results['mode']} run)\n")
    print("| scenario | client | conc. | requests | seconds | req/s | p50 ms | p99 ms | CPU µs/call "
          "| allocs/call | RSS KiB/call | token requests | MB/s |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['scenario']} | {r['client']} | {r['concurrency']} | {fmt(r.get('requests'))} "
              f"| {fmt(r.get('seconds'), 2)} | {fmt(r.get('rps'))} | {fmt(r.get('p50_ms'), 3)} "
              f"| {fmt(r.get('p99_ms'), 3)} | {fmt(r.get('cpu_us_per_call'), 1)} | {fmt(r.get('allocs_per_call'), 1)} "
              f"| {fmt(r.get('rss_per_call_kib'), 1)} | {fmt(r.get('token_requests'))} | {fmt(r.get('mb_per_s'), 1)} |")
    warnings, notes = ceiling_warnings(rows)
    for w in warnings:
        print(f"| **WARNING** | {w} ||||||||||||")
    for n in notes:
        print(f"| note | {n} ||||||||||||")
    errors = [r for r in rows if r.get("errors")]
    for r in errors:
        print(f"| **ERRORS** | {r['scenario']} {r['client']} c{r['concurrency']}: {r['errors']} error(s), first: "
              f"{r.get('first_error', '')} ||||||||||||")
    if not warnings:
        print(f"\nwrk's ceiling is at least {CEILING_FACTOR:g}x every client's req/s, or the client used its whole core.")
    if results["ratios"]:
        print("\nRatios (issue 22's targets): " +
              "; ".join(f"{k.replace('_', ' ')}: {v:.3g}x" for k, v in results["ratios"].items()))
    return 1 if errors else 0


def fleet_row(mock, member, processes, calls, store):
    """fleet_storm: PROCESSES fleet-member processes start at once against oic-mock-server (its
    token endpoint 100 ms slow, as a real one), each making CALLS calls; with STORE "redis" they
    share their token through a redis-server of this run's own. One JSON row: the token requests
    the mock saw, and the time to the first page of each process (p50 and max as p50_ms, p99_ms)."""
    import subprocess, ssl, statistics, time, urllib.request
    processes, calls = int(processes), int(calls)
    started = []
    try:
        mock_p = subprocess.Popen([mock, "--token-latency", "100"], stdout=subprocess.PIPE, text=True)
        started.append(mock_p)
        ready = json.loads(mock_p.stdout.readline())
        env = dict(os.environ, OIC_TOKEN_URL=ready["token_url"], OIC_CLIENT_ID=ready["client_id"],
                   OIC_CLIENT_SECRET=ready["client_secret"], OIC_SCOPE=ready["scope"],
                   OIC_BASE_URL=ready["design_url"], OIC_INTEGRATION_INSTANCE=ready["integration_instance"],
                   OIC_CA_FILE=ready["ca_file"])
        env.pop("OIC_REDIS_HOST", None)
        if store == "redis":
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            redis_p = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                        "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            started.append(redis_p)
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.05)
            env.update(OIC_REDIS_HOST="127.0.0.1", OIC_REDIS_PORT=str(port))
        t0 = time.monotonic()
        members = [subprocess.Popen([member, str(calls)], env=env, stdout=subprocess.PIPE, text=True)
                   for _ in range(processes)]
        outs = [(m.communicate()[0], m.returncode) for m in members]
        seconds = time.monotonic() - t0
        firsts, answered, errors = [], 0, 0
        for out, rc in outs:
            m = re.search(r"(\d+) of \d+ calls answered, first page after (\d+) ms", out)
            if m:
                answered += int(m.group(1))
                firsts.append(float(m.group(2)))
            errors += rc != 0
        context = ssl.create_default_context(cafile=ready["ca_file"])
        with urllib.request.urlopen(ready["counters_url"], context=context, timeout=10) as r:
            counters = json.load(r)
        row = {"scenario": "fleet_storm", "client": f"{processes} processes" + (" + redis" if store == "redis" else ""),
               "concurrency": calls, "requests": answered, "seconds": round(seconds, 3),
               "rps": round(answered / seconds, 1) if seconds > 0 else None,
               "p50_ms": statistics.median(firsts) if firsts else None, "p99_ms": max(firsts) if firsts else None,
               "token_requests": counters["token_requests"], "errors": errors}
        if errors:
            row["first_error"] = f"{errors} of {processes} processes failed"
        print(json.dumps(row))
        return 1 if errors else 0
    finally:
        for p in started:
            p.terminate()
            p.wait(timeout=10)


def main(argv):
    if len(argv) == 3 and argv[1] == "page":
        page(argv[2])
    elif len(argv) == 3 and argv[1] == "free-ports":
        free_ports(int(argv[2]))
    elif len(argv) == 5 and argv[1] == "wrk-row":
        wrk_row(argv[2], argv[3], argv[4])
    elif len(argv) == 7 and argv[1] == "fleet-row":
        return fleet_row(*argv[2:])
    elif len(argv) == 6 and argv[1] == "report":
        return report(*argv[2:])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
