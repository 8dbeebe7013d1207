import Foundation

/// Which tier of the test suite this process runs (docs/testing.md).
///
/// `make test` runs the default tier: every algorithm and every pair of algorithms against
/// the real OpenSSH tools, a representative share of the long sweeps. `make test-full` sets
/// `KEYSMITH_TEST_TIER=full`, and then the matrices run their full product and the long
/// sweeps every case. Any other value, or none, is the default tier.
public enum TestTier: Sendable {
    /// `make test`.
    case standard
    /// `make test-full` (`KEYSMITH_TEST_TIER=full`).
    case full

    /// The tier named by `KEYSMITH_TEST_TIER` in this process's environment.
    public static let current: TestTier =
        ProcessInfo.processInfo.environment["KEYSMITH_TEST_TIER"] == "full" ? .full : .standard

    /// Whether the full tier runs; for `.enabled(if: TestTier.isFull)` on the long sweeps.
    public static var isFull: Bool { Self.current == .full }

    /// `standard` in the default tier, `full` in the full one: a matrix's argument list.
    public static func pick<T>(standard: T, full: T) -> T {
        Self.isFull ? full : standard
    }
}
