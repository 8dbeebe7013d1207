// swift-tools-version:6.1
import PackageDescription

// In-process benchmarks of keysmith's libraries (ordo-one/package-benchmark), kept
// in their own package so the main build does not fetch or compile the harness.
//
//   cd Benchmarks && swift package benchmark       (or `make bench-inprocess`)
let package = Package(
    name: "keysmith-benchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "keysmith", path: ".."),
        .package(url: "https://github.com/ordo-one/package-benchmark", exact: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // A load generator for `keysmith serve` (scripts/bench.sh runs it).
        .executableTarget(
            name: "serve-load",
            dependencies: [
                .product(name: "SSHKeys", package: "keysmith"),
                .product(name: "SSHProtocol", package: "keysmith"),
            ],
            path: "ServeLoad"
        ),
        // Ed25519 challenge verifications per CPU-second (scripts/bench.sh runs it).
        .executableTarget(
            name: "challenge-rate",
            dependencies: [
                .product(name: "SSHKeys", package: "keysmith"),
                .product(name: "KeyVerify", package: "keysmith"),
            ],
            path: "ChallengeRate"
        ),
        // Ed25519 in libsodium (what SSHCrypto uses) against OpenSSL 3, in C.
        .executableTarget(
            name: "ed25519-libraries",
            path: "Ed25519Libraries",
            linkerSettings: [.linkedLibrary("sodium"), .linkedLibrary("crypto")]
        ),
        .executableTarget(
            name: "KeysmithBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "package-benchmark"),
                .product(name: "SSHCrypto", package: "keysmith"),
                .product(name: "SSHKeys", package: "keysmith"),
                .product(name: "KeyVerify", package: "keysmith"),
            ],
            path: "Benchmarks/KeysmithBenchmarks",
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "package-benchmark")
            ]
        ),
    ]
)
