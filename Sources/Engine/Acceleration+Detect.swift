import Compiler
import Foundation
import Naming

extension Acceleration {
    /// KVM where it can boot stock guests, TCG otherwise.
    ///
    /// `/dev/kvm` alone is not enough: a host whose KVM module is `kvm_pvm` (a paravirtualised KVM
    /// inside a VM) opens it but cannot boot stock kernels. Hardware KVM is `kvm_intel` or `kvm_amd`.
    /// Remote and test URIs get TCG, which every libvirt driver accepts.
    public static func detect(uri: String, sysfs: String = "/sys/module", device: String = "/dev/kvm") -> Acceleration {
        guard Naming.isLocalQEMU(uri) else { return .qemu }
        let fileManager = FileManager.default
        let hardware = fileManager.fileExists(atPath: sysfs + "/kvm_intel") || fileManager.fileExists(atPath: sysfs + "/kvm_amd")
        let paravirtual = fileManager.fileExists(atPath: sysfs + "/kvm_pvm")
        guard hardware, !paravirtual, fileManager.isReadableFile(atPath: device), fileManager.isWritableFile(atPath: device) else {
            return .qemu
        }
        return .kvm
    }
}
