import Testing
@testable import Topology

/// `stealth`: what a stealthy host needs (a vendor's profile, a kernel for real hardware, no virtio
/// card) and what it cannot do (run a check), each located where the file says it.
@Suite struct StealthRuleTests {
    static let base = """
    name: acme
    images:
      plain: { kernel: /boot/vmlinuz, initrd: /boot/initrd.img }
      both: { kernel: /boot/vmlinuz, initrd: /boot/initrd.img, stealth: { kernel: /boot/vmlinuz-generic, initrd: /boot/initrd-generic.img } }
      disk: { disk: /images/pc.qcow2 }
    networks:
      lan: { cidr: 10.10.0.0/24 }
    """

    @Test func aStealthyHostOfAVendorWithAKernelForHardwareIsValid() {
        expectDiagnostics(Self.base + """

        hardware: { vendor: dell }
        hosts:
          pc: { image: both, stealth: true, interfaces: [{ network: lan }, { network: lan, model: e1000e }] }
          nas: { image: disk, stealth: true, interfaces: [{ network: lan }] }
          ws: { image: both, interfaces: [{ network: lan }] }
        checks:
          - { from: ws, to: pc, port: 445, expect: open }
        """, [:])
    }

    @Test func aStealthyHostNeedsAVendorAKernelForHardwareAndNoVirtioCard() {
        expectDiagnostics(Self.base + """

        hosts:
          pc: { image: plain, stealth: 1️⃣true, hardware: { vendor: hp }, interfaces: [{ network: lan, model: 2️⃣virtio }] }
          srv: { image: both, stealth: 3️⃣true, interfaces: [{ network: lan }] }
        """, [
            "1": ("stealth-needs-kernel", "host 'pc' is stealthy, and its image boots a kernel with no 'stealth: { kernel, initrd }': a stealthy host needs one with drivers for a real machine's SATA disk and Intel card (the project's workstation and linux-server templates have Debian's generic kernel)"),
            "2": ("stealthy-virtio-interface", "host 'pc' is stealthy, and a virtio network card says virtual machine; leave 'model' out (an Intel e1000e) or write e1000e"),
            "3": ("stealth-needs-hardware", "host 'srv' is stealthy but has QEMU's own hardware profile, whose firmware says QEMU; give it a vendor's: hardware: { vendor: dell }"),
        ])
    }

    @Test func anEnvironmentsStealthIsToldAtTheHostThatInheritsIt() {
        expectDiagnostics(Self.base + """

        stealth: true
        hosts:
          1️⃣pc: { image: both, interfaces: [{ network: lan }] }
          dell: { image: both, hardware: { vendor: dell }, interfaces: [{ network: lan }] }
        """, [
            "1": ("stealth-needs-hardware", "host 'pc' is stealthy but has QEMU's own hardware profile, whose firmware says QEMU; give it a vendor's: hardware: { vendor: dell }"),
        ])
    }

    @Test func aCheckFromAStealthyHostIsAnErrorAtItsFrom() {
        expectDiagnostics(Self.base + """

        hardware: { vendor: dell }
        hosts:
          pc: { image: both, stealth: true, count: 2, interfaces: [{ network: lan }] }
          ws: { image: both, interfaces: [{ network: lan }] }
        checks:
          - { from: 1️⃣pc-02, to: ws, port: 22, expect: open }
          - { from: ws, to: pc-01, port: 22, expect: closed }
        """, [
            "1": ("check-from-stealthy-host", "check runs from 'pc-02', which is stealthy: it has no guest agent to run a check in; check it from another host, or drop 'stealth'"),
        ])
    }

    @Test func theImagesStealthKernelNeedsAKernel() {
        expectDiagnostics("""
        name: acme
        networks: { lan: { cidr: 10.10.0.0/24 } }
        hosts:
          a: { image: { disk: /images/a.qcow2, 1️⃣stealth: { kernel: /boot/k, initrd: /boot/i } }, interfaces: [{ network: lan }] }
          b: { image: { kernel: /boot/k, initrd: /boot/i, stealth: 2️⃣{ kernel: /boot/k2 } }, interfaces: [{ network: lan }] }
        """, [
            "1": ("needs-kernel", "'stealth' only applies with 'kernel'"),
            "2": ("missing-key", "the image's 'stealth' needs 'initrd'"),
        ])
    }
}
