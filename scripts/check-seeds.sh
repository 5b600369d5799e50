#!/usr/bin/env bash
# Checks the seeds DecoyNet renders against cloud-init's own schema (`cloud-init schema`), so an
# operator's image with cloud-init reads them as the project's first-boot agent does. cloud-init
# runs in a chroot of Debian 12 made once with mmdebstrap (cached in /var/cache/decoynet), never on
# this machine itself, where its services would take over the next boot. Deprecations count as failures.
#   scripts/check-seeds.sh [TOPOLOGY...]   default: every topology in topologies/ (enterprise: its first hosts)
set -euo pipefail
cd "$(dirname "$0")/.."
root=/var/cache/decoynet/cloud-init-root
bin=.build/debug/decoynet
[[ -x $bin ]] || swift build >/dev/null

if [[ ! -x $root/usr/bin/cloud-init ]]; then
    echo "check-seeds: making a Debian 12 chroot with cloud-init in $root"
    rm -rf "$root.new"
    mkdir -p "$(dirname "$root")"
    mmdebstrap --variant=minbase --mode=root --include=cloud-init bookworm "$root.new" >/dev/null 2>&1
    rm -rf "$root"
    mv "$root.new" "$root"
fi

work=$(mktemp -d "$root/tmp/seeds.XXXXXX")
trap 'rm -rf "$work"' EXIT
topologies=("$@")
((${#topologies[@]})) || topologies=(topologies/*.yaml)
checked=0 problems=0
for topology in "${topologies[@]}"; do
    name=$(basename "$topology" .yaml)
    "$bin" compile "$topology" -o "$work/$name" >/dev/null 2>&1 || { echo "check-seeds: $topology does not compile" >&2; problems=$((problems + 1)); continue; }
    hosts=$(ls "$work/$name/seeds" | head -n 12)
    for host in $hosts; do
        output=$(chroot "$root" cloud-init schema -c "/tmp/${work##*/}/$name/seeds/$host/user-data" 2>&1) || true
        checked=$((checked + 1))
        if ! grep -q "^Valid cloud-config" <<<"$output" || grep -qi "deprecat" <<<"$output"; then
            echo "check-seeds: $topology host $host:" >&2
            echo "$output" | sed 's/^/  /' >&2
            problems=$((problems + 1))
        fi
    done
done
echo "check-seeds: cloud-init $(chroot "$root" cloud-init --version 2>&1 | awk '{ print $2 }') checked $checked seeds of ${#topologies[@]} topologies: $problems with problems"
((problems == 0))
