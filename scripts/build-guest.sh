#!/usr/bin/env bash
# Builds the tiny test guest from Debian packages only: the linux-image-cloud-amd64 kernel, its
# virtio modules and busybox-static, packed with guest/init into an initramfs.
# Output: $DECOYNET_IMAGES/tiny/{vmlinuz,initrd.gz,disk.qcow2} (default /var/lib/decoynet/images),
# where the `tiny` template points; disk.qcow2 is a small ext4 base disk that each host gets an
# overlay of. Idempotent: rebuilds only when an input changed.
set -euo pipefail
cd "$(dirname "$0")/.."
images=${DECOYNET_IMAGES:-/var/lib/decoynet/images}
out="$images/tiny"

kernel=$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -n 1 || true)
if [[ -z "$kernel" ]]; then
    echo "build-guest: no cloud kernel in /boot; install linux-image-cloud-amd64" >&2
    exit 1
fi
version=${kernel#/boot/vmlinuz-}
modules=/lib/modules/$version
busybox=/bin/busybox
[[ -x $busybox ]] || { echo "build-guest: $busybox missing; install busybox-static" >&2; exit 1; }

# The modules the guest needs, with their dependencies first (modules.dep order, deduplicated).
wanted=(virtio_pci virtio_net virtio_blk virtio_console virtio-rng)
order=()
add_module() {
    local name=$1 path dep
    path=$(modinfo -k "$version" -n "$name" 2>/dev/null) || return 0
    [[ $path == /* ]] || return 0
    for dep in $(modinfo -k "$version" -F depends "$name" | tr ',' ' '); do add_module "$dep"; done
    path=${path#"$modules"/}
    for known in "${order[@]+"${order[@]}"}"; do [[ $known == "$path" ]] && return 0; done
    order+=("$path")
}
for module in "${wanted[@]}"; do add_module "$module"; done

stamp=$(cat "$0" guest/init guest/udhcpc.script guest/cgi-bin/* <(echo "$kernel ${order[*]}") "$busybox" | sha256sum | cut -c1-16)
if [[ -f $out/stamp && $(cat "$out/stamp") == "$stamp" && -f $out/vmlinuz && -f $out/initrd.gz && -f $out/disk.qcow2 ]]; then
    echo "build-guest: $out is up to date"
    exit 0
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,run,tmp,www,lib/modules}
cp "$busybox" "$root/bin/busybox"
cp guest/init "$root/init"
cp guest/udhcpc.script "$root/etc/udhcpc.script"
mkdir -p "$root/etc/cgi-bin"
cp guest/cgi-bin/* "$root/etc/cgi-bin/"
chmod +x "$root/init" "$root/etc/udhcpc.script" "$root"/etc/cgi-bin/*
: >"$root/etc/modules.order"
for path in "${order[@]}"; do
    mkdir -p "$root/lib/modules/$(dirname "$path")"
    case $path in
        *.ko.xz) xz -dc "$modules/$path" >"$root/lib/modules/${path%.xz}"; path=${path%.xz} ;;
        *.ko.zst) zstd -qdc "$modules/$path" >"$root/lib/modules/${path%.zst}"; path=${path%.zst} ;;
        *) cp "$modules/$path" "$root/lib/modules/$path" ;;
    esac
    echo "$path" >>"$root/etc/modules.order"
done

mkdir -p "$out"
(cd "$root" && find . | sort | cpio -o -H newc --quiet | gzip -9n) >"$out/initrd.gz.new"
# The base disk: 64 MiB of ext4 holding a note; hosts write only to their overlays of it.
disk=$(mktemp -d)
echo "decoynet tiny guest base disk: never written, each host has an overlay" >"$disk/README"
mkfs.ext4 -q -F -L decoynet -d "$disk" "$root.disk.raw" 64M
rm -rf "$disk"
qemu-img convert -f raw -O qcow2 "$root.disk.raw" "$out/disk.qcow2.new"
rm -f "$root.disk.raw"
mv "$out/disk.qcow2.new" "$out/disk.qcow2"
cp "$kernel" "$out/vmlinuz.new"
mv "$out/initrd.gz.new" "$out/initrd.gz"
mv "$out/vmlinuz.new" "$out/vmlinuz"
echo "$stamp" >"$out/stamp"
echo "build-guest: built $out (kernel $version, ${#order[@]} modules)"
