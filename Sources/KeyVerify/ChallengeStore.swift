public import SSHCrypto
import SSHKeys

/// Where a deployment of challenge verifiers keeps its secret, its audience and the tokens
/// already used: one store shared by every verifier (every replica of a service) that
/// must accept each token at most once.
///
/// ``DirectoryChallengeStore`` is a state directory, as `keysmith challenge` uses on one
/// machine; `ChallengeStorePostgres` keeps the same in PostgreSQL tables for replicas on
/// several machines.
public protocol ChallengeStore: Sendable {
    /// The verifier of this deployment: its secret and audience, created on first use.
    ///
    /// - Parameter audience: The verifier's name or URL. Required when the store has none
    ///   yet, which it then keeps; nil uses the one kept; another than the one kept is
    ///   refused with ``KeyVerifyError/Code/wrongAudience``.
    func verifier(audience: String?) async throws(KeyVerifyError) -> ChallengeVerifier

    /// Records that `token` has been used: true when this call recorded it, false when it
    /// was recorded before. Of any number of concurrent calls with one token, by any
    /// verifiers sharing the store, exactly one returns true.
    ///
    /// - Throws: ``KeyVerifyError/Code/storeUnavailable`` (or `stateError`) when the store
    ///   cannot say; the token must then be refused.
    func recordUse(_ token: ChallengeToken) async throws(KeyVerifyError) -> Bool

    /// Removes the records of tokens that expired more than a grace period (a minute)
    /// before `now`, seconds since the epoch; such tokens are refused as expired anyway.
    func pruneUsedTokens(now: Int64) async throws(KeyVerifyError)

    /// Throws ``KeyVerifyError/Code/storeUnavailable`` unless the store answers now.
    func checkAvailable() async throws(KeyVerifyError)
}

/// A state directory (see ``ChallengeVerifier``) as a ``ChallengeStore``: the secret and
/// audience in files, each used token a name made with `link(2)`. Several processes on one
/// machine may share it.
public struct DirectoryChallengeStore: ChallengeStore {
    /// The state directory.
    public let directory: String

    /// A store in `directory`, created (mode 0700) on first use.
    public init(directory: String) {
        self.directory = directory
    }

    public func verifier(audience: String?) async throws(KeyVerifyError) -> ChallengeVerifier {
        try ChallengeVerifier(stateDirectory: self.directory, audience: audience)
    }

    public func recordUse(_ token: ChallengeToken) async throws(KeyVerifyError) -> Bool {
        try ChallengeVerifier.recordUse(token, inStateDirectory: self.directory)
    }

    public func pruneUsedTokens(now: Int64) async throws(KeyVerifyError) {
        ChallengeVerifier.pruneUsedTokens(inStateDirectory: self.directory, now: now)
    }

    public func checkAvailable() async throws(KeyVerifyError) {
        guard KeyFileIO.fileExists(self.directory + "/used") else {
            throw KeyVerifyError(.storeUnavailable, "the state directory \(self.directory)/used is missing")
        }
    }
}

extension ChallengeVerifier {
    /// A new random secret for a store to keep: ``secretSize`` bytes.
    public static func newSecret() -> SecureBytes {
        let secret = SecureBytes(count: Self.secretSize)
        SecureRandom.fill(secret)
        return secret
    }

    /// How long past its expiry a store keeps a used-token record, in seconds.
    public static var recordGrace: Int64 { Self.pruneGrace }
}
