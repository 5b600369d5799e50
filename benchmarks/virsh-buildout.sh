#!/usr/bin/env bash
# The baseline of benchmarks/deploy.sh: the same build-out done by hand with virsh, every step of a
# phase at once. `seeds DIR` makes the hosts' seed ISOs from DIR/seeds (untimed), `up DIR` creates
# everything from the documents `decoynet compile` wrote to DIR; `down DIR` removes it.
set -euo pipefail
action=$1
dir=$2
v() { virsh -q -c qemu:///system "$@" >/dev/null; }
pool=decoynet-buildout
names() { for f in "$dir/$1"/*.xml; do basename "$f" .xml; done; }

case $action in
up)
    cat >"$dir/pool.xml" <<POOL
<pool type="dir"><name>$pool</name><target><path>/var/lib/decoynet/pools/virsh-buildout</path></target></pool>
POOL
    v pool-define "$dir/pool.xml" && v pool-build "$pool" && v pool-start "$pool"
    for n in $(names networks); do (v net-define "$dir/networks/$n.xml" && v net-start "$n") & done; wait
    for f in "$dir"/volumes/*.xml; do v vol-create "$pool" "$f" & done; wait
    # Each host's NoCloud seed, as decoynet attaches it (the ISOs are made beforehand, untimed:
    # `seeds DIR` below; decoynet makes its own during its apply).
    for n in $(names domains); do
        host=${n#buildout-}
        (v vol-create-as "$pool" "$n.seed.iso" "$(stat -c %s "$dir/seeds/$host.iso")" --format raw &&
            v vol-upload --pool "$pool" "$n.seed.iso" "$dir/seeds/$host.iso") &
    done; wait
    for n in $(names domains); do (v define "$dir/domains/$n.xml" && v start "$n") & done; wait
    ;;
seeds)
    for folder in "$dir"/seeds/*/; do
        host=$(basename "$folder")
        genisoimage -quiet -V cidata -J -r -o "$dir/seeds/$host.iso" "$folder"meta-data "$folder"user-data "$folder"network-config
    done
    ;;
down)
    for n in $(names domains); do (v destroy "$n"; v undefine "$n") & done; wait
    for n in $(names volumes) $(names domains | sed 's/$/.seed.iso/'); do v vol-delete --pool "$pool" "$n" & done; wait
    for n in $(names networks); do (v net-destroy "$n"; v net-undefine "$n") & done; wait
    v pool-destroy "$pool"; v pool-delete "$pool"; v pool-undefine "$pool"
    ;;
esac
