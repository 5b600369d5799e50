#!/usr/bin/env bash
# Fault runs in the lab: libvirtd restarted in the middle of apply, reset and destroy, RUNS times
# each, and CYCLES apply/destroy cycles that must leave nothing behind. Prints a table.
#   scripts/faults.sh [RUNS] [CYCLES]        (make faults; needs the lab: make lab)
# A run passes when the command finishes or fails with the "libvirtd stopped or restarted" message
# (never a signal, never another error) and the next apply converges with every probe passing.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
cycles=${2:-100}
lab="ip netns exec decoynet-lab"
swift build --product decoynet >/dev/null
work=$(mktemp -d)
# A copy: a build during the runs must not change the binary under them.
cp "$(swift build --show-bin-path)/decoynet" "$work/decoynet"
bin=$work/decoynet
export DECOYNET_TEMPLATES=$PWD/templates
environment=faults
sed -e 's/^name: quickstart$/name: faults/' -e 's/10\.77\./10.188./g' topologies/quickstart.yaml >"$work/faults.yaml"
export LIBVIRT_DEFAULT_URI=qemu:///system
cleanup() { $lab "$bin" destroy "$environment" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT

restart_libvirtd() {
    local pid
    pid=$(pgrep -x libvirtd | head -n 1 || true)
    if [ -n "$pid" ]; then
        kill "$pid"
        for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
        if kill -0 "$pid" 2>/dev/null; then echo "faults: libvirtd $pid ignored SIGTERM; killed" >&2; kill -9 "$pid"; sleep 0.5; fi
    fi
    $lab libvirtd -d
    until virsh version >/dev/null 2>&1; do sleep 0.2; done
}

# What remains of the environment anywhere on the host: domains, networks, pools, volumes' folder,
# dnsmasq, captures; and every interface in the namespace (bridges, taps) for comparison.
leftovers() {
    {
        virsh list --all --name | grep "^$environment-" | sed 's/^/domain /' || true
        virsh net-list --all --name | grep "^$environment-" | sed 's/^/network /' || true
        virsh pool-list --all --name | grep "^decoynet-$environment\$" | sed 's/^/pool /' || true
        pgrep -af "dnsmasq/$environment-" | sed 's/^/dnsmasq /' || true
        ls /var/lib/libvirt/dnsmasq 2>/dev/null | grep "^$environment-" | sed 's/^/dnsmasq file /' || true
        [ -e "/var/lib/decoynet/pools/$environment" ] && echo "folder /var/lib/decoynet/pools/$environment"
        [ -e "/var/lib/decoynet/captures/$environment" ] && echo "captures of $environment"
        ip netns exec decoynet-lab nft list table bridge "decoynet_env_$environment" >/dev/null 2>&1 && echo "nftables table decoynet_env_$environment"
        ip netns exec decoynet-lab nft list table inet "decoynet_net_$environment" >/dev/null 2>&1 && echo "nftables table decoynet_net_$environment"
        [ -e "/var/lib/decoynet/isolation/$environment.nft" ] && echo "file /var/lib/decoynet/isolation/$environment.nft"
    } 2>/dev/null || true
}
interfaces() { ip -n decoynet-lab -o link show | awk -F': ' '{print $2}' | sort; }

converge() { # the next apply succeeds with every probe passing
    $lab "$bin" apply "$work/faults.yaml" --json >"$work/apply.json" 2>"$work/apply.err" &&
        python3 -c 'import json,sys; h=json.load(open(sys.argv[1]))["health"]; sys.exit(0 if h and all(all(p["passed"] for p in x["probes"]) for x in h) else 1)' "$work/apply.json"
}

declare -A finished failed_clearly other converged
before=$(interfaces)
for verb in apply reset destroy; do
    finished[$verb]=0 failed_clearly[$verb]=0 other[$verb]=0 converged[$verb]=0
    for run in $(seq 1 "$runs"); do
        case $verb in
            apply) $lab "$bin" destroy "$environment" >/dev/null 2>&1; command=(apply "$work/faults.yaml"); delay=$((1 + run % 4)) ;;
            reset) converge || true; command=(reset "$environment" ws); delay=0.$((2 + run % 7)) ;;
            destroy) converge || true; command=(destroy "$environment"); delay=0.$((1 + run % 5)) ;;
        esac
        set +e
        $lab "$bin" "${command[@]}" >"$work/out" 2>"$work/err" &
        pid=$!
        sleep "$delay"
        restart_libvirtd
        wait "$pid"
        status=$?
        set -e
        if [ "$status" -eq 0 ]; then
            finished[$verb]=$((finished[$verb] + 1))
        elif [ "$status" -eq 1 ] && grep -q "libvirtd stopped or restarted" "$work/err"; then
            failed_clearly[$verb]=$((failed_clearly[$verb] + 1))
        else
            other[$verb]=$((other[$verb] + 1))
            echo "faults: $verb run $run: status $status: $(tail -n 3 "$work/err")" >&2
        fi
        if converge; then converged[$verb]=$((converged[$verb] + 1)); else echo "faults: $verb run $run: the next apply did not converge: $(tail -n 3 "$work/apply.err")" >&2; fi
    done
done
$lab "$bin" destroy "$environment" >/dev/null

left_after_cycles=0
for cycle in $(seq 1 "$cycles"); do
    $lab "$bin" apply "$work/faults.yaml" --no-wait >/dev/null 2>"$work/err" || { echo "faults: cycle $cycle: apply failed: $(tail -n 2 "$work/err")" >&2; }
    $lab "$bin" destroy "$environment" >/dev/null 2>"$work/err" || { echo "faults: cycle $cycle: destroy failed: $(tail -n 2 "$work/err")" >&2; }
    if [ -n "$(leftovers)" ]; then
        left_after_cycles=$((left_after_cycles + 1))
        echo "faults: cycle $cycle left: $(leftovers | tr '\n' ';')" >&2
    fi
done
after=$(interfaces)

echo "libvirtd restarted mid-operation, $runs runs each; $cycles apply/destroy cycles (quickstart, lab, $(nproc) cores)"
printf '%-10s %10s %16s %8s %16s\n' "verb" "finished" "failed clearly" "other" "next apply ok"
for verb in apply reset destroy; do
    printf '%-10s %10s %16s %8s %16s\n' "$verb" "${finished[$verb]}" "${failed_clearly[$verb]}" "${other[$verb]}" "${converged[$verb]}/$runs"
done
printf '%-40s %s\n' "cycles leaving anything behind" "$left_after_cycles/$cycles"
if [ "$before" = "$after" ]; then echo "interfaces in the namespace: the same before and after"; else
    echo "interfaces in the namespace changed:"; diff <(echo "$before") <(echo "$after") || true; fi
