/// Every name DecoyNet gives to what it creates on a hypervisor, and the conventions that tell its
/// objects from others: one place, so that the compiler that names an object and the engine that
/// finds it again cannot disagree.
public enum Naming {
    /// A network's or a domain's libvirt name: `ENV-NAME`.
    public static func object(environment: String, name: String) -> String { "\(environment)-\(name)" }

    /// The host's nftables table (bridge family) that holds an environment's guests to their own
    /// addresses: `decoynet_env_` and the name with `-` as `_` (environment names have no `_`).
    public static func spoofingTable(environment: String) -> String {
        "decoynet_env_" + String(environment.map { $0 == "-" ? "_" : $0 })
    }

    /// The host's nftables table (inet family) that keeps an environment's networks from the others'
    /// and its isolated networks to themselves, on the forward hook: `decoynet_net_` and the name
    /// with `-` as `_`.
    public static func forwardTable(environment: String) -> String {
        "decoynet_net_" + String(environment.map { $0 == "-" ? "_" : $0 })
    }

    /// Where each environment's firewall tables are kept as the `nft -f` file apply loaded
    /// (`ENV.nft`): what reset and every later start check and load again when they are missing.
    public static let isolationRoot = "/var/lib/decoynet/isolation"

    /// The storage pool holding an environment's overlays and seeds.
    public static func pool(environment: String) -> String { "decoynet-\(environment)" }

    /// A domain's overlay volume in the environment's pool.
    public static func overlay(domain: String) -> String { domain + overlaySuffix }

    /// A domain's NoCloud seed volume (ISO 9660, label `cidata`) in the environment's pool.
    public static func seed(domain: String) -> String { domain + seedSuffix }

    /// A stealthy domain's SMBIOS structure of `type` (a file QEMU reads) in the environment's pool.
    public static func firmware(domain: String, smbiosType: Int) -> String { domain + ".smbios\(smbiosType)" + firmwareSuffix }

    /// The domain a volume of the pool belongs to, from its name.
    public static func domain(ofVolume volume: String) -> String {
        for suffix in [seedSuffix, overlaySuffix] where volume.hasSuffix(suffix) { return String(volume.dropLast(suffix.count)) }
        if volume.hasSuffix(firmwareSuffix), let dot = volume.dropLast(firmwareSuffix.count).lastIndex(of: "."),
           volume[dot...].hasPrefix(".smbios") {
            return String(volume[..<dot])
        }
        return volume
    }

    /// Where pools keep their volumes on a hypervisor unless `DECOYNET_POOL_ROOT` says otherwise.
    public static let defaultPoolRoot = "/var/lib/decoynet/pools"

    static let overlaySuffix = ".qcow2"
    static let seedSuffix = ".seed.iso"
    static let firmwareSuffix = ".bin"

    /// The XML namespace of the metadata DecoyNet keeps in each domain it defines: how it knows its own.
    public static let metadataNamespace = "https://decoynet.dev/xmlns/domain/1"
    public static let metadataPrefix = "decoynet"

    /// Seconds a host may take to become healthy when its topology does not say.
    public static let defaultHealthTimeoutSeconds = 120

    /// Where built base images are kept (`decoynet image build`), unless `DECOYNET_IMAGES` says otherwise.
    public static let imageStore = "/var/lib/decoynet/images"
    /// The QEMU that stealthy hosts run: the hypervisor's own, with its names for itself renamed
    /// (`scripts/stealth-qemu.py`, which `make lab` runs).
    public static let stealthEmulator = "/var/lib/decoynet/qemu/bin/qemu-system-x86_64"

    /// Where hosts' clean states (memory and disk, kept when they first turn healthy) live, a
    /// folder per environment and host: `reset` restores them instead of booting.
    public static let cleanStateRoot = "/var/lib/decoynet/clean"

    /// libvirt's own default when neither `--connect` nor `LIBVIRT_DEFAULT_URI` names one.
    public static let defaultURI = "qemu:///system"

    /// A connection to QEMU on this machine: the only one whose guests, disks, logs and routes this
    /// process can also see (resource checks, packet captures, consoles from log files, image files).
    public static func isLocalQEMU(_ uri: String) -> Bool { uri.hasPrefix("qemu:///") }
}
