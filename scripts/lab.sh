#!/usr/bin/env bash
# The local lab: libvirtd and QEMU inside the network namespace `decoynet-lab`, so every bridge,
# DHCP server and guest address lives there and never touches this host's own networks; the
# libvirt socket still reaches it from outside. Idempotent.
#   scripts/lab.sh up      install packages, prepare libvirtd, start it in the namespace, build the guest
#   scripts/lab.sh down    stop what `up` started and remove the namespace
#   scripts/lab.sh status  say what runs
set -euo pipefail
cd "$(dirname "$0")/.."
namespace=decoynet-lab
state=/run/decoynet-lab
uri=qemu:///system

log() { echo "lab: $*"; }

answers() { timeout 10 virsh -c "$uri" version >/dev/null 2>&1; }

libvirtd_pid() { pgrep -x libvirtd | head -n 1 || true; }

in_namespace() { # pid
    [[ -n $1 ]] && [[ $(ip netns identify "$1" 2>/dev/null) == "$namespace" ]]
}

up() {
    scripts/install-deps.sh lab
    mkdir -p "$state" /var/lib/decoynet/images /var/log/libvirt/qemu

    # Users and groups libvirtd expects (Debian's packages create them; a minimal system may not).
    getent group kvm >/dev/null || groupadd --system kvm
    getent group libvirt-qemu >/dev/null || groupadd --system libvirt-qemu
    id libvirt-qemu >/dev/null 2>&1 || useradd --system --no-create-home -g libvirt-qemu -G kvm -s /usr/sbin/nologin libvirt-qemu

    # QEMU runs as root here: the lab is a root setup, and guests read kernels under /var/lib/decoynet.
    local conf=/etc/libvirt/qemu.conf
    if ! grep -q '^# decoynet-lab$' "$conf"; then
        printf '\n# decoynet-lab\nuser = "root"\ngroup = "root"\n' >>"$conf"
        log "set user/group root in $conf"
    fi

    if ! ip netns list | grep -qw "$namespace"; then
        ip netns add "$namespace"
        log "created network namespace $namespace"
    fi
    ip -n "$namespace" link set lo up

    # Same-page merging: guests of one image hold many identical pages (kernel, libraries, page
    # cache); QEMU marks guest memory mergeable, KSM merges it (measured: 164 -> 103 MB of host
    # memory per workstation). Off by default in Debian.
    local ksm=/sys/kernel/mm/ksm
    if [[ -w $ksm/run ]] && [[ $(cat "$ksm/run") != 1 ]]; then
        echo 1000 >"$ksm/pages_to_scan"
        echo 20 >"$ksm/sleep_millisecs"
        echo 1 >"$ksm/run"
        log "enabled kernel same-page merging (KSM)"
    fi

    if ! pgrep -x virtlogd >/dev/null; then
        virtlogd -d
        log "started virtlogd"
    fi

    local pid
    pid=$(libvirtd_pid)
    if [[ -n $pid ]] && ! in_namespace "$pid"; then
        echo "lab: a libvirtd (pid $pid) already runs outside $namespace; stop it first (e.g. systemctl stop libvirtd)" >&2
        exit 1
    fi
    if [[ -z $pid ]]; then
        ip netns exec "$namespace" libvirtd -d
        log "started libvirtd in $namespace"
    fi
    for _ in $(seq 1 50); do answers && break; sleep 0.2; done
    answers || { echo "lab: libvirtd does not answer on $uri" >&2; exit 1; }

    scripts/build-guest.sh
    # The QEMU of stealthy hosts: this machine's own, with QEMU's four names for itself renamed.
    scripts/stealth-qemu.py /usr/bin/qemu-system-x86_64 /var/lib/decoynet/qemu >/dev/null
    log "ready: $uri, libvirtd in namespace $namespace; reach guests with: ip netns exec $namespace ..."
}

down() {
    local pid
    pid=$(libvirtd_pid)
    if in_namespace "$pid"; then
        kill "$pid"
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        log "stopped libvirtd"
    fi
    if ip netns list | grep -qw "$namespace"; then
        # Whatever still runs in the namespace (dnsmasq, QEMU) belongs to the lab.
        for leftover in $(ip netns pids "$namespace"); do kill "$leftover" 2>/dev/null || true; done
        ip netns del "$namespace"
        log "removed network namespace $namespace"
    fi
}

status() {
    local pid
    pid=$(libvirtd_pid)
    if in_namespace "$pid"; then echo "libvirtd: running in $namespace (pid $pid)"; else echo "libvirtd: not running in $namespace"; fi
    if [[ -f /var/lib/decoynet/images/tiny/initrd.gz ]]; then echo "guest: built"; else echo "guest: not built"; fi
}

case ${1:-} in
    up) up ;;
    down) down ;;
    status) status ;;
    *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
