#!/usr/bin/env bash
# Benchmark of stealthy hosts (`stealth: true`: SATA disks, an Intel e1000e, Debian's generic kernel,
# no virtio device) against the same hosts with virtio devices, in the lab; a table, per template
# (workstation, linux-server) and kind:
#   boot to healthy: `apply` of the host alone, from the start of its boot to its health (its apply
#       line "healthy after N s"), median of the rounds
#   idle CPU: the QEMU process's share of one core over 60 s, 20 s after it is healthy, median
#   benchmarks/stealth.sh [ROUNDS]   (2 by default; about 10 minutes a round here)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-2}
bin=$PWD/.build/debug/decoynet
[[ -x .build/release/decoynet ]] && bin=$PWD/.build/release/decoynet
lab="ip netns exec decoynet-lab"
env=bench-stealth
work=$(mktemp -d)
cleanup() {
    $lab "$bin" destroy "$env" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
hz=$(getconf CLK_TCK)

# ticks PID -> utime + stime of the process and its threads
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) { print "-"; exit } m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.1f\n", m }'; }

for round in $(seq 1 "$rounds"); do
    for template in workstation linux-server; do
        for stealth in true false; do
            cat >"$work/topology.yaml" <<YAML
name: $env
hardware: { vendor: dell }
networks:
  lan: { cidr: 10.82.1.0/24 }
hosts:
  h: { template: $template, stealth: $stealth, interfaces: [{ network: lan }] }
YAML
            echo "stealth benchmark: round $round, $template, stealth $stealth ..." >&2
            $lab "$bin" apply "$work/topology.yaml" >"$work/apply.out" 2>&1 || { echo "apply failed: $(tail -n 3 "$work/apply.out")" >&2; exit 1; }
            boot=$(sed -n 's/^h healthy after \([0-9.]*\)s.*/\1/p' "$work/apply.out")
            sleep 20
            pid=$(cat "/run/libvirt/qemu/$env-h.pid")
            before=$(ticks "$pid")
            sleep 60
            after=$(ticks "$pid")
            cpu=$(awk -v t=$((after - before)) -v hz="$hz" 'BEGIN { printf "%.1f", 100 * t / hz / 60 }')
            echo "$template $stealth $boot $cpu" >>"$work/results"
            $lab "$bin" destroy "$env" >/dev/null 2>&1
        done
    done
done

printf '%-13s %-8s %18s %14s\n' TEMPLATE DEVICES "BOOT TO HEALTHY s" "IDLE CPU %"
for template in workstation linux-server; do
    for stealth in false true; do
        boots=$(awk -v t=$template -v s=$stealth '$1 == t && $2 == s { print $3 }' "$work/results" | median)
        cpus=$(awk -v t=$template -v s=$stealth '$1 == t && $2 == s { print $4 }' "$work/results" | median)
        printf '%-13s %-8s %18s %14s\n' "$template" "$([[ $stealth == true ]] && echo stealthy || echo virtio)" "$boots" "$cpus"
    done
done
echo "($rounds rounds, median; $(date -u +%Y-%m-%d), TCG, $(nproc) cores)"
