#!/usr/bin/env bash
# Benchmark: the server with a 130-host environment applied on libvirt's test:///default driver.
#   1. GET /api/v1/environments/ENV/status by 50 concurrent clients on loopback for 30 s (wrk):
#      requests per second and latency percentiles.
#   2. The environment's page (130 hosts, its picture and table), signed in by session: the
#      server's time per request (time to first byte, curl), median and worst of 50 requests,
#      then wrk with 10 clients.
#   benchmarks/server.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
bin=.build/release/decoynet
[[ -x $bin ]] || { echo "server.sh: build it first: swift build -c release --product decoynet" >&2; exit 1; }
command -v wrk >/dev/null || { echo "server.sh: wrk is missing: scripts/install-deps.sh bench" >&2; exit 1; }
work=$(mktemp -d)
server=""
trap '[[ -n $server ]] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT

# 130 hosts on 5 networks, one gateway, each with the `running` probe: the size of enterprise.yaml.
{
    echo "name: bench"
    echo "networks:"
    for n in 1 2 3 4 5; do echo "  net$n: { cidr: 10.99.$n.0/24, gateway: gw }"; done
    echo "defaults:"
    echo "  health: { timeout: 30s, probes: [running] }"
    echo "  disk: 64MiB"
    echo "hosts:"
    echo "  gw:"
    echo "    template: tiny"
    echo "    interfaces:"
    for n in 1 2 3 4 5; do echo "      - { network: net$n, address: 10.99.$n.254 }"; done
    for n in 1 2 3 4 5; do
        echo "  host$n:"
        echo "    template: tiny"
        echo "    count: $((n == 5 ? 25 : 26))"
        echo "    interfaces: [{ network: net$n }]"
    done
} >"$work/bench.yaml"

$bin serve --connect test:///default --listen 127.0.0.1:0 --data "$work/data" 2>"$work/server.log" &
server=$!
for _ in $(seq 1 100); do grep -q "listening on" "$work/server.log" && break; sleep 0.1; done
base=$(grep -o "http://127.0.0.1:[0-9]*" "$work/server.log" | head -1)
token=$(cat "$work/data/admin.token")
auth=(-H "Authorization: Bearer $token")

curl -sf "${auth[@]}" --data-binary @"$work/bench.yaml" -H "Content-Type: application/yaml" "$base/api/v1/environments" >/dev/null
job=$(curl -sf "${auth[@]}" -X POST "$base/api/v1/environments/bench/apply" | sed 's/.*"id":"\([^"]*\)".*/\1/')
while :; do
    state=$(curl -sf "${auth[@]}" "$base/api/v1/jobs/$job" | grep -o '"state":"[a-z]*","targets"' | cut -d'"' -f4)
    case $state in
        succeeded) break ;;
        queued | running) sleep 0.5 ;;
        *) echo "server.sh: applying the environment ended $state; see $base/api/v1/jobs/$job" >&2; exit 1 ;;
    esac
done
hosts=$(curl -sf "${auth[@]}" "$base/api/v1/environments/bench/status" | grep -o '"health":"healthy"' | wc -l)
echo "environment bench: $hosts hosts healthy on test:///default"

wrk_run() { # URL CLIENTS HEADER...: requests/s and the 50/99th percentiles
    local url=$1 clients=$2; shift 2
    wrk -t2 -c"$clients" -d"${seconds}s" --latency "$@" "$url" >"$work/wrk.txt"
    local rps p50 p99 errors
    rps=$(awk '/^Requests\/sec/ {print $2}' "$work/wrk.txt")
    p50=$(awk '$1 == "50%" {print $2}' "$work/wrk.txt")
    p99=$(awk '$1 == "99%" {print $2}' "$work/wrk.txt")
    errors=$(awk '/Non-2xx/ {print $5}' "$work/wrk.txt")
    echo "$rps|$p50|$p99|${errors:-0}"
}

IFS='|' read -r status_rps status_p50 status_p99 status_errors < <(wrk_run "$base/api/v1/environments/bench/status" 50 -H "Authorization: Bearer $token")

# A session for the page, as a browser has.
curl -s -c "$work/cookies" -d "name=admin&password=$token" -o /dev/null "$base/login"
for _ in $(seq 1 50); do
    curl -s -b "$work/cookies" -o /dev/null -w "%{time_starttransfer}\n" "$base/environments/bench"
done | sort -n >"$work/page.times"
page_median=$(awk '{ a[NR] = $1 } END { printf "%.1f", a[int((NR + 1) / 2)] * 1000 }' "$work/page.times")
page_worst=$(awk 'END { printf "%.1f", $1 * 1000 }' "$work/page.times")
page_bytes=$(curl -s -b "$work/cookies" "$base/environments/bench" | wc -c)
session=$(grep decoynet_session "$work/cookies" | awk '{print $7}')
IFS='|' read -r page_rps page_p50 page_p99 page_errors < <(wrk_run "$base/environments/bench" 10 -H "Cookie: decoynet_session=$session")

echo
echo "| measure | value |"
echo "| --- | --- |"
echo "| GET status, 50 clients, ${seconds} s: requests/s | $status_rps |"
echo "| GET status: p50 / p99 latency | $status_p50 / $status_p99 |"
echo "| GET status: non-2xx answers | $status_errors |"
echo "| environment page (130 hosts, $page_bytes bytes): server time, median / worst of 50 | ${page_median} ms / ${page_worst} ms |"
echo "| environment page, 10 clients: requests/s, p99 | $page_rps, $page_p99 |"
