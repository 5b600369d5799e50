#!/usr/bin/env bash
# Benchmark of watching, in the lab, on topologies/infection.yaml (6 hosts, 3 networks); a table:
#   packet -> event in `watch --follow`, p50 and p99 over N HTTP requests from a PC to the outside,
#       against packet -> line of `tcpdump -l` on the same bridge (the capture alone, the floor)
#   CPU of watching while idle (watcher, its tshark per network, tcpdump), share of one core,
#       against the captures alone (tcpdump)
#   events delivered of the N (none may be lost or late)
#   a run of the test sample: from `run` to its c2 milestone, and to the end of its reset
#   benchmarks/observe.sh [N]      (N requests, 1000 by default; takes about 10 minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-1000}
bin=$PWD/.build/debug/decoynet
[[ -x .build/release/decoynet ]] && bin=$PWD/.build/release/decoynet
lab="ip netns exec decoynet-lab"
env=bench-observe
work=$(mktemp -d)
cleanup() {
    [[ -n ${follow:-} ]] && kill "$follow" 2>/dev/null || true
    [[ -n ${dump:-} ]] && kill "$dump" 2>/dev/null || true
    $lab "$bin" destroy "$env" >/dev/null 2>&1 || true
    rm -rf "$work" "/var/lib/decoynet/runs/$env" "/var/lib/decoynet/runs/$env".destroyed-*
}
trap cleanup EXIT
sed -e "s/^name: infection$/name: $env/" -e "s/10\.66\./10.189./g" -e "s/203\.0\.113\./203.0.115./g" topologies/infection.yaml >"$work/topology.yaml"
echo "observe benchmark: applying $env (6 hosts) ..." >&2
$lab "$bin" apply "$work/topology.yaml" >/dev/null

# The office's bridge, from the network's libvirt definition.
bridge=$(virsh -c qemu:///system net-dumpxml "$env-office" | sed -n 's/.*<bridge name=.\([^"'"'"']*\).*/\1/p')

# Idle CPU: clock ticks of the watcher and its children, and of the tcpdumps, over 60 s.
ticks() { # pids... -> utime+stime summed
    local total=0 pid
    for pid in "$@"; do
        [[ -r /proc/$pid/stat ]] || continue
        total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
    done
    echo "$total"
}
watcher=$(pgrep -f "decoynet watcher $env " | head -1)
sharks=$(pgrep -P "$watcher" | tr '\n' ' ')
dumps=$(pgrep -f "tcpdump -i .*captures/$env/" | tr '\n' ' ')
sleep 20
w0=$(ticks "$watcher" $sharks); d0=$(ticks $dumps); t0=$(date +%s.%N)
sleep 60
w1=$(ticks "$watcher" $sharks); d1=$(ticks $dumps); t1=$(date +%s.%N)
hz=$(getconf CLK_TCK)
networks=3
watch_cpu=$(echo "($w1 - $w0 + $d1 - $d0) / $hz / ($t1 - $t0) * 100 / $networks" | bc -l)
dump_cpu=$(echo "($d1 - $d0) / $hz / ($t1 - $t0) * 100 / $networks" | bc -l)

# Latency: the same requests seen by `watch --follow` and by `tcpdump -l`, each line stamped on arrival.
stamp() { python3 -u -c '
import sys, time
for line in sys.stdin:
    sys.stdout.write("%.6f %s" % (time.time(), line)); sys.stdout.flush()'; }
"$bin" watch "$env" --follow --json --kind http | stamp >"$work/watch" &
follow=$!
$lab tcpdump -l -n -tt -i "$bridge" "tcp dst port 80 and (tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x47455420)" 2>/dev/null | stamp >"$work/dump" &
dump=$!
sleep 3
echo "observe benchmark: $count requests from ws-01 ..." >&2
$lab "$bin" exec "$env" ws-01 --timeout 1800 -- sh -c "i=0; while [ \$i -lt $count ]; do curl -s -m 5 -o /dev/null http://198.51.100.7/bench-\$i; i=\$((i+1)); done" >/dev/null
sleep 5
kill "$follow" "$dump" 2>/dev/null || true
follow=""; dump=""
python3 - "$work/watch" "$work/dump" "$count" >"$work/latency" <<'PY'
import json, sys, datetime
def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] if values else float("nan")
watch = []
for line in open(sys.argv[1]):
    arrived, text = line.split(" ", 1)
    event = json.loads(text)
    if not event["detail"]["path"].startswith("/bench-"): continue
    sent = datetime.datetime.strptime(event["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp()
    watch.append(float(arrived) - sent)
dump = []
for line in open(sys.argv[2]):
    arrived, packet = line.split(" ")[:2]
    dump.append(float(arrived) - float(packet))
print("%.3f %.3f %.3f %.3f %d %d" % (pct(watch, 50), pct(watch, 99), pct(dump, 50), pct(dump, 99), len(watch), int(sys.argv[3])))
PY
read -r w50 w99 d50 d99 seen sent <"$work/latency"

# A run of the test sample: to its call home, and to the end of its reset.
start=$(date +%s.%N)
$lab "$bin" run "$env" --sample Tests/EndToEndTests/Samples/beacon.sh --to tsato --open --until c2 --then reset --evidence "$work/runs" --json >"$work/run.json"
finish=$(date +%s.%N)
c2=$(python3 -c '
import json, sys, datetime
r = json.load(open(sys.argv[1]))
t = lambda s: datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp()
print("%.2f" % (t([m["time"] for m in r["milestones"] if m["name"] == "c2"][0]) - float(sys.argv[2])))' "$work/run.json" "$start")
total=$(echo "$finish - $start" | bc -l)

echo "watching, $(nproc) cores, $(basename "$(dirname "$bin")") build, one round on $env"
printf '%-44s %-12s %-40s %-12s %s\n' "measured" "value" "against" "value" "ratio"
printf '%-44s %-12s %-40s %-12s %s\n' "packet -> watch --follow, p50 (s)" "$w50" "packet -> tcpdump -l, p50 (s)" "$d50" "$(echo "$w50 / $d50" | bc -l | xargs printf '%.0f')"
printf '%-44s %-12s %-40s %-12s %s\n' "packet -> watch --follow, p99 (s)" "$w99" "packet -> tcpdump -l, p99 (s)" "$d99" "$(echo "$w99 / $d99" | bc -l | xargs printf '%.0f')"
printf '%-44s %-12s %-40s %-12s %s\n' "events of the requests in the timeline" "$seen" "requests sent" "$sent" "$(echo "$seen / $sent" | bc -l | xargs printf '%.3f')"
# The captures alone may use less than one clock tick in the minute: then there is no ratio to give.
cpu_ratio=$(echo "if ($dump_cpu < 0.01) -1 else $watch_cpu / $dump_cpu" | bc -l | xargs printf '%.1f')
[[ $cpu_ratio == -1.0 ]] && cpu_ratio="n/a (below a tick)"
printf '%-44s %-12s %-40s %-12s %s\n' "CPU idle, capture + decoding, per network (%)" "$(printf '%.2f' "$watch_cpu")" "capture alone, per network (%)" "$(printf '%.2f' "$dump_cpu")" "$cpu_ratio"
printf '%-44s %-12s %-40s %-12s %s\n' "run: start -> c2 milestone (s)" "$c2" "run: start -> reset done (s)" "$(printf '%.2f' "$total")" ""
