#!/usr/bin/env bash
# Benchmark of snapshots of a running 1 GiB guest (linux-server, Dell, in the lab), by each method,
# side by side in one run; a table:
#   pause: how long the guest answered no ping (one every 10 ms from the host, `ping -D`): the longest
#       gap between two replies while the snapshot is taken, minus the 10 ms between pings
#   recorded pause: what the method says of itself (snapshot.json's paused_ms; QEMU's migration downtime)
#   total: the snapshot's wall time, memory and disk both written
#   forensics processes, files: `decoynet forensics` on each live snapshot, seconds (nothing cached)
# Methods:
#   live      `decoynet snapshot` (its default): QEMU's precopy migration into a file while the guest
#             runs, stopped by QEMU for the last pages, the overlay copied, resumed
#   pause     `decoynet snapshot --method pause`: the guest paused, its memory dumped (ELF), its
#             overlay copied, resumed
#   disk-only memory dumped (`virsh dump --memory-only`, which pauses the guest itself) after an external
#             disk-only snapshot (`virsh snapshot-create-as --disk-only`) froze the overlay; the frozen
#             overlay copied while the guest runs; `virsh blockcommit --active --shallow --pivot` merges
#             it back into the overlay (never further: the base image is shared)
#   background QEMU's background-snapshot migration (memory written while the guest runs; needs
#             vm.unprivileged_userfaultfd=1, set for the run and put back): its memory only
#   benchmarks/snapshot.sh [ROUNDS]   (3 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
bin=$PWD/.build/debug/decoynet
[[ -x .build/release/decoynet ]] && bin=$PWD/.build/release/decoynet
lab="ip netns exec decoynet-lab"
virsh="virsh -c qemu:///system"
env=bench-snap
dom=$env-srv
work=$(mktemp -d /var/tmp/decoynet-bench-snap.XXXXXX)
userfaultfd=$(sysctl -n vm.unprivileged_userfaultfd)
# The base image is shared by every host of its image: no method may write it (checked at the end).
base=/var/lib/decoynet/images/linux-server/disk.qcow2
base_sum=$(sha256sum "$base" | cut -d' ' -f1)
cleanup() {
    if [[ $(sha256sum "$base" | cut -d' ' -f1) != "$base_sum" ]]; then
        echo "snapshot benchmark: THE BASE IMAGE $base CHANGED: rebuild it (decoynet image build --force linux-server)" >&2
    fi
    [[ -n ${pinger:-} ]] && kill "$pinger" 2>/dev/null || true
    sysctl -qw vm.unprivileged_userfaultfd="$userfaultfd" || true
    $lab "$bin" destroy "$env" >/dev/null 2>&1 || true
    chmod -R u+w "$work" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
cat >"$work/topology.yaml" <<YAML
name: $env
hardware: { vendor: dell }
networks:
  lan: { cidr: 10.83.1.0/24 }
hosts:
  srv: { template: linux-server, memory: 1GiB, interfaces: [{ network: lan, address: 10.83.1.10 }] }
YAML
echo "snapshot benchmark: applying a 1 GiB server ..." >&2
$lab "$bin" apply "$work/topology.yaml" >"$work/apply.out" 2>&1 || { echo "apply failed: $(tail -n 3 "$work/apply.out")" >&2; exit 1; }
sleep 20

# ping_start; COMMAND...; ping_gap -> the longest silence in ms, less the interval
ping_start() { $lab ping -D -n -i 0.01 10.83.1.10 >"$work/ping.log" 2>/dev/null & pinger=$!; sleep 1; }
ping_gap() {
    sleep 1; kill "$pinger" 2>/dev/null || true; wait "$pinger" 2>/dev/null || true; pinger=
    sed -n 's/^\[\([0-9.]*\)\] .*bytes from.*/\1/p' "$work/ping.log" | awk 'NR > 1 { g = ($1 - p) * 1000; if (g > m) m = g } { p = $1 } END { printf "%.0f\n", (m > 10 ? m - 10 : 0) }'
}
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

for round in $(seq 1 "$rounds"); do
    echo "snapshot benchmark: round $round ..." >&2
    # decoynet snapshot, live and paused; forensics on the live one
    for method in live pause; do
        ping_start; t0=$(now)
        $lab "$bin" snapshot "$env" srv --method $method --evidence "$work/decoynet" --json >"$work/snap.json"
        total=$(since "$t0"); gap=$(ping_gap)
        recorded=$(sed -n 's/.*"paused_ms" : \([0-9]*\).*/\1/p' "$work/snap.json")
        echo "$method $gap $total $recorded" >>"$work/results"
        if [[ $method == live ]]; then
            folder=$(sed -n 's/.*"folder" : "\(.*\)".*/\1/p' "$work/snap.json")
            for view in processes files; do
                t0=$(now)
                "$bin" forensics "$folder" $view --json >"$work/$view.json" 2>"$work/$view.err" || { echo "forensics $view failed: $(tail -n 2 "$work/$view.err")" >&2; exit 1; }
                echo "$view $(since "$t0") $(grep -c '"path"\|"pid"' "$work/$view.json")" >>"$work/forensics"
            done
        fi
        chmod -R u+w "$work/decoynet"; rm -rf "$work/decoynet"
    done

    # external disk-only snapshot, then the memory dump, then the copy and the commit
    overlay=$($virsh vol-path --pool "decoynet-$env" "$dom.qcow2")
    mkdir -p "$work/disk-only"
    ping_start; t0=$(now)
    $virsh snapshot-create-as "$dom" --disk-only --atomic --no-metadata --diskspec "sda,file=$work/disk-only/top.qcow2" --diskspec vdz,snapshot=no >/dev/null
    $virsh dump "$dom" "$work/disk-only/memory" --memory-only --format elf >/dev/null
    cp --sparse=always "$overlay" "$work/disk-only/disk.qcow2"
    # --shallow: into the overlay only. Without it, blockcommit merges down to the chain's bottom,
    # the base image that every host of the image shares.
    $virsh blockcommit "$dom" sda --active --shallow --pivot --wait >/dev/null
    total=$(since "$t0"); gap=$(ping_gap)
    echo "disk-only $gap $total -" >>"$work/results"
    rm -rf "$work/disk-only"

    # background-snapshot: memory only, through QEMU's monitor
    sysctl -qw vm.unprivileged_userfaultfd=1
    ping_start; t0=$(now)
    status=failed
    if $virsh qemu-monitor-command "$dom" '{"execute":"migrate-set-capabilities","arguments":{"capabilities":[{"capability":"background-snapshot","state":true}]}}' >/dev/null 2>"$work/bg.err"; then
        exec 9>"$work/background.mig"
        $virsh qemu-monitor-command "$dom" --pass-fds 9 '{"execute":"getfd","arguments":{"fdname":"bgsnap"}}' >/dev/null
        exec 9>&-
        $virsh qemu-monitor-command "$dom" '{"execute":"migrate","arguments":{"uri":"fd:bgsnap"}}' >/dev/null
        for _ in $(seq 1 600); do
            state=$($virsh qemu-monitor-command "$dom" '{"execute":"query-migrate"}')
            case $state in *'"completed"'*) status=done; downtime=$(sed -n 's/.*"downtime":\([0-9]*\).*/\1/p' <<<"$state"); break ;; *'"failed"'*) break ;; esac
            sleep 0.1
        done
        $virsh qemu-monitor-command "$dom" '{"execute":"migrate-set-capabilities","arguments":{"capabilities":[{"capability":"background-snapshot","state":false}]}}' >/dev/null
    fi
    total=$(since "$t0"); gap=$(ping_gap)
    sysctl -qw vm.unprivileged_userfaultfd="$userfaultfd"
    if [[ $status == done ]]; then echo "background $gap $total $downtime" >>"$work/results"; else echo "background - - $(tr -d '\n' <"$work/bg.err" | cut -c1-60)" >>"$work/results"; fi
    rm -f "$work/background.mig"
