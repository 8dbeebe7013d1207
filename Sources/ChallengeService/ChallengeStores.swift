import ChallengeStorePostgres
public import KeyVerify
public import Logging

/// Opens the ``ChallengeStore`` a `--state` argument names, for the service and for
/// `keysmith-challenged issue` and `verify`, so that every command reaches the same store.
public enum ChallengeStores {
    /// Stops what a store holds open (a connection pool); call it once, when done.
    public typealias Shutdown = @Sendable () async -> Void

    /// The store `state` names, ready for use.
    ///
    /// - `postgres://…` or `postgresql://…`: a PostgreSQL database (ChallengeStorePostgres).
    /// - any other text without `://`: a state directory (``DirectoryChallengeStore``),
    ///   created with mode 0700 on first use.
    ///
    /// The store's verifier is opened once here, so that a state that cannot serve
    /// `audience` (none given for a new store, another one kept) is refused before any
    /// request is taken.
    ///
    /// - Parameters:
    ///   - state: The state directory or database URL.
    ///   - audience: The verifier's name or URL; required when the store keeps none yet.
    ///   - logger: Where the store logs (a database store's connection events).
    ///   - timeout: How long a database store waits for each answer before it reports
    ///     itself unavailable.
    /// - Returns: The store and the function that shuts it down.
    /// - Throws: ``KeyVerifyError/Code/invalidParameter`` for a state that names no store;
    ///   the store's own errors (``KeyVerifyError/Code/stateError``,
    ///   ``KeyVerifyError/Code/storeUnavailable``, ``KeyVerifyError/Code/wrongAudience``).
    public static func open(
        state: String,
        audience: String?,
        logger: Logger,
        timeout: Duration = .seconds(10)
    ) async throws(KeyVerifyError) -> (store: any ChallengeStore, shutdown: Shutdown) {
        if state.hasPrefix("postgres://") || state.hasPrefix("postgresql://") {
            let store = try PostgresChallengeStore(url: state, logger: logger, timeout: timeout)
            do throws(KeyVerifyError) {
                try await store.prepare()
                _ = try await store.verifier(audience: audience)
            } catch {
                await store.shutdown()
                throw error
            }
            return (store, { await store.shutdown() })
        }
        if let scheme = state.range(of: "://") {
            throw KeyVerifyError(
                .invalidParameter,
                "the state \(state[..<scheme.lowerBound])://… is no store keysmith knows; give a state directory or a postgres:// URL"
            )
        }
        let store = DirectoryChallengeStore(directory: state)
        _ = try await store.verifier(audience: audience)
        return (store, {})
    }
}
