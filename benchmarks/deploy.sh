#!/usr/bin/env bash
# Benchmark: building out GUESTS tiny guests on 2 networks (benchmarks/buildout.yaml: 8; more are
# generated the same way) with `decoynet apply --no-wait` against a parallel virsh script doing
# the same steps, in the lab, RUNS rounds taken in turn (A B A B ...). For each: seconds until
# every domain runs, until every guest answers HTTP, and for the teardown. Then plan + apply of
# 1,000 hosts on 50 networks on libvirt's test:///default driver. Medians, and min-max, of
# whole-process wall times, and the median of each round's ratio.
#   benchmarks/deploy.sh [RUNS] [GUESTS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
guests=${2:-8}
bin=.build/debug/decoynet
[[ -x .build/release/decoynet ]] && bin=.build/release/decoynet
lab="ip netns exec decoynet-lab"
work=$(mktemp -d)
trap 'rm -rf "$work"; $bin destroy buildout >/dev/null 2>&1 || true' EXIT

now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc -l | xargs printf '%.2f'; }
topology=benchmarks/buildout.yaml
if [[ $guests != 8 ]]; then
    topology=$work/buildout.yaml
    sed -e "s/count: 4/count: $((guests / 2))/" benchmarks/buildout.yaml >"$topology"
fi
addresses=$($bin compile "$topology" -o "$work/xml" >/dev/null 2>&1 && grep -ho "ip=\"10[^\"]*\"" "$work"/xml/networks/*.xml | cut -d'"' -f2 | sort -u)
benchmarks/virsh-buildout.sh seeds "$work/xml"

wait_http() { # until every address answers HTTP, at most 600 s (a kernel that panicked at boot never will)
    local pending=$addresses deadline=$(($(date +%s) + 600))
    while [[ -n $pending ]]; do
        if (($(date +%s) > deadline)); then echo "deploy: $(echo $pending | wc -w) guests never answered" >&2; break; fi
        local next=""
        for address in $pending; do
            $lab curl -s -o /dev/null --max-time 1 "http://$address/" || next="$next $address"
        done
        pending=$next
        if [[ -n $pending ]]; then sleep 0.2; fi
    done
}

record() { echo "$2" >>"$work/$1"; }

for _ in $(seq 1 "$runs"); do
    start=$(now); $lab $bin apply "$topology" --no-wait >/dev/null 2>&1; record tool.running "$(since "$start")"
    wait_http; record tool.http "$(since "$start")"
    start=$(now); $bin destroy buildout >/dev/null 2>&1; record tool.down "$(since "$start")"

    start=$(now); benchmarks/virsh-buildout.sh up "$work/xml"; record virsh.running "$(since "$start")"
    wait_http; record virsh.http "$(since "$start")"
    start=$(now); benchmarks/virsh-buildout.sh down "$work/xml"; record virsh.down "$(since "$start")"
done

# 1,000 hosts on 50 networks, on the in-memory test driver (each process starts empty).
{
    echo "name: scale"
    echo "networks:"
    for n in $(seq 0 49); do echo "  n$n: { cidr: 10.$((100 + n)).0.0/24 }"; done
    echo "hosts:"
    for n in $(seq 0 49); do echo "  h$n: { image: { disk: /var/lib/images/base.qcow2 }, disk: 1MiB, count: 20, interfaces: [{ network: n$n }] }"; done
} >"$work/scale.yaml"
for _ in $(seq 1 "$runs"); do
    start=$(now); $bin apply "$work/scale.yaml" --connect test:///default --no-wait --allow-images /var/lib/images >/dev/null 2>&1; record scale "$(since "$start")"
done

stat() { sort -g "$work/$1" | awk '{v[NR]=$1} END {printf "%s (%s-%s)", v[int((NR+1)/2)], v[1], v[NR]}'; }
ratio() { paste "$work/$1" "$work/$2" | awk '{print $1/$2}' | sort -g | awk '{v[NR]=$1} END {printf "%.2f", v[int((NR+1)/2)]}'; }
echo "build-out of $guests tiny guests on 2 networks, $runs rounds, $(nproc) cores, $(basename "$(dirname "$bin")") build; seconds: median (min-max)"
printf '%-34s %-20s %-20s %s\n' "figure" "decoynet" "virsh script" "ratio"
printf '%-34s %-20s %-20s %s\n' "every domain running" "$(stat tool.running)" "$(stat virsh.running)" "$(ratio tool.running virsh.running)"
printf '%-34s %-20s %-20s %s\n' "every guest answering HTTP" "$(stat tool.http)" "$(stat virsh.http)" "$(ratio tool.http virsh.http)"
printf '%-34s %-20s %-20s %s\n' "teardown" "$(stat tool.down)" "$(stat virsh.down)" "$(ratio tool.down virsh.down)"
printf '%-34s %-20s\n' "test:///default 1000 hosts/50 nets" "$(stat scale)"