done

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) { print "-"; exit } m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.1f\n", m }'; }
printf '%-11s %14s %24s %10s\n' METHOD "GUEST PAUSE ms" "RECORDED PAUSE ms" "TOTAL s"
for method in live pause disk-only background; do
    pause=$(awk -v m=$method '$1 == m && $2 != "-" { print $2 }' "$work/results" | median)
    recorded=$(awk -v m=$method '$1 == m && $4 ~ /^[0-9]+$/ { print $4 }' "$work/results" | median)
    total=$(awk -v m=$method '$1 == m && $3 != "-" { print $3 }' "$work/results" | median)
    printf '%-11s %14s %24s %10s\n' "$method" "$pause" "$recorded" "$total"
    awk -v m=$method '$1 == m && $2 == "-" { $1 = $2 = $3 = ""; print "  " m " failed:" $0 }' "$work/results" | head -n 1
done
echo
printf '%-22s %10s %8s\n' FORENSICS SECONDS ROWS
for view in processes files; do
    printf '%-22s %10s %8s\n' "forensics $view" "$(awk -v v=$view '$1 == v { print $2 }' "$work/forensics" | median)" \
        "$(awk -v v=$view '$1 == v { print $3 }' "$work/forensics" | median)"
done
echo "($rounds rounds, median; a 1 GiB linux-server; $(date -u +%Y-%m-%d), TCG, $(nproc) cores)"
