#!/usr/bin/env bash
# Benchmark of the rebuild cycle, in the lab, RUNS rounds; whole-command wall seconds, each command
# waiting until its hosts are healthy:
#   reset of one host of the 8-host build-out   against   a cold boot of that host (removed, then applied)
#   reset of all 8 hosts                         against   the first apply of the build-out
#   apply of 3 copies of quickstart              against   apply of one
#   benchmarks/reset.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
bin=.build/debug/decoynet
[[ -x .build/release/decoynet ]] && bin=.build/release/decoynet
lab="ip netns exec decoynet-lab"
work=$(mktemp -d)
trap 'rm -rf "$work"; for e in buildout quickstart; do $bin destroy "$e" >/dev/null 2>&1 || true; done; $bin destroy quickstart --instances all >/dev/null 2>&1 || true' EXIT

now() { date +%s.%N; }
timed() { # figure file, command...
    local figure=$1 start
    shift
    start=$(now)
    "$@" >/dev/null 2>&1
    echo "$(now) - $start" | bc -l | xargs printf '%.2f\n' >>"$work/$figure"
}

for _ in $(seq 1 "$runs"); do
    timed first-apply $lab $bin apply benchmarks/buildout.yaml
    timed reset-one $lab $bin reset buildout fe-01
    virsh -q -c qemu:///system destroy buildout-fe-01 >/dev/null
    virsh -q -c qemu:///system undefine buildout-fe-01 >/dev/null
    timed cold-one $lab $bin apply benchmarks/buildout.yaml
    timed reset-all $lab $bin reset buildout
    $bin destroy buildout >/dev/null 2>&1

    timed apply-one $lab $bin apply topologies/quickstart.yaml
    $bin destroy quickstart >/dev/null 2>&1
    timed apply-three $lab $bin apply topologies/quickstart.yaml --instances 3
    $bin destroy quickstart --instances all >/dev/null 2>&1
done

stat() { sort -g "$work/$1" | awk '{v[NR]=$1} END {printf "%s (%s-%s)", v[int((NR+1)/2)], v[1], v[NR]}'; }
ratio() { paste "$work/$1" "$work/$2" | awk '{print $1/$2}' | sort -g | awk '{v[NR]=$1} END {printf "%.2f", v[int((NR+1)/2)]}'; }
echo "rebuild cycle, $runs rounds, $(nproc) cores, $(basename "$(dirname "$bin")") build; seconds until healthy: median (min-max)"
printf '%-26s %-20s %-26s %-20s %-6s %s\n' "measured" "seconds" "against" "seconds" "ratio" "target"
printf '%-26s %-20s %-26s %-20s %-6s %s\n' "reset one host" "$(stat reset-one)" "cold boot of that host" "$(stat cold-one)" "$(ratio reset-one cold-one)" "<= 1.2"
printf '%-26s %-20s %-26s %-20s %-6s %s\n' "reset all 8 hosts" "$(stat reset-all)" "first apply of the 8" "$(stat first-apply)" "$(ratio reset-all first-apply)" "<= 1"
printf '%-26s %-20s %-26s %-20s %-6s %s\n' "apply 3 copies" "$(stat apply-three)" "apply one" "$(stat apply-one)" "$(ratio apply-three apply-one)" ""
