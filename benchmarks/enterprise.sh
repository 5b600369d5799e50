#!/usr/bin/env bash
# topologies/enterprise.yaml on this machine, measured (a table on stdout):
#   alone      each template the enterprise uses, booted alone: QEMU CPU seconds until healthy; the
#              CPU floor of the whole company is their sum over its hosts divided by the cores
#   apply      seconds from `apply` to every host healthy, and that time over the floor (aim: 1.3)
#   test       seconds of `decoynet test` (probes and the policy's checks), and whether it passed
#   destroy    seconds of `destroy`, and what it left behind (domains, networks, pool, overlays, bridges)
#   memory     the host's peak memory in use beyond what it used before, KSM's merged pages, and the
#              proportional memory (PSS) of one workstation's QEMU
#   qemu       CPU seconds of every QEMU of the company, and how many hosts needed a restart
#   per host   each server's QEMU CPU seconds until the apply ended (all its QEMUs) and its seconds
#              from start (or restore) to healthy; the workstations' medians and maxima
#   templates  how many warm templates the apply made (hosts restored from them instead of booted)
#   idle       the company at rest after `test`: QEMU's share of one core over IDLE seconds (default
#              120), per workstation, per server and in all
#   reset      seconds of `reset --evidence` of the whole company (as after a run) until every host
#              is healthy again, how many hosts it restored from their clean states, and QEMU CPU
#              seconds meanwhile; mode templates only (RESET=skip leaves it out; RESET=all also
#              measures `reset --cold` in mode cold, as long again as its apply)
# Usage: benchmarks/enterprise.sh. FLOOR=skip leaves out `alone`. MODES="templates cold" (the
# default: templates) measures an apply for each: `templates` from no templates at all (it makes
# them), `cold` with --cold (every host booted: about half an hour on 2 cores); KEEP_TEMPLATES=1
# keeps the templates already made.
# WORKSTATIONS=N measures the company with N workstations instead of 120 (a smaller run of the same
# shape, for a change's first figures; quote the whole company's for the issue).
# BIN=.build/debug/decoynet measures another build. Needs the lab (make lab) and the built images
# (make images); nothing else may run meanwhile.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BIN:-.build/release/decoynet}
lab=(ip netns exec decoynet-lab)
topology=topologies/enterprise.yaml
environment=acme
[[ -x $bin ]] || swift build -c release --product decoynet >/dev/null
work=$(mktemp -d)
if [[ -n ${WORKSTATIONS:-} ]]; then
    [[ $WORKSTATIONS =~ ^[1-9][0-9]*$ ]] || { echo "WORKSTATIONS must be a whole number from 1" >&2; exit 2; }
    # Counted names are as wide as the count (two digits at least): ws-01 .. ws-30.
    width=$(( ${#WORKSTATIONS} > 2 ? ${#WORKSTATIONS} : 2 ))
    first=$(printf 'ws-%0*d' "$width" 1) last=$(printf 'ws-%0*d' "$width" "$WORKSTATIONS")
    sed -e "s/^    count: 120\$/    count: $WORKSTATIONS/" -e "s/ws-120/$last/" -e "s/ws-001/$first/" "$topology" >"$work/enterprise.yaml"
    topology=$work/enterprise.yaml
fi
sampler=""
cleanup() {
    [[ -n $sampler ]] && kill "$sampler" 2>/dev/null || true
    "${lab[@]}" "$bin" destroy "$environment" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
now() { date +%s.%N; }
cores=$(nproc)
ticks_per_second=$(getconf CLK_TCK)
available_kib() { awk '/^MemAvailable:/ { print $2 }' /proc/meminfo; }

# CPU of one host alone, until every probe passes.
declare -A alone
if [[ ${FLOOR:-} != skip ]]; then
    echo "== each template alone: QEMU CPU seconds until healthy"
    for template in router web-server mail-server dns-server proxy domain-controller file-server linux-server database workstation; do
        file=$work/alone.yaml
        printf 'name: bench-alone\norganization: Bench Co.\ndomain: corp.bench.test\npeople: [{ user: tsato, name: Taro Sato, department: Sales }]\n' >"$file"
        printf 'networks:\n  lan: { cidr: 10.192.1.0/24 }\nhosts:\n  h: { template: %s, interfaces: [{ network: lan }] }\n' "$template" >>"$file"
        # Every QEMU the host had: apply keeps its clean state once it is healthy (a save, then a
        # restore in a new QEMU), so the boot's CPU is the first process's, read until it ends.
        rm -rf "$work/alone-cpu" && mkdir -p "$work/alone-cpu"
        ( while true; do
              for pid in $(pgrep -f "guest=bench-alone-h," || true); do
                  awk '{ print $22, $14 + $15 }' "/proc/$pid/stat" >"$work/alone-cpu/$pid" 2>/dev/null || true
              done
              sleep 0.5
          done ) &
        sampler=$!
        "${lab[@]}" "$bin" apply "$file" --cold --json >"$work/alone.json" 2>/dev/null || echo "  ($template did not come up healthy)"
        kill "$sampler" 2>/dev/null || true
        sampler=""
        alone[$template]=$(cat "$work"/alone-cpu/* | sort -n | head -n 1 | awk -v hz="$ticks_per_second" '{ printf "%.1f", $2 / hz }')
        printf '  %-18s %s\n' "$template" "${alone[$template]}"
        "${lab[@]}" "$bin" destroy bench-alone >/dev/null 2>&1
    done
fi

measure() {
    local mode=$1
    "${lab[@]}" "$bin" destroy "$environment" >/dev/null 2>&1 || true
    sync
    echo 3 >/proc/sys/vm/drop_caches
    baseline=$(available_kib)
    bridges_before=$(ip -n decoynet-lab -o link show | awk -F': ' '{ print $2 }' | sort | tr '\n' ' ')

    # Every second: the lowest available memory, each QEMU's CPU so far (kept after it exits).
    rm -rf "$work/cpu" "$work/names" && mkdir -p "$work/cpu" "$work/names"
    ( lowest=$baseline
      while true; do
          current=$(available_kib)
          (( current < lowest )) && lowest=$current && echo "$lowest" >"$work/lowest"
          for pid in $(pgrep -f "guest=$environment-" || true); do
              awk '{ print $14 + $15 }' "/proc/$pid/stat" >"$work/cpu/$pid" 2>/dev/null || true
              # Whose QEMU it is (a host has one per start: its restore, then its clean state's).
              [[ -s $work/names/$pid ]] || tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null |
                  sed -n "s/^guest=$environment-\([^,]*\),.*/\1/p" >"$work/names/$pid" || true
          done
          sleep 1
      done ) &
    sampler=$!
    echo "$baseline" >"$work/lowest"

    made=0
    if [[ $mode == templates && ${KEEP_TEMPLATES:-} != 1 ]]; then rm -rf /var/lib/decoynet/images/*/templates; fi
    before_templates=$(ls -d /var/lib/decoynet/images/*/templates/* 2>/dev/null | grep -vc '/[^/]*[.][^/]*$' || true)
    start=$(now)
    status=0
    flags=()
    [[ $mode == cold ]] && flags=(--cold)
    "${lab[@]}" "$bin" apply "$topology" "${flags[@]}" --json >"$work/apply.json" 2>"$work/apply.log" || status=$?
    applied=$(echo "$(now) - $start" | bc)
    made=$(( $(ls -d /var/lib/decoynet/images/*/templates/* 2>/dev/null | grep -vc '/[^/]*[.][^/]*$' || true) - before_templates ))
    restored=$(python3 -c 'import json,sys; h=json.load(open(sys.argv[1]))["health"] or []; print(sum(1 for x in h if x.get("restoredFrom")))' "$work/apply.json" 2>/dev/null || echo "?")
    restarted=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(len(r.get("restarted", [])))' "$work/apply.json" 2>/dev/null || echo "?")
    healthy=$(python3 -c 'import json,sys; h=json.load(open(sys.argv[1]))["health"] or []; print("%d/%d" % (sum(all(p["passed"] for p in x["probes"]) for x in h), len(h)))' "$work/apply.json" 2>/dev/null || echo "?")
    ksm=$(( $(cat /sys/kernel/mm/ksm/pages_sharing 2>/dev/null || echo 0) * 4 / 1024 ))
    pss=$(awk '/^Pss:/ { print int($2 / 1024) }' "/proc/$(pgrep -f "guest=$environment-ws-060," | head -n 1)/smaps_rollup" 2>/dev/null || echo "?")

    start=$(now)
    tested=0
    "${lab[@]}" "$bin" test "$environment" --json >"$work/test.json" 2>/dev/null || tested=$?
    test_seconds=$(echo "$(now) - $start" | bc)
    checks=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("%d/%d" % (sum(x["passed"] for x in r), len(r)))' "$work/test.json" 2>/dev/null || echo "?")

    qemu_cpu=$(cat "$work"/cpu/* 2>/dev/null | awk -v hz="$ticks_per_second" '{ s += $1 } END { printf "%.0f", s / hz }')
    # Each host's QEMU CPU until the apply ended (all its QEMUs), beside its seconds to healthy.
    for file in "$work"/cpu/*; do
        pid=${file##*/}
        [[ -s $work/names/$pid ]] && echo "$(cat "$work/names/$pid") $(cat "$file")"
    done | awk '{ s[$1] += $2 } END { for (h in s) print h, s[h] }' | sort >"$work/apply.cpu"
    per_host=$(python3 - "$work/apply.json" "$work/apply.cpu" "$ticks_per_second" <<'PYEOF'
import json, statistics, sys
health = {h["host"]: h for h in (json.load(open(sys.argv[1])).get("health") or [])}
cpu = {}
for line in open(sys.argv[2]):
    name, ticks = line.split()
    cpu[name] = int(ticks) / int(sys.argv[3])
def seconds(host):
    value = health.get(host, {}).get("seconds")
    return "-" if value is None else "%.0f" % value
rows = ["  %-12s %8.1f %8s" % (host, cpu[host], seconds(host)) for host in sorted(cpu, key=lambda h: -cpu[h]) if not host.startswith("ws-")]
ws = [cpu[h] for h in cpu if h.startswith("ws-")]
ws_seconds = [health[h]["seconds"] for h in health if h.startswith("ws-") and health[h].get("seconds") is not None]
if ws:
    rows.append("  %-12s %8.1f %8s   (median of %d; CPU max %.1f, seconds max %.0f)" % ("ws-*", statistics.median(ws),
                "%.0f" % statistics.median(ws_seconds) if ws_seconds else "-", len(ws), max(ws), max(ws_seconds) if ws_seconds else 0))
print("\n".join(rows))
PYEOF
    ) || per_host="  ?"
    lowest=$(cat "$work/lowest")

    # At rest: each QEMU's CPU ticks at the start and at the end of IDLE seconds.
    idle_seconds=${IDLE:-120}
    ticks() {
        for pid in $(pgrep -f "guest=$environment-" || true); do
            name=$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | sed -n "s/^guest=$environment-\([^,]*\),.*/\1/p")
            awk -v name="$name" '{ print name, $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || true
        done | sort
    }
    ticks >"$work/idle.before"
    sleep "$idle_seconds"
    ticks >"$work/idle.after"
    idle=$(join "$work/idle.before" "$work/idle.after" | awk -v hz="$ticks_per_second" -v s="$idle_seconds" '
        { d = ($3 - $2) / hz / s * 100; if ($1 ~ /^ws-/) { w += d; nw++ } else { v += d; nv++ }; t += d }
        END { printf "%.2f%% per workstation (%d), %.2f%% per server (%d), %.0f%% of one core in all", w / (nw ? nw : 1), nw, v / (nv ? nv : 1), nv, t }') || idle="?"

    reset_line="skipped"
    if [[ ${RESET:-} != skip && ( $mode == templates || ${RESET:-} == all ) ]]; then
        reset_flags=()
        [[ $mode == cold ]] && reset_flags=(--cold)
        before_reset=$(cat "$work"/cpu/* 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')
        start=$(now)
        reset_status=0
        "${lab[@]}" "$bin" reset "$environment" --evidence "$work/evidence" "${reset_flags[@]}" --json >"$work/reset.json" 2>"$work/reset.log" || reset_status=$?
        reset_seconds=$(echo "$(now) - $start" | bc)
        # Why it failed, before the work folder goes.
        if [[ $reset_status != 0 ]]; then { echo "reset failed (exit $reset_status); its last lines:"; tail -n 30 "$work/reset.log"; } >&2; fi
        sleep 2
        reset_cpu=$(cat "$work"/cpu/* 2>/dev/null | awk -v hz="$ticks_per_second" -v b="$before_reset" '{ s += $1 } END { printf "%.0f", (s - b) / hz }')
        reset_restored=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1])).get("restored") or []))' "$work/reset.json" 2>/dev/null || echo "?")
        reset_healthy=$(python3 -c 'import json,sys; h=json.load(open(sys.argv[1])).get("health") or []; print("%d/%d" % (sum(all(p["passed"] for p in x["probes"]) for x in h), len(h)))' "$work/reset.json" 2>/dev/null || echo "?")
        reset_line=$(printf '%.0f s (exit %d; %s healthy; %s restored; QEMU CPU %s s)' "$reset_seconds" "$reset_status" "$reset_healthy" "$reset_restored" "$reset_cpu")
    fi

    kill "$sampler" 2>/dev/null || true
    sampler=""

    start=$(now)
    "${lab[@]}" "$bin" destroy "$environment" >/dev/null 2>&1 || true
    destroyed=$(echo "$(now) - $start" | bc)
    left=""
    virsh -c qemu:///system list --all --name | grep -q "^$environment-" && left+=" domains"
    virsh -c qemu:///system net-list --all --name | grep -q "^$environment-" && left+=" networks"
    virsh -c qemu:///system pool-list --all --name | grep -q "decoynet-$environment" && left+=" pool"
    [[ -n $(ls -A "/var/lib/decoynet/pools/$environment" 2>/dev/null) ]] && left+=" overlays"
    [[ $(ip -n decoynet-lab -o link show | awk -F': ' '{ print $2 }' | sort | tr '\n' ' ') != "$bridges_before" ]] && left+=" links"
    pgrep -f "guest=$environment-" >/dev/null && left+=" qemu"

    floor="-"
    ratio="-"
    if [[ ${FLOOR:-} != skip ]]; then
        floor=$(python3 - "$topology" <<PYEOF
import re, sys
counts = {}
template = None
for line in open(sys.argv[1]):
    m = re.match(r"^  ([a-z0-9-]+):\s*$", line)
    if m: template, count = None, 1
    m = re.match(r"^    template: (\S+)", line)
    if m: template = m.group(1); counts[template] = counts.get(template, 0) + 1
    m = re.match(r"^    count: (\d+)", line)
    if m and template: counts[template] += int(m.group(1)) - 1
cpu = {$(for t in "${!alone[@]}"; do printf '"%s": %s, ' "$t" "${alone[$t]}"; done)}
print("%.0f" % (sum(cpu[t] * n for t, n in counts.items()) / $cores))
PYEOF
    )
        ratio=$(echo "scale=2; $applied / $floor" | bc)
    fi
    echo
    echo "== topologies/enterprise.yaml on $cores cores (TCG), mode $mode"
    printf '%-44s %s\n' "measure" "value"
    printf '%-44s %.0f s (exit %d; %s hosts healthy)\n' "apply until every host healthy" "$applied" "$status" "$healthy"
    printf '%-44s %s s; measured / floor = %s\n' "CPU floor (alone boot CPU / cores)" "$floor" "$ratio"
    printf '%-44s %.0f s (exit %d; %s passed)\n' "test (probes and checks)" "$test_seconds" "$tested" "$checks"
    printf '%-44s %.1f s; left behind: %s\n' "destroy" "$destroyed" "${left:-nothing}"
    printf '%-44s %d MiB\n' "peak host memory in use beyond the baseline" "$(( (baseline - lowest) / 1024 ))"
    printf '%-44s %s MiB merged by KSM; %s MiB PSS of one workstation QEMU\n' "memory detail" "$ksm" "$pss"
    printf '%-44s %s s\n' "QEMU CPU of the company" "$qemu_cpu"
    printf '%-44s %s\n' "hosts that needed a restart" "$restarted"
    printf '%-44s %s (%s hosts restored from one)\n' "warm templates made" "$made" "$restored"
    cpu_ratio="-"
    [[ $floor != "-" ]] && cpu_ratio=$(echo "scale=2; $qemu_cpu / ($floor * $cores)" | bc)
    printf '%-44s %s\n' "QEMU CPU / (floor x cores)" "$cpu_ratio"
    printf '%-44s %s\n' "idle over ${idle_seconds} s after test" "$idle"
    printf '%-44s %s\n' "reset of the whole company" "$reset_line"
    echo "per host until the apply ended: QEMU CPU s, seconds from its start (or restore) to healthy"
    printf '  %-12s %8s %8s\n' host "cpu s" healthy
    echo "$per_host"
}

for mode in ${MODES:-templates}; do measure "$mode"; done
