#!/usr/bin/env bash
# Benchmark of watching the enterprise (topologies/enterprise.yaml, 131 hosts, 4 networks, with
# `observe: true`), in the lab; a table:
#   CPU of watching while idle (watcher, its tshark per network, tcpdump), share of one core per
#       network, against the captures alone (tcpdump)
#   packet -> event in `watch --follow`, p50 and p99 over N HTTP requests from ws-001 to www (20 a
#       second, one connection), idle
#       and while ws-002 scans the servers segment (a TCP connect scan of ports 1-1024, 64 at a time,
#       with netcat, as `nmap -sT` does: nmap is not in the workstation image), against packet -> line
#       of `tcpdump -l` on the same bridge
#   events per second: DNS lookups and their answers sent onto the office's bridge at rising rates
#       (asked 250 to 4000 a second, 10 s' worth each; the table gives the rate the sender reached);
#       how many reached the timeline and how late (the highest rate with none lost and p99 under
#       2 s is the sustained one)
#   benchmarks/observe-enterprise.sh [N]   (N requests, 1000 by default; about an hour here, most of
#       it the apply)
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-1000}
bin=$PWD/.build/debug/decoynet
[[ -x .build/release/decoynet ]] && bin=$PWD/.build/release/decoynet
lab="ip netns exec decoynet-lab"
env=bench-watch
work=$(mktemp -d)
cleanup() {
    [[ -n ${follow:-} ]] && kill "$follow" 2>/dev/null || true
    [[ -n ${dump:-} ]] && kill "$dump" 2>/dev/null || true
    [[ -n ${scan:-} ]] && kill "$scan" 2>/dev/null || true
    $lab "$bin" destroy "$env" >/dev/null 2>&1 || true
    rm -rf "$work" "/var/lib/decoynet/runs/$env" "/var/lib/decoynet/runs/$env".destroyed-*
}
trap cleanup EXIT
# The enterprise under the benchmark's name and addresses, watched.
sed -e "s/^name: acme$/name: $env\nobserve: true/" -e "s/10\.10\./10.110./g" -e "s/10\.20\./10.120./g" -e "s/10\.99\./10.199./g" \
    -e "s/172\.16\.10\./172.16.110./g" topologies/enterprise.yaml >"$work/topology.yaml"
echo "observe-enterprise benchmark: applying $env (131 hosts) ..." >&2
applied0=$(date +%s)
# A host that misses its health deadline does not stop the benchmark: the watching is measured all the same.
$lab "$bin" apply "$work/topology.yaml" >"$work/apply.out" 2>&1 || echo "observe-enterprise benchmark: apply did not end healthy: $(tail -n 3 "$work/apply.out")" >&2
applied=$(( $(date +%s) - applied0 ))
networks=4

