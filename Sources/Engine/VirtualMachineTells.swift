import Foundation

/// The checks that programs make to tell a virtual machine from hardware (pafish, al-khaser and the
/// families they imitate; `systemd-detect-virt`, `virt-what`), as one script run inside a host, and
/// its verdicts. A stealthy host must answer every one like hardware (OBSERVE.md, "Stealth").
public enum VirtualMachineTells {
    /// One check's verdict: `evidence` is what gave the machine away, nil when nothing did.
    public struct Verdict: Sendable, Equatable {
        public var check: String
        public var evidence: String?
    }

    /// Each check, in order, with the shell that prints what gives the machine away (nothing when
    /// nothing does). Run by bash as root.
    /// A check whose tool the host has not fails: a missing tool is no proof of hardware.
    public static let checks: [(name: String, shell: String)] = [
        // Without root, dmesg, the SMBIOS table and dmidecode show nothing, and so would pass.
        ("runs-as-root", "[ \"$(id -u)\" = 0 ] || echo \"the checks ran as uid $(id -u), not root\""),
        ("systemd-detect-virt", "\(need("systemd-detect-virt")) v=$(systemd-detect-virt 2>/dev/null); [ \"$v\" = none ] || echo \"$v\""),
        ("virt-what", "\(need("virt-what")) virt-what 2>&1"),
        ("cpu-hypervisor-flag", "grep -m1 -ow hypervisor /proc/cpuinfo"),
        ("cpu-model", "grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | grep -iE 'qemu|kvm|virtual|tcg|bochs|common'"),
        // Red Hat's virtio and QEMU devices, VMware, VirtualBox, Xen, Parallels, Hyper-V.
        ("pci-vendors", "\(need("lspci")) lspci -n 2>&1 | grep -E ' (1af4|1b36|15ad|80ee|5853|1ab8|1414):'"),
        // QEMU gives its chipset's devices Red Hat's subsystem (1af4:1100, "QEMU Virtual Machine").
        ("pci-subsystems", "for d in /sys/bus/pci/devices/*; do [ \"$(cat $d/subsystem_vendor 2>/dev/null)\" = 0x1af4 ] && "
            + "echo \"${d##*/} subsystem 1af4:$(cut -c3- $d/subsystem_device)\"; done"),
        // The kernel's list of ACPI tables is the acpi-tables check's.
        ("dmesg", "dmesg 2>&1 | grep -v 'ACPI: [A-Z0-9]\\{4\\} 0x' | grep -iE 'hypervisor detected|qemu|kvm|bochs|bxpc|virtualbox|vmware|xen|virtio|tcg|seabios|due to virtualization' | head -n 4"),
        ("dmi", "for f in /sys/class/dmi/id/*; do [ -f \"$f\" ] && [ -r \"$f\" ] || continue; case ${f##*/} in uevent|modalias) continue ;; esac; "
            + "c=$(cat \"$f\" 2>/dev/null); echo \"$c\" | grep -qiE 'qemu|kvm|bochs|virtual|vmware|vbox|innotek|xen|seabios|pc-q35|pc-i440fx|standard pc' && echo \"${f##*/}=$c\"; done"),
        ("smbios-vm-bit", "f=/sys/firmware/dmi/entries/0-0/raw; [ -r $f ] && b=$(od -An -tu1 -j19 -N1 $f) && [ $(( ${b:-0} & 16 )) -ne 0 ] && echo 'BIOS characteristics: system is a virtual machine'"),
        ("dmidecode", "\(need("dmidecode")) dmidecode 2>/dev/null | grep -iE 'qemu|bochs|kvm|virtual machine|seabios|pc-q35|innotek|vmware' | sort -u | head -n 4"),
        ("acpi-tables", "for f in /sys/firmware/acpi/tables/*; do [ -f \"$f\" ] || continue; s=$(grep -a -o -E 'BOCHS|BXPC|QEMU[0-9A-Z]*|VBOX|VMWARE|KVMKVM' \"$f\" | sort -u | tr '\\n' ' '); "
            + "[ -n \"$s\" ] && echo \"${f##*/}: $s\"; done; [ -e /sys/firmware/acpi/tables/WAET ] && echo 'WAET: the emulated devices table'; "
            + "dmesg 2>/dev/null | grep -m1 -E 'ACPI: RSDT .*(BOCHS|BXPC)'; ls -d /sys/bus/acpi/devices/QEMU* 2>/dev/null"),
        ("kernel-modules", "grep -oE '^(virtio[a-z_]*|qemu_fw_cfg|vmw[a-z_]*|vboxguest|vboxsf|xen[a-z_]*|hv_[a-z_]*)' /proc/modules"),
        ("virtio-devices", "ls /sys/bus/virtio/devices 2>/dev/null"),
        ("guest-agent", "pgrep -a -x qemu-ga; ls /dev/virtio-ports 2>/dev/null"),
        ("disk-model", "cat /sys/block/*/device/model 2>/dev/null | grep -iE 'qemu|virtual|vbox|vmware'"),
        ("fw-cfg", "ls -d /sys/firmware/qemu_fw_cfg 2>/dev/null"),
        ("mac-oui", "cat /sys/class/net/*/address 2>/dev/null | grep -iE '^(52:54:00|08:00:27|00:0c:29|00:50:56|00:16:3e|00:15:5d)'"),
    ]

    /// A shell line that prints why and stops the check when `tool` is not on the host.
    static func need(_ tool: String) -> String { "command -v \(tool) >/dev/null || { echo '\(tool) is missing: cannot check'; exit 0; };" }

    /// The script: for each check, `RESULT NAME` and what it found on the lines up to `END NAME`.
    public static var script: String {
        checks.map { "echo 'RESULT \($0.name)'; { \($0.shell); } 2>/dev/null | head -c 600; echo; echo 'END \($0.name)'" }.joined(separator: "\n") + "\n"
    }

    /// The verdicts in the script's output, in the checks' order; a check whose lines are missing is
    /// a failure of the self-test itself, told as such.
    public static func verdicts(_ output: String) -> [Verdict] {
        var found: [String: String] = [:]
        var current: String?
        var lines: [String] = []
        // Split on line feeds alone: "\r\n" is one Character, which a split on "\n" would not see.
        for raw in output.replacingOccurrences(of: "\r", with: "").split(separator: "\n", omittingEmptySubsequences: false) {
            // A serial console's flow control (^S ^Q) and other control characters are not output.
            let line = String(raw.filter { $0 == "\t" || !($0.asciiValue.map { $0 < 0x20 || $0 == 0x7F } ?? false) })
                .trimmingCharacters(in: .whitespacesAndNewlines)
            if line.hasPrefix("RESULT ") {
                current = String(line.dropFirst(7))
                lines = []
            } else if let name = current, line == "END " + name {
                found[name] = lines.filter { !$0.isEmpty }.joined(separator: "; ")
                current = nil
            } else if current != nil {
                lines.append(line)
            }
        }
        return checks.map { check in
            guard let evidence = found[check.name] else { return Verdict(check: check.name, evidence: "the check printed no verdict") }
            return Verdict(check: check.name, evidence: evidence.isEmpty ? nil : evidence)
        }
    }
}
