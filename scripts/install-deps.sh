#!/usr/bin/env bash
# Installs the Debian packages DecoyNet builds and tests with. Idempotent: installs only what is
# missing, and runs apt-get update only when something is.
#   scripts/install-deps.sh            packages for building and testing the compiler
#   scripts/install-deps.sh bench      also /usr/bin/time, wrk and ping for the benchmarks
#   scripts/install-deps.sh lab        also libvirtd, QEMU, what the test guest is built from, and
#                                      mmdebstrap, which builds the decoy images from the Debian archive
set -euo pipefail

# The server's SQLite (GRDB), xterm.js for its console page, headless Chromium for its browser tests,
# tshark for the timeline (Wireshark's dissectors), python3-venv for the tests' and forensics' own
# Python packages (lz4 and zstd in the lab unpack kernels for their symbol tables), libxcrypt for
# the guests' password hashes.
packages=(pkg-config libxml2-dev libvirt-dev libvirt-clients libxml2-utils libsqlite3-dev libcrypt-dev node-xterm chromium chromium-driver curl
          tshark python3-venv)
lab=(libvirt-daemon-system libvirt-daemon-driver-qemu qemu-system-x86 qemu-utils dnsmasq-base iproute2 iptables nftables
     linux-image-cloud-amd64 busybox-static cpio kmod e2fsprogs ovmf curl tcpdump util-linux procps
     mmdebstrap debian-archive-keyring lz4 zstd)
case "${1:-}" in
    bench) packages+=(time bc wrk genisoimage iputils-ping) ;;
    lab) packages+=("${lab[@]}") ;;
    all) packages+=(time bc wrk genisoimage "${lab[@]}") ;;
esac

missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done

if ((${#missing[@]} == 0)); then
    exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: missing Debian packages: ${missing[*]}; run as root or: sudo apt-get install ${missing[*]}" >&2
    exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# tshark's package asks whether others may capture: they may not (DecoyNet captures as root).
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