bridge() { virsh -c qemu:///system net-dumpxml "$env-$1" | sed -n 's/.*<bridge name=.\([^"'"'"']*\).*/\1/p'; }
lan=$(bridge lan)
dmz=$(bridge dmz)

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
echo "observe-enterprise benchmark: idle CPU over 60 s ..." >&2
sleep 30
w0=$(ticks "$watcher" $sharks); d0=$(ticks $dumps); t0=$(date +%s.%N)
sleep 60
w1=$(ticks "$watcher" $sharks); d1=$(ticks $dumps); t1=$(date +%s.%N)
hz=$(getconf CLK_TCK)
watch_cpu=$(echo "($w1 - $w0 + $d1 - $d0) / $hz / ($t1 - $t0) * 100 / $networks" | bc -l)
dump_cpu=$(echo "($d1 - $d0) / $hz / ($t1 - $t0) * 100 / $networks" | bc -l)

stamp() { python3 -u -c '
import sys, time
for line in sys.stdin:
    sys.stdout.write("%.6f %s" % (time.time(), line)); sys.stdout.flush()'; }

# Latency of N requests from ws-001 to www, seen by `watch --follow` and by `tcpdump -l` on the
# office's bridge (the request leaves from there); prints "p50 p99 floor50 floor99 seen".
latency() { # label
    local label=$1
    "$bin" watch "$env" --follow --json --kind http | stamp >"$work/watch-$label" &
    follow=$!
    $lab tcpdump -l -n -tt -i "$lan" "tcp dst port 80 and (tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x47455420)" 2>/dev/null | stamp >"$work/dump-$label" &
    dump=$!
    sleep 3
    # One curl for all of them, 20 a second on one connection (a process each costs the guest more
    # than the request under emulation).
    $lab "$bin" exec "$env" ws-001 --timeout 3600 -- sh -c "curl -s --rate 20/s 'http://172.16.110.10/bench-$label-[0-$((count - 1))]' >/dev/null" >/dev/null
    sleep 5
    kill "$follow" "$dump" 2>/dev/null || true
    follow=""; dump=""
    python3 - "$work/watch-$label" "$work/dump-$label" "/bench-$label-" <<'PY'
import json, sys, datetime
def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] if values else float("nan")
watch = []
for line in open(sys.argv[1]):
    arrived, text = line.split(" ", 1)
    event = json.loads(text)
    if not event["detail"]["path"].startswith(sys.argv[3]): continue
    sent = datetime.datetime.strptime(event["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp()
    watch.append(float(arrived) - sent)
dump = []
for line in open(sys.argv[2]):
    arrived, packet = line.split(" ")[:2]
    dump.append(float(arrived) - float(packet))
print("%.3f %.3f %.3f %.3f %d" % (pct(watch, 50), pct(watch, 99), pct(dump, 50), pct(dump, 99), len(watch)))
PY
}

echo "observe-enterprise benchmark: $count requests ws-001 -> www, idle ..." >&2
read -r i50 i99 id50 id99 iseen < <(latency idle)

echo "observe-enterprise benchmark: $count requests ws-001 -> www while ws-002 scans the servers ..." >&2
lines0=$(cat /var/lib/decoynet/runs/$env/timeline*.jsonl | wc -l)
s0=$(date +%s.%N)
# 64 connects at a time, each given 1 s (the firewall drops most of them unanswered), host after host.
$lab "$bin" exec "$env" ws-002 --timeout 3600 -- sh -c \
    'while [ ! -e /tmp/stop-scan ]; do for h in 10 20 30 40; do [ -e /tmp/stop-scan ] && break
         for p in $(seq 1 1024); do nc -z -w 1 10.120.0.$h $p 2>/dev/null & [ $((p % 64)) -eq 0 ] && wait; done; wait; done; done' >/dev/null 2>&1 &
scan=$!
sleep 10
read -r s50 s99 sd50 sd99 sseen < <(latency scan)
$lab "$bin" exec "$env" ws-002 -- touch /tmp/stop-scan >/dev/null
wait "$scan" 2>/dev/null || true
scan=""
s1=$(date +%s.%N)
sleep 5
lines1=$(cat /var/lib/decoynet/runs/$env/timeline*.jsonl | wc -l)
scan_rate=$(echo "($lines1 - $lines0) / ($s1 - $s0)" | bc -l)

# Events per second: DNS lookups with their answers, sent onto the office's bridge from the lab's
# side (between two addresses of the office that no host holds, so no guest answers or minds them).
echo "observe-enterprise benchmark: DNS events at rising rates ..." >&2
"$bin" watch "$env" --follow --json --kind dns | stamp >"$work/flood" &
follow=$!
sleep 3
rates="250 500 1000 2000 4000"
for rate in $rates; do
    $lab python3 - "$lan" "$rate" 10 2>>"$work/sent" <<'PY'
import socket, struct, sys, time
interface, rate, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
client, server = bytes([10, 110, 2, 200]), bytes([10, 110, 2, 201])
mac_client, mac_server = bytes.fromhex("02de000000c8"), bytes.fromhex("02de000000c9")
def checksum(data):
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    total = (total >> 16) + (total & 0xFFFF)
    return ~(total + (total >> 16)) & 0xFFFF
def frame(src_mac, dst_mac, src, dst, sport, dport, payload):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0, src, dst)
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return dst_mac + src_mac + b"\x08\x00" + header + udp
def name(text):
    return b"".join(bytes([len(part)]) + part.encode() for part in text.split(".")) + b"\x00"
sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
sock.bind((interface, 0))
total = rate * seconds
start = time.time()
for i in range(total):
    query_name = name("flood-%d-%d.bench.example" % (rate, i))
    ident = i & 0xFFFF
    question = query_name + struct.pack("!HH", 1, 1)
    query = struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + question
    answer = struct.pack("!HHHHHH", ident, 0x8180, 1, 1, 0, 0) + question + b"\xc0\x0c" + struct.pack("!HHIH4s", 1, 1, 60, 4, bytes([192, 0, 2, 1]))
    sport = 10000 + i % 50000
    sock.send(frame(mac_client, mac_server, client, server, sport, 53, query))
    sock.send(frame(mac_server, mac_client, server, client, 53, sport, answer))
    # Paced: the i-th lookup at its time.
    delay = start + (i + 1) / rate - time.time()
    if delay > 0: time.sleep(delay)
print("%d %d %.2f" % (rate, total, time.time() - start), file=sys.stderr)
PY
    sleep 8
done
sleep 5
kill "$follow" 2>/dev/null || true
follow=""
python3 - "$work/flood" "$work/sent" >"$work/flood-table" <<'PY'
import json, sys, datetime, re
def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] if values else float("nan")
late = {}
for line in open(sys.argv[1]):
    arrived, text = line.split(" ", 1)
    event = json.loads(text)
    match = re.match(r"flood-(\d+)-(\d+)\.bench\.example$", event["detail"]["query"])
    if not match: continue
    sent = datetime.datetime.strptime(event["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp()
    late.setdefault(int(match.group(1)), {})[int(match.group(2))] = float(arrived) - sent
# The rate asked for, and the one the sender reached (it is one Python process beside the guests).
for line in open(sys.argv[2]):
    rate, total, seconds = line.split()
    seen = late.get(int(rate), {})
    print("%d %d %d %.3f %.3f" % (int(total) / float(seconds), int(total), len(seen), pct(list(seen.values()), 50), pct(list(seen.values()), 99)))
PY

ratio() { echo "$1 / $2" | bc -l | xargs printf '%.0f'; }
echo "watching the enterprise ($env: 131 hosts, $networks networks, applied in ${applied}s), $(nproc) cores, $(basename "$(dirname "$bin")") build, one round"
printf '%-52s %-12s %-40s %-12s %s\n' "measured" "value" "against" "value" "ratio"
cpu_ratio=$(echo "if ($dump_cpu < 0.01) -1 else $watch_cpu / $dump_cpu" | bc -l | xargs printf '%.1f')
[[ $cpu_ratio == -1.0 ]] && cpu_ratio="n/a (below a tick)"
printf '%-52s %-12s %-40s %-12s %s\n' "CPU idle, capture + decoding, per network (%)" "$(printf '%.2f' "$watch_cpu")" "capture alone, per network (%)" "$(printf '%.2f' "$dump_cpu")" "$cpu_ratio"
printf '%-52s %-12s %-40s %-12s %s\n' "idle: packet -> watch --follow, p50 (s)" "$i50" "packet -> tcpdump -l, p50 (s)" "$id50" "$(ratio "$i50" "$id50")"
printf '%-52s %-12s %-40s %-12s %s\n' "idle: packet -> watch --follow, p99 (s)" "$i99" "packet -> tcpdump -l, p99 (s)" "$id99" "$(ratio "$i99" "$id99")"
printf '%-52s %-12s %-40s %-12s %s\n' "idle: events of the requests in the timeline" "$iseen" "requests sent" "$count" "$(echo "$iseen / $count" | bc -l | xargs printf '%.3f')"
printf '%-52s %-12s %-40s %-12s %s\n' "scanning: packet -> watch --follow, p50 (s)" "$s50" "idle: packet -> watch --follow, p50 (s)" "$i50" "$(echo "$s50 / $i50" | bc -l | xargs printf '%.2f')"
printf '%-52s %-12s %-40s %-12s %s\n' "scanning: packet -> watch --follow, p99 (s)" "$s99" "idle: packet -> watch --follow, p99 (s)" "$i99" "$(echo "$s99 / $i99" | bc -l | xargs printf '%.2f')"
printf '%-52s %-12s %-40s %-12s %s\n' "scanning: events of the requests in the timeline" "$sseen" "requests sent" "$count" "$(echo "$sseen / $count" | bc -l | xargs printf '%.3f')"
printf '%-52s %-12s %-40s %-12s %s\n' "scanning: timeline events written per second" "$(printf '%.1f' "$scan_rate")" "" "" ""
sustained=0 failed=no
while read -r rate sent seen p50 p99; do
    printf '%-52s %-12s %-40s %-12s %s\n' "DNS at $rate/s reached: in the timeline, p50/p99 (s)" "$seen" "sent" "$sent" \
        "$(echo "$seen / $sent" | bc -l | xargs printf '%.3f')  p50 $p50  p99 $p99"
    # The rates rise: the first that loses an event or is late ends what is sustained.
    if [[ $failed == no && $seen == "$sent" ]] && (( $(echo "$p99 < 2" | bc -l) )); then sustained=$rate; else failed=yes; fi
done <"$work/flood-table"
printf '%-52s %-12s\n' "events per second sustained (none lost, p99 < 2 s)" "$sustained"
