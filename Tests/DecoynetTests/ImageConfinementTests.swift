import Foundation
import TestSupport
import Testing

/// Base images, kernels and initrds come only from the image store and the folders the operator
/// allows: not any file of the host, not a device, not through a symbolic link or a qcow2's
/// backing chain that leads out.
@Suite struct ImageConfinementTests {
    func topology(disk: String) -> String {
        """
        name: shadow
        images:
          x: { disk: \(disk), format: raw }
        networks:
          lan: { cidr: 10.10.0.0/24 }
        hosts:
          a: { image: x, interfaces: [{ network: lan }] }

        """
    }

    func validate(_ source: String, in folder: String, _ extra: [String] = []) throws -> (status: Int32, errors: [String]) {
        try Data(source.utf8).write(to: URL(fileURLWithPath: folder + "/t.yaml"))
        let output = try DecoyNetBinary.run(["validate", "t.yaml"] + extra, in: folder)
        return (output.status, output.stderr.split(separator: "\n").map(String.init).filter { $0.contains("error:") })
    }

    @Test func aHostFileIsRefusedAtItsLineUnlessItsFolderIsAllowed() throws {
        let folder = scratchFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let refused = try validate(topology(disk: "/etc/shadow"), in: folder)
        #expect(refused.status == 1)
        #expect(refused.errors.count == 1)
        #expect(refused.errors.first?.hasPrefix("t.yaml:3:14: error: image file '/etc/shadow' is outside the image folders") ?? false, "\(refused.errors)")
        // plan refuses it too, before anything is created.
        try Data(topology(disk: "/etc/shadow").utf8).write(to: URL(fileURLWithPath: folder + "/t.yaml"))
        let plan = try DecoyNetBinary.run(["plan", "t.yaml", "--connect", "test:///default"], in: folder)
        #expect(plan.status == 1)
        #expect(plan.stderr.contains("image-outside-store") || plan.stderr.contains("outside the image folders"))
        let allowed = try validate(topology(disk: "/etc/shadow"), in: folder, ["--allow-images", "/etc"])
        #expect(allowed.status == 0, "\(allowed.errors)")
    }

    @Test func aDeviceASymlinkOutAndABackingChainOutAreRefused() throws {
        let folder = scratchFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let store = folder + "/store"
        try FileManager.default.createDirectory(atPath: store, withIntermediateDirectories: true)

        let device = try validate(topology(disk: "/dev/null"), in: folder, ["--allow-images", "/dev"])
        #expect(device.errors.count == 1 && device.errors[0].contains("is not a regular file"), "\(device.errors)")

        try FileManager.default.createSymbolicLink(atPath: store + "/disk.img", withDestinationPath: "/etc/shadow")
        let link = try validate(topology(disk: store + "/disk.img"), in: folder, ["--allow-images", store])
        #expect(link.errors.count == 1 && link.errors[0].contains("outside the image folders"), "\(link.errors)")

        // A qcow2 header naming a backing file outside: magic, version 3, backing name at 512.
        var header = [UInt8](repeating: 0, count: 512) + Array("/etc/shadow".utf8)
        header.replaceSubrange(0 ..< 4, with: [0x51, 0x46, 0x49, 0xFB])
        header[7] = 3
        header[14] = 0x02 // offset 512
        header[19] = UInt8("/etc/shadow".utf8.count)
        FileManager.default.createFile(atPath: store + "/chain.qcow2", contents: Data(header))
        let chain = try validate(topology(disk: store + "/chain.qcow2").replacingOccurrences(of: "format: raw", with: "format: qcow2"), in: folder,
                                 ["--allow-images", store])
        #expect(chain.errors.count == 1 && chain.errors[0].contains("backing file '/etc/shadow' is outside"), "\(chain.errors)")
        // A backing file inside the allowed folder is fine.
        let inside = Array(header.prefix(512)) + Array("base.qcow2".utf8)
        var relative = inside
        relative[19] = UInt8("base.qcow2".utf8.count)
        FileManager.default.createFile(atPath: store + "/chain.qcow2", contents: Data(relative))
        FileManager.default.createFile(atPath: store + "/base.qcow2", contents: Data([0x51, 0x46, 0x49, 0xFB, 0, 0, 0, 3] + [UInt8](repeating: 0, count: 24)))
        let fine = try validate(topology(disk: store + "/chain.qcow2").replacingOccurrences(of: "format: raw", with: "format: qcow2"), in: folder,
                                ["--allow-images", store])
        #expect(fine.errors.isEmpty, "\(fine.errors)")
    }

    @Test func aBackingThatNamesAProtocolAndAnExternalDataFileAreRefused() throws {
        let folder = scratchFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let store = folder + "/store"
        try FileManager.default.createDirectory(atPath: store, withIntermediateDirectories: true)
        func qcow2(backing: String?, incompatible: UInt8 = 0) -> Data {
            var header = [UInt8](repeating: 0, count: 512) + Array((backing ?? "").utf8)
            header.replaceSubrange(0 ..< 4, with: [0x51, 0x46, 0x49, 0xFB])
            header[7] = 3
            if let backing {
                header[14] = 0x02 // offset 512
                header[19] = UInt8(backing.utf8.count)
            }
            header[79] = incompatible
            return Data(header)
        }
        let source = topology(disk: store + "/disk.qcow2").replacingOccurrences(of: "format: raw", with: "format: qcow2")
        // QEMU reads these as protocols, not as files beside the image: each could read the host's files or network.
        for backing in [#"json:{"file.driver":"file","file.filename":"/etc/shadow"}"#, "nbd://127.0.0.1:10809/disk", "file:/etc/shadow"] {
            FileManager.default.createFile(atPath: store + "/disk.qcow2", contents: qcow2(backing: backing))
            let refused = try validate(source, in: folder, ["--allow-images", store])
            #expect(refused.errors.count == 1 && refused.errors[0].contains("names a protocol, not a file"), "\(backing): \(refused.errors)")
        }
        // A name with a colon after a slash is a path.
        FileManager.default.createFile(atPath: store + "/a:b.qcow2", contents: qcow2(backing: nil))
        FileManager.default.createFile(atPath: store + "/disk.qcow2", contents: qcow2(backing: "./a:b.qcow2"))
        #expect(try validate(source, in: folder, ["--allow-images", store]).errors.isEmpty)
        // Incompatible feature bit 2: the guest's data is in a file the header names.
        FileManager.default.createFile(atPath: store + "/disk.qcow2", contents: qcow2(backing: nil, incompatible: 0b100))
        let external = try validate(source, in: folder, ["--allow-images", store])
        #expect(external.errors.count == 1 && external.errors[0].contains("keeps its data in another file"), "\(external.errors)")
    }
}
