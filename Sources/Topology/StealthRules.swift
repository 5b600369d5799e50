/// What a stealthy host needs (OBSERVE.md, "Stealth"), told where the file says it.
extension TopologyValidator {
    /// A stealthy host imitates a vendor's machine: it needs that vendor's profile, and no virtio card.
    func checkStealth(_ fields: HostFields, host: HostSpec, stealth: Located<Bool>) {
        if fields.hardware == nil || fields.hardware?.value == .qemu {
            // The `stealth` the host inherits may be the environment's: point at the host when it says nothing.
            reader.report(TopologyMessages.stealthNeedsHardware(host.name.value), at: host.fields.stealth?.location ?? host.name.location)
        }
        let image: ImageSpec? = switch fields.image?.value {
        case let .named(name)?: topology.images.first { $0.name.value == name }?.spec
        case let .inline(spec)?: spec
        case nil: nil
        }
        if let image, image.kernel != nil, image.stealthKernel == nil {
            reader.report(TopologyMessages.stealthNeedsKernel(host.name.value), at: host.fields.stealth?.location ?? host.name.location)
        }
        for interface in fields.interfaces?.value ?? [] {
            if let model = interface.model, model.value == .virtio {
                reader.report(TopologyMessages.stealthyVirtioInterface(host.name.value), at: model.location)
            }
        }
    }
}
