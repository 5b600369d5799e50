#!/usr/bin/env python3
"""stealth-qemu.py: the QEMU that stealthy hosts run, made from this machine's own Debian QEMU.

QEMU 7.2 writes four things that say "QEMU" into a guest which no option changes (OBSERVE.md,
"Stealth"; the detector's acpi-tables and pci-subsystems checks): its ASL compiler id `BXPC` in the
header of every ACPI table, its fw_cfg device's `_HID` `QEMU0002` in the DSDT, a `WAET` table (the
"emulated devices" table, which no physical machine has), and Red Hat's PCI subsystem 1af4:1100 on
every device that gives none of its own (the chipset's host bridge, LPC, SATA, SMBus, EHCI).
Projects that hide analysis VMs (CAPE's kvm-qemu.sh among them) rename them in QEMU's source and
build QEMU; building it here takes most of an hour of two cores, so this renames them in a copy of
the installed binary instead, each at the one place it occurs:

  BXPC -> INTL (Intel's ASL compiler), QEMU0002 -> PNP0C02 (motherboard resources, which every PC's
  DSDT has several of), WAET -> MSDM (the OEM licence table of a Windows PC), and the default PCI
  subsystem 1af4:1100 -> the hardware profile's vendor's (Dell 1028:07a1), an operand of one
  instruction, found by its neighbourhood.

Every pattern must occur exactly once, or nothing is written and the reason is said (another
QEMU build). The copy lives under PREFIX/bin with PREFIX/lib and PREFIX/share pointing at the
system's, where QEMU, which finds its modules and firmware relative to its binary, looks.

    stealth-qemu.py SOURCE PREFIX        (idempotent: an unchanged SOURCE is not patched again)
"""
import hashlib
import os
import sys

PATCHES = [
    ("the ACPI creator id", b"\x00BXPC    \x00", b"\x00INTL    \x00"),
    ("the fw_cfg device's _HID", b"FWCF\x00QEMU0002\x00", b"FWCF\x00PNP0C02\x00\x00"),
    ("the WAET table's signature", b"DMAR\x00WAET\x00", b"DMAR\x00MSDM\x00"),
    # mov edi, 0x1af4; mov r8d, 0x1100: the default subsystem's vendor and device.
    ("the default PCI subsystem", b"\xbf\xf4\x1a\x00\x00\x41\xb8\x00\x11\x00\x00", b"\xbf\x28\x10\x00\x00\x41\xb8\xa1\x07\x00\x00"),
]
LINKS = {
    "lib/x86_64-linux-gnu/qemu": "/usr/lib/x86_64-linux-gnu/qemu",
    "lib/ipxe": "/usr/lib/ipxe",
    "share/qemu": "/usr/share/qemu",
    "share/seabios": "/usr/share/seabios",
}


def fail(message):
    print("stealth-qemu: " + message, file=sys.stderr)
    sys.exit(1)


def main():
    if len(sys.argv) != 3:
        fail("usage: stealth-qemu.py SOURCE PREFIX")
    source, prefix = sys.argv[1], sys.argv[2]
    data = bytearray(open(source, "rb").read())
    digest = hashlib.sha256(data).hexdigest()
    target = os.path.join(prefix, "bin", os.path.basename(source))
    stamp = target + ".source-sha256"
    for link, real in LINKS.items():
        path = os.path.join(prefix, link)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if os.path.islink(path) and os.readlink(path) == real:
            continue
        if os.path.lexists(path):
            os.unlink(path)
        os.symlink(real, path)
    if os.path.exists(target) and os.path.exists(stamp) and open(stamp).read().strip() == digest:
        print(target)
        return
    for what, old, new in PATCHES:
        first = data.find(old)
        if first < 0 or data.find(old, first + 1) >= 0:
            fail(f"{what} is not where this QEMU build keeps it ({source}, sha256 {digest[:16]}): nothing was written; "
                 "stealthy hosts need the QEMU 7.2 of Debian 12 (qemu-system-x86)")
        data[first:first + len(old)] = new
    os.makedirs(os.path.dirname(target), exist_ok=True)
    temporary = target + ".tmp"
    with open(temporary, "wb") as handle:
        handle.write(data)
    os.chmod(temporary, 0o755)
    os.replace(temporary, target)
    with open(stamp, "w") as handle:
        handle.write(digest + "\n")
    print(target)


if __name__ == "__main__":
    main()
