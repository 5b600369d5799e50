// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "DecoyNet",
    // Linux only in practice (libvirt, namespaces); the macOS line is what the Swift types used need (Synchronization's Mutex).
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "decoynet", targets: ["decoynet"]),
        .executable(name: "decoynet-fuzz", targets: ["DecoyNetFuzz"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // MARK: - System libraries

        /// libxml2: serialisation of libvirt documents and RelaxNG schema checks.
        .systemLibrary(
            name: "CLibXML2",
            pkgConfig: "libxml-2.0",
            providers: [.apt(["libxml2-dev"])]
        ),
        /// libxcrypt: guests' password hashes (yescrypt, as Debian 12 writes them), made at native speed.
        .systemLibrary(
            name: "CCrypt",
            pkgConfig: "libxcrypt",
            providers: [.apt(["libcrypt-dev"])]
        ),
        /// libvirt's C API, imported only by the hypervisor layer.
        .systemLibrary(
            name: "CLibvirt",
            pkgConfig: "libvirt",
            providers: [.apt(["libvirt-dev"])]
        ),

        // MARK: - Foundations

        /// Source locations and diagnostics rendered as `file:line:col: error: message`.
        .target(name: "Diagnostics"),
        /// Names of what DecoyNet creates on a hypervisor and how it tells them apart: one place.
        .target(name: "Naming"),
        /// SHA-256, for deterministic identifiers, definition digests and evidence manifests.
        /// Optimised even in debug builds: it hashes memory dumps and overlays of gigabytes.
        .target(name: "Digest", swiftSettings: [.unsafeFlags(["-O"])]),

        // MARK: - The pipeline

        /// The topology language: YAML with marks -> model, and its validation rules.
        .target(
            name: "Topology",
            dependencies: ["Diagnostics", "Naming", .product(name: "Yams", package: "Yams")]
        ),
        /// Typed libvirt documents (network, domain, volume), libxml2 serialisation, schema checks.
        .target(name: "LibvirtXML", dependencies: ["CLibXML2", "Naming"]),
        /// Every side effect on a host behind one protocol, and its libvirt implementation.
        .target(name: "Hypervisor", dependencies: ["CLibvirt", "Naming"]),
        /// Lowering to a resolved environment, and rendering it as libvirt documents and graphs.
        .target(name: "Compiler", dependencies: ["Topology", "LibvirtXML", "Diagnostics", "Digest", "Naming"]),

        /// What happens on an environment's networks, seen from outside its hosts: packets decoded by
        /// tshark into timeline events, milestones of a run, STIX 2.1 export.
        .target(name: "Observe", dependencies: ["Topology", "Digest"]),

        /// Base images from recipes: mmdebstrap from the Debian archive, an ext4 disk, kernel and initrd.
        .target(name: "Images", dependencies: ["Topology", "Digest", "Naming"]),

        /// Desired state against libvirt's actual state: a plan of create, replace, update, delete, keep.
        .target(name: "Planner", dependencies: ["Compiler", "Hypervisor", "LibvirtXML", "Naming"]),

        /// The parallel walker: apply, destroy, health and status of environments.
        .target(name: "Engine", dependencies: ["CCrypt", "Planner", "Hypervisor", "Compiler", "LibvirtXML", "Topology", "Digest", "Naming", "Observe", "Images"]),

        /// `decoynet serve`: the REST API, pages, jobs in SQLite, live events and consoles.
        .target(
            name: "Server",
            dependencies: [
                "Engine", "Compiler", "Topology", "Hypervisor", "Planner", "Diagnostics", "Digest", "Naming", "Observe",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdAuth", package: "hummingbird-auth"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),

        // MARK: - Executable

        /// The command-line interface: argument handling and output only.
        .executableTarget(
            name: "decoynet",
            dependencies: [
                "Compiler", "Topology", "Engine", "Planner", "Hypervisor", "Images", "Diagnostics", "Server", "Naming", "Observe",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        /// libFuzzer over load, validate, lower and render (`make fuzz`; not part of `make test`).
        .executableTarget(name: "DecoyNetFuzz", dependencies: ["Compiler", "Topology"]),

        // MARK: - Tests

        .testTarget(name: "DiagnosticsTests", dependencies: ["Diagnostics"]),
        .testTarget(name: "DigestTests", dependencies: ["Digest"]),
        .testTarget(name: "TopologyTests", dependencies: ["Topology"]),
        .testTarget(name: "ImagesTests", dependencies: ["Images", "Topology"]),
        .testTarget(name: "LibvirtXMLTests", dependencies: ["LibvirtXML"]),
        /// Timeline decoding from captures recorded for the tests, milestones, the STIX bundle.
        .testTarget(name: "ObserveTests", dependencies: ["Observe"], exclude: ["Captures", "Python"]),
        .testTarget(
            name: "CompilerTests",
            dependencies: ["Compiler", "LibvirtXML", "Topology", "Digest"],
            exclude: ["Golden"]
        ),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "Planner", "Hypervisor", "Compiler", "LibvirtXML", "Topology", "TestSupport"]),
        /// Finds the checkout and the built binary for the tests that run it as a user would.
        .target(name: "TestSupport", dependencies: ["Hypervisor"], path: "Tests/TestSupport"),
        .testTarget(name: "DecoynetTests", dependencies: ["decoynet", "TestSupport"]),
        /// The server on loopback over libvirt's test driver: the API against its OpenAPI document, roles, restarts.
        .testTarget(name: "ServerTests", dependencies: ["decoynet", "Server", "Engine", "TestSupport"]),
        /// Real libvirtd and QEMU in the lab's network namespace (`make test` sets it up).
        .testTarget(name: "EndToEndTests", dependencies: ["decoynet", "Hypervisor", "TestSupport"]),
    ]
)
