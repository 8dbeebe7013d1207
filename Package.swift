// swift-tools-version:6.0
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("InternalImportsByDefault")
]

let package = Package(
    name: "keysmith",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "keysmith", targets: ["keysmith"]),
        .executable(name: "keysmith-sk-helper", targets: ["keysmith-sk-helper"]),
        .executable(name: "keysmith-challenged", targets: ["keysmith-challenged"]),
        .library(name: "SSHKeys", targets: ["SSHKeys"]),
        .library(name: "SSHCrypto", targets: ["SSHCrypto"]),
        .library(name: "KeyVerify", targets: ["KeyVerify"]),
        .library(name: "ChallengeService", targets: ["ChallengeService"]),
        .library(name: "SSHProtocol", targets: ["SSHProtocol"]),
        .library(name: "SSHConnect", targets: ["SSHConnect"]),
        .library(name: "SecurityKey", targets: ["SecurityKey"]),
        .library(name: "ChallengeStorePostgres", targets: ["ChallengeStorePostgres"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // Hummingbird's own dependencies, named for the channel handler that bounds a
        // request's reading time (ChallengeService/RequestDeadlineHandler.swift).
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.34.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"])]
        ),
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .target(
            name: "SSHCrypto",
            dependencies: ["CSodium", "COpenSSL"],
            swiftSettings: strict
        ),
        .systemLibrary(
            // fido.h's types and constants only (Debian's libfido2-dev): libfido2 itself is
            // loaded at run time (SecurityKey/FIDO2Library.swift), so no pkg-config and no
            // link flags, and a static keysmith still links.
            name: "CFIDO2"
        ),
        .target(
            name: "SecurityKey",
            dependencies: ["SSHCrypto", "CFIDO2"],
            swiftSettings: strict
        ),
        .target(
            name: "SSHKeys",
            dependencies: ["SSHCrypto"],
            swiftSettings: strict
        ),
        .target(
            name: "SSHProtocol",
            dependencies: ["SSHKeys", "SSHCrypto", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        .target(
            name: "SSHConnect",
            dependencies: ["SSHProtocol", "SSHKeys", "SecurityKey", "SSHCrypto"],
            swiftSettings: strict
        ),
        .target(
            name: "KeyDeploy",
            dependencies: ["SSHProtocol", "SSHKeys", "SSHCrypto"],
            swiftSettings: strict
        ),
        .target(
            name: "KeyVerify",
            dependencies: ["SSHProtocol", "SSHKeys", "SSHCrypto", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        .target(
            // KeyVerify's ChallengeStore in PostgreSQL, for verifiers on several machines. A
            // library of its own so that the keysmith executable links no SwiftNIO.
            name: "ChallengeStorePostgres",
            dependencies: [
                "KeyVerify",
                "SSHCrypto",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            // What both executables print with: terminal-safe text, --json, stderr sentences.
            name: "CommandLineText",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "keysmith",
            dependencies: [
                "CommandLineText",
                "KeyVerify",
                "SecurityKey",
                "KeyDeploy",
                "SSHConnect",
                "SSHProtocol",
                "SSHKeys",
                "SSHCrypto",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            // The challenge verification service over HTTP: it links SwiftNIO (through
            // Hummingbird), so it lives apart from keysmith, whose start-up must stay fast.
            name: "ChallengeService",
            dependencies: [
                "CommandLineText",
                "KeyVerify",
                "ChallengeStorePostgres",
                "SSHKeys",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            // The service and its store-backed issue/verify; keysmith runs it rather than
            // linking NIO itself.
            name: "keysmith-challenged",
            dependencies: [
                "CommandLineText",
                "ChallengeService",
                "KeyVerify",
                "SSHConnect",
                "SSHKeys",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            // Runs security key operations for a static keysmith, which cannot load the
            // libraries (SecurityKey/HelperProvider.swift); built dynamically linked.
            name: "keysmith-sk-helper",
            dependencies: ["SecurityKey", "SSHCrypto"],
            swiftSettings: strict
        ),
        .target(
            name: "KeysmithTestSupport",
            dependencies: ["SSHKeys", "SSHCrypto"],
            path: "Tests/KeysmithTestSupport",
            swiftSettings: strict
        ),
        .testTarget(
            name: "SSHCryptoTests",
            dependencies: ["SSHCrypto", "KeysmithTestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "SecurityKeyTests",
            dependencies: ["SecurityKey", "SSHCrypto", "KeysmithTestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "SSHKeysTests",
            dependencies: ["SSHKeys", "SSHCrypto", "KeysmithTestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "SSHProtocolTests",
            dependencies: [
                "SSHProtocol", "SSHKeys", "SSHCrypto", "KeysmithTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "KeyDeployTests",
            dependencies: [
                "KeyDeploy", "SSHConnect", "SSHProtocol", "SSHKeys", "SSHCrypto", "KeysmithTestSupport",
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "SSHConnectTests",
            dependencies: ["SSHConnect", "SSHProtocol", "SSHKeys", "SSHCrypto", "KeysmithTestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "KeyVerifyTests",
            dependencies: [
                "KeyVerify", "SSHProtocol", "SSHKeys", "SSHCrypto", "KeysmithTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "ChallengeStorePostgresTests",
            dependencies: [
                "ChallengeStorePostgres", "KeyVerify", "SSHKeys", "SSHCrypto", "KeysmithTestSupport",
                .product(name: "Logging", package: "swift-log"),
                // The test holds a lock in a connection of its own.
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "KeysmithFuzzing",
            dependencies: ["KeyVerify", "SSHProtocol", "SSHKeys", "SSHCrypto"],
            path: "Fuzz/Sources/KeysmithFuzzing",
            swiftSettings: strict
        ),
        .testTarget(
            name: "FuzzTests",
            dependencies: ["KeysmithFuzzing", "KeysmithTestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "ChallengeServiceTests",
            dependencies: ["KeysmithTestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "KeysmithTests",
            dependencies: ["SSHProtocol", "SSHKeys", "SSHCrypto", "KeysmithTestSupport"],
            swiftSettings: strict
        ),
    ]
)

// libFuzzer executables, one per FuzzTarget case, declared only when KEYSMITH_FUZZ is set
// (`make fuzz`): without `-sanitize=fuzzer` they have no `main` and could not link, and the
// everyday build stays as it was. docs/fuzzing.md explains why.
let fuzzMode = Context.environment["KEYSMITH_FUZZ"]
if let fuzzMode {
    let fuzzTargets = [
        "FuzzPrivateKey", "FuzzPublicKey", "FuzzKeyLines", "FuzzSSHSIG", "FuzzChallenge", "FuzzTransport",
        "FuzzPacket", "FuzzKexInit", "FuzzUserAuth", "FuzzConnection", "FuzzSFTP", "FuzzServerTransport",
        "FuzzServerUserAuth",
        "FuzzServerSession", "FuzzEd25519", "FuzzKRL",
    ]
    for name in fuzzTargets {
        package.targets.append(
            .executableTarget(
                name: name,
                dependencies: ["KeysmithFuzzing"],
                path: "Fuzz/Sources/\(name)",
                swiftSettings: strict
            )
        )
        package.products.append(.executable(name: name, targets: [name]))
    }
    if fuzzMode == "targets" {
        // `make fuzz-build`: one `swift build` (no --product) builds every fuzz target at
        // once, so the package holds only them and the libraries they link: the executable,
        // KeyDeploy and the test support are no fuzz targets, and would be built for nothing.
        let libraries: Set = [
            "CSodium", "COpenSSL", "SSHCrypto", "SSHKeys", "SSHProtocol", "KeyVerify", "KeysmithFuzzing",
        ]
        let kept = libraries.union(fuzzTargets)
        package.targets.removeAll { !kept.contains($0.name) }
        package.products.removeAll { !kept.contains($0.name) }
    } else {
        // The long differential run of the Ed25519 prepared-key path (docs/security.md): an
        // ordinary release executable, built without sanitizers by `make ed25519-differential`.
        package.targets.append(
            .executableTarget(
                name: "Ed25519LongRun",
                dependencies: ["SSHCrypto"],
                path: "Fuzz/Sources/Ed25519LongRun",
                swiftSettings: strict
            )
        )
        package.products.append(.executable(name: "Ed25519LongRun", targets: ["Ed25519LongRun"]))
    }
}
