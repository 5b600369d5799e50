#!/usr/bin/env bash
# Where a restored workstation's time goes, and how many restores at once this machine carries.
# COUNT workstations of the enterprise's kind (an owner each, rdp, DHCP on one network), restored
# from the workstation's warm template (made first, outside the figures), applied once per value of
# SLOTS (--boot-slots). A table on stdout, one row per value, all from this one run:
#   apply      seconds from `apply` to its end; `healthy` when the last host turned healthy (the
#              rest is keeping their clean states for reset)
#   per host   seconds from each host's restore to healthy (median and worst), as apply reports them
#   restore    the median seconds of a restore itself (libvirt's restore with the host's definition)
#   qemu       CPU seconds of every QEMU until the apply ended, and that per host
#   vs first   apply seconds over the first value's
# Usage: benchmarks/clones.sh [COUNT] (24 by default). SLOTS="2 4 8" by default. BIN=... another
# build. Needs the lab (make lab) and the workstation image (decoynet image build workstation);
# nothing else may run meanwhile.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-24}
[[ $count =~ ^[1-9][0-9]*$ ]] || { echo "COUNT must be a whole number from 1" >&2; exit 2; }
slots=${SLOTS:-2 4 8}
bin=${BIN:-.build/debug/decoynet}
[[ -x $bin ]] || { echo "no $bin: build it first (swift build)" >&2; exit 2; }
lab=(ip netns exec decoynet-lab)
environment=bench-clones
work=$(mktemp -d)
sampler=""
cleanup() {
    [[ -n $sampler ]] && kill "$sampler" 2>/dev/null || true
    "${lab[@]}" "$bin" destroy "$environment" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
now() { date +%s.%N; }
hz=$(getconf CLK_TCK)

topology() {
    cat <<YAML
name: $environment
organization: Bench Clones Co.
domain: corp.clones.test
departments: [Sales, Finance, IT]
people:
  - { generate: $(( count + 10 )), seed: 7 }
networks:
  lan: { cidr: 10.86.0.0/22 }
hosts:
  ws:
    template: workstation
    count: $1
    owner: auto
    services: [rdp]
    interfaces: [{ network: lan }]
YAML
}

# The template, made by one host's apply (not measured).
topology 1 >"$work/warm.yaml"
echo "clones benchmark: making the workstation's template ..." >&2
"${lab[@]}" "$bin" apply "$work/warm.yaml" --json >/dev/null 2>"$work/warm.log" || { tail -n 20 "$work/warm.log" >&2; exit 1; }
"${lab[@]}" "$bin" destroy "$environment" >/dev/null 2>&1
topology "$count" >"$work/topology.yaml"

rows=()
first=""
for slot in $slots; do
    sync
    rm -rf "$work/cpu" && mkdir -p "$work/cpu"
    ( while true; do
          for pid in $(pgrep -f "guest=$environment-" || true); do
              awk '{ print $14 + $15 }' "/proc/$pid/stat" >"$work/cpu/$pid" 2>/dev/null || true
          done
          sleep 0.5
      done ) &
    sampler=$!
    echo "clones benchmark: $count workstations, --boot-slots $slot ..." >&2
    start=$(now)
    status=0
    # Each line of apply's progress with the seconds since the start: when the last host turned
    # healthy, each host's seconds to healthy, and each restore's own.
    "${lab[@]}" "$bin" apply "$work/topology.yaml" --boot-slots "$slot" 2>&1 | while IFS= read -r line; do
        printf '%s %s\n' "$(echo "$(now) - $start" | bc)" "$line"; done >"$work/apply-$slot.log" || true
    status=$(grep -q "^[0-9.]* applied " "$work/apply-$slot.log" && echo 0 || echo 1)
    applied=$(echo "$(now) - $start" | bc)
    sleep 1
    kill "$sampler" 2>/dev/null || true
    sampler=""
    qemu=$(cat "$work"/cpu/* 2>/dev/null | awk -v hz="$hz" '{ s += $1 } END { printf "%.1f", s / hz }')
    last=$(awk '/ healthy after / { t = $1 } END { printf "%.0f", t }' "$work/apply-$slot.log")
    median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) printf "%.1f", v[int((NR + 1) / 2)]; else printf "?" }'; }
    restore=$(sed -n 's/.*restored from a warm template[^(]*(\([0-9.]*\)s).*/\1/p' "$work/apply-$slot.log" | median)
    median=$(sed -n 's/.* healthy after \([0-9.]*\)s.*/\1/p' "$work/apply-$slot.log" | median)
    worst=$(sed -n 's/.* healthy after \([0-9.]*\)s.*/\1/p' "$work/apply-$slot.log" | sort -n | tail -n 1)
    healthy="$(grep -c ' healthy after ' "$work/apply-$slot.log" || true)/$count"
    restored=$(grep -c 'restored from a warm template' "$work/apply-$slot.log" || true)
    [[ -z $first ]] && first=$applied
    per_host=$(echo "scale=2; $qemu / $count" | bc)
    ratio=$(echo "scale=2; $applied / $first" | bc)
    rows+=("$(printf '%-6s %-9s %-9s %-8s %-9s %-17s %-9s %-9s %-9s %s' "$slot" "$(printf '%.0f' "$applied")" "$last" "$healthy" "$restored" "$median / $worst" "$restore" "$qemu" "$per_host" "$ratio")")
    "${lab[@]}" "$bin" destroy "$environment" >/dev/null 2>&1 || true
    [[ $status == 0 ]] || { echo "apply with --boot-slots $slot failed (exit $status); its last lines:" >&2; tail -n 20 "$work/apply-$slot.log" >&2; }
done

echo
echo "== $count restored workstations on $(nproc) cores (TCG), $(date -u +%FT%TZ)"
printf '%-6s %-9s %-9s %-8s %-9s %-17s %-9s %-9s %-9s %s\n' slots "apply s" "healthy" "hosts" restored "host s (p50/max)" "restore" "qemu s" "per host" "vs first"
for row in "${rows[@]}"; do echo "$row"; done
