#!/usr/bin/env bash
# Idle CPU of hosts nobody talks to, per device the domain could do without: the hosts of one
# environment, all up at once, in variants made from their own domain XML by `virsh define`
# (USB controller removed, memory balloon removed, HPET off, all three), each variant on `pairs`
# workstations and one server. A table: per template and variant, the QEMU processes' share of one
# core over `seconds`, 30 s after every host is healthy, and the ratio to the unchanged domain of
# the same run.
#   benchmarks/idle.sh [PAIRS] [SECONDS]   (2 and 120 by default; about 8 minutes here)
set -euo pipefail
cd "$(dirname "$0")/.."
pairs=${1:-2}
seconds=${2:-120}
bin=$PWD/.build/debug/decoynet
[[ -x .build/release/decoynet ]] && bin=$PWD/.build/release/decoynet
lab="ip netns exec decoynet-lab"
virsh="virsh -c qemu:///system"
env=bench-idle
work=$(mktemp -d)
cleanup() {
    $lab "$bin" destroy "$env" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
variants=(as-compiled no-usb no-balloon no-hpet all-three)
hz=$(getconf CLK_TCK)

cat >"$work/topology.yaml" <<YAML
name: $env
hardware: { vendor: dell }
networks:
  lan: { cidr: 10.83.0.0/22 }
hosts:
  ws: { template: workstation, count: $(( pairs * ${#variants[@]} )), interfaces: [{ network: lan }] }
  srv: { template: linux-server, count: ${#variants[@]}, interfaces: [{ network: lan }] }
YAML
echo "idle benchmark: applying $(( (pairs + 1) * ${#variants[@]} )) hosts ..." >&2
$lab "$bin" apply "$work/topology.yaml" --json >/dev/null

# variant VARIANT < XML > XML: the domain without what VARIANT removes.
variant() {
    python3 -c '
import sys, xml.etree.ElementTree as ET
kind = sys.argv[1]
root = ET.fromstring(sys.stdin.read())
devices = root.find("devices")
if kind in ("no-usb", "all-three"):
    for controller in devices.findall("controller[@type=\"usb\"]"): devices.remove(controller)
    ET.SubElement(devices, "controller", type="usb", model="none")
if kind in ("no-balloon", "all-three"):
    for balloon in devices.findall("memballoon"): devices.remove(balloon)
    ET.SubElement(devices, "memballoon", model="none")
if kind in ("no-hpet", "all-three"):
    clock = root.find("clock")
    ET.SubElement(clock, "timer", name="hpet", present="no")
sys.stdout.write(ET.tostring(root, encoding="unicode"))' "$1"
}

# Each host's variant: workstations in runs of `pairs`, servers one each.
declare -A kind
index=0
for v in "${variants[@]}"; do
    for _ in $(seq 1 "$pairs"); do index=$((index + 1)); kind[$(printf "ws-%02d" "$index")]=$v; done
done
for i in $(seq 1 ${#variants[@]}); do kind[$(printf "srv-%02d" "$i")]=${variants[$((i - 1))]}; done
for host in "${!kind[@]}"; do
    [[ ${kind[$host]} == as-compiled ]] && continue
    domain=$env-$host
    $virsh dumpxml --inactive --security-info "$domain" | variant "${kind[$host]}" >"$work/$host.xml"
    $virsh destroy "$domain" >/dev/null
    $virsh define "$work/$host.xml" >/dev/null
done
echo "idle benchmark: restarting the variants ..." >&2
for host in "${!kind[@]}"; do
    [[ $($virsh domstate "$env-$host") == running ]] || $virsh start "$env-$host" >/dev/null
done
$lab "$bin" health "$env" >/dev/null
sleep 30

pid() { cat "/run/libvirt/qemu/$env-$1.pid"; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
declare -A before
for host in "${!kind[@]}"; do before[$host]=$(ticks "$(pid "$host")"); done
sleep "$seconds"
declare -A share count
for host in "${!kind[@]}"; do
    used=$(( $(ticks "$(pid "$host")") - before[$host] ))
    template=workstation; [[ $host == srv-* ]] && template=linux-server
    key="$template ${kind[$host]}"
    share[$key]=$(awk -v s="${share[$key]:-0}" -v u="$used" 'BEGIN { print s + u }')
    count[$key]=$(( ${count[$key]:-0} + 1 ))
done

echo "idle CPU over $seconds s, 30 s after health ($(date -u +%FT%TZ), $(nproc) cores; $bin)"
printf "%-13s %-12s %6s %12s %9s\n" template variant hosts "% of a core" ratio
for template in workstation linux-server; do
    base=$(awk -v t="${share[$template as-compiled]}" -v n="${count[$template as-compiled]}" -v hz="$hz" -v s="$seconds" 'BEGIN { print 100 * t / hz / s / n }')
    for v in "${variants[@]}"; do
        key="$template $v"
        awk -v t="${share[$key]}" -v n="${count[$key]}" -v hz="$hz" -v s="$seconds" -v b="$base" -v tp="$template" -v v="$v" \
            'BEGIN { p = 100 * t / hz / s / n; printf "%-13s %-12s %6d %12.2f %8.2fx\n", tp, v, n, p, (b > 0 ? p / b : 0) }'
    done
done
