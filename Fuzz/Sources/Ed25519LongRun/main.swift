import SSHCrypto

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The long differential run of the Ed25519 prepared-key path against libsodium
// (docs/security.md): `Ed25519LongRun [cases] [seed]`, 10,000,000 cases by default.
// Prints progress every million cases and a summary; exits 1 on any disagreement.
let arguments = CommandLine.arguments
let count = arguments.count > 1 ? Int(arguments[1]) ?? 10_000_000 : 10_000_000
let seed = arguments.count > 2 ? UInt64(arguments[2]) ?? 1 : 1

func seconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

/// One line on standard output, unbuffered, so progress shows while the run goes on.
func say(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
}

let start = seconds()
let summary = Ed25519Differential.run(count: count, seed: seed) { progress in
    say(
        "\(progress.cases) cases, \(progress.accepted) accepted by libsodium, "
            + "\(progress.disagreements.count) disagreements, \(Int(seconds() - start)) s"
    )
}
for disagreement in summary.disagreements.prefix(10) { say("DISAGREEMENT: \(disagreement)") }
say(
    "done: \(summary.cases) cases (seed \(seed)), \(summary.accepted) accepted by libsodium, "
        + "\(summary.disagreements.count) disagreements, \(Int(seconds() - start)) s"
)
exit(summary.disagreements.isEmpty ? 0 : 1)
