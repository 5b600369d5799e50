#!/usr/bin/env bash
# Reset from memory against a boot, in the lab: a workstation and a server of one environment, each
# reset ROUNDS times from its clean state and ROUNDS times with --cold, in turn; whole-command wall
# seconds (each reset waits until the host is healthy again) and the QEMU process's CPU seconds
# from the reset's start to its end; medians, and the ratio of memory to cold in this run. Also
# what keeping the clean state cost apply (the host stood still for it).
#   benchmarks/reset-memory.sh [ROUNDS]   (3 by default; about 6 minutes here)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
bin=$PWD/.build/debug/decoynet
[[ -x .build/release/decoynet ]] && bin=$PWD/.build/release/decoynet
lab="ip netns exec decoynet-lab"
env=bench-rmem
work=$(mktemp -d)
trap '$lab "$bin" destroy "$env" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
hz=$(getconf CLK_TCK)

cat >"$work/topology.yaml" <<YAML
name: $env
hardware: { vendor: dell }
networks:
  lan: { cidr: 10.84.1.0/24 }
hosts:
  ws: { template: workstation, interfaces: [{ network: lan }] }
  srv: { template: linux-server, interfaces: [{ network: lan }] }
YAML
$lab "$bin" apply "$work/topology.yaml" >"$work/apply.log" 2>&1

now() { date +%s.%N; }
ticks() { awk '{print $14 + $15}' "/proc/$(cat "/run/libvirt/qemu/$env-$1.pid")/stat"; }
median() { sort -n | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f\n", m }'; }

for _ in $(seq 1 "$rounds"); do
    for host in ws srv; do
        for how in memory cold; do
            flag=(); [[ $how == cold ]] && flag=(--cold)
            start=$(now)
            $lab "$bin" reset "$env" "$host" "${flag[@]}" --json >"$work/reset.json"
            end=$(now)
            got=$(python3 -c 'import json, sys; print("memory" if sys.argv[1] in json.load(open(sys.argv[2]))["restored"] else "cold")' "$host" "$work/reset.json")
            [[ $got == "$how" ]] || { echo "reset-memory: $host was reset by $got, not $how" >&2; cat "$work/reset.json" >&2; exit 1; }
            # The new QEMU process's CPU from its start until the host was healthy.
            echo "$end - $start" | bc -l >>"$work/$host-$how-wall"
            echo "$(ticks "$host") / $hz" | bc -l >>"$work/$host-$how-cpu"
        done
    done
done

echo "reset from memory against --cold, $rounds rounds ($(date -u +%FT%TZ), $(nproc) cores; $bin)"
printf "%-5s %-7s %10s %10s\n" host reset "wall s" "QEMU CPU s"
for host in ws srv; do
    for how in memory cold; do
        printf "%-5s %-7s %10s %10s\n" "$host" "$how" "$(median <"$work/$host-$how-wall")" "$(median <"$work/$host-$how-cpu")"
    done
    awk -v m="$(median <"$work/$host-memory-wall")" -v c="$(median <"$work/$host-cold-wall")" -v h="$host" \
        'BEGIN { printf "%-5s %-7s %9.2fx\n", h, "ratio", m / c }'
done
echo "clean state kept by apply (the host stood still for it):"
grep "clean state kept" "$work/apply.log" || echo "  none kept"
