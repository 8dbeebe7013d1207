public import KeyVerify
public import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import SSHCrypto
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A ``KeyVerify/ChallengeStore`` in a PostgreSQL database, for verifiers on several
/// machines (replicas of one service) that must accept each challenge token at most once.
///
/// The store keeps two tables, created by ``prepare()`` (which ``verifier(audience:)`` calls
/// once per store):
///
///     keysmith_challenge_secret (id int PRIMARY KEY CHECK (id = 1),
///                                secret bytea NOT NULL, audience text NOT NULL)
///     keysmith_challenge_used   (nonce bytea PRIMARY KEY, expires_at bigint NOT NULL)
///     keysmith_challenge_used_expires_at ON keysmith_challenge_used (expires_at)
///
/// One database serves one audience: the secret row names it, and the used tokens are keyed
/// by their random nonce alone. Give another audience its own database.
///
/// A token's use is one `INSERT … ON CONFLICT DO NOTHING RETURNING 1`: the primary key makes
/// exactly one of any number of concurrent inserts of a nonce return a row, whichever
/// replica sent it.
///
/// Every operation waits at most `timeout` for an answer and then throws
/// ``KeyVerifyError/Code/storeUnavailable``, which a verifier turns into a refusal. The
/// store's connections also carry PostgreSQL's `statement_timeout` of the same length, so a
/// statement the store stopped waiting for (an insert held up by a lock, say) is cancelled by
/// the server rather than taking effect later: a token refused as unavailable is not left
/// recorded as used. Only when the connection itself stops answering, after the statement
/// was sent, can the store not know whether it took effect; the token is then refused and
/// may be refused again as replayed, never accepted twice.
///
/// The store owns a postgres-nio `PostgresClient` (a connection pool, at most 20
/// connections) that runs until ``shutdown()``. Pruning of used-token records is the
/// caller's to schedule, with ``startPruning(every:)`` or by calling
/// ``pruneUsedTokens(now:)``.
///
/// ```swift
/// let store = try PostgresChallengeStore(url: "postgres://keysmith@db.example/keysmith")
/// let verifier = try await store.verifier(audience: "https://app.example")
/// store.startPruning(every: .seconds(60))
/// let token = try verifier.issue()
/// // … the client answers …
/// let result = try await verifier.verify(token: tokenText, response: response,
///                                        authorizedKeys: keys, in: store)
/// await store.shutdown()
/// ```
public final class PostgresChallengeStore: ChallengeStore {
    /// The table holding the secret and audience (one row).
    public static let secretTable = "keysmith_challenge_secret"
    /// The table holding one row per used token.
    public static let usedTable = "keysmith_challenge_used"

    /// How long an operation waits for the database.
    public let timeout: Duration
    /// Where the store connects, for messages: `HOST:PORT/DATABASE` (never the user or password).
    public var place: String { self.location.place }

    private let location: PostgresLocation
    private let client: PostgresClient
    private let logger: Logger
    private let executor: EventLoopTaskExecutor
    private let eventLoopGroup: MultiThreadedEventLoopGroup
    /// The task running the client's connection pool.
    private let runTask: Task<Void, Never>
    private let pruneTask = Mutex<Task<Void, Never>?>(nil)
    private let prepared = Atomic<Bool>(false)

    /// The key of the transaction-level advisory lock that serialises ``prepare()`` across
    /// replicas: "keysmith" in ASCII.
    static let prepareLockKey: Int64 = 0x6B65_7973_6D69_7468

    /// A store for the database `url` names; connections are made when first needed.
    ///
    /// - Parameters:
    ///   - url: `postgres://user[:password]@host[:port]/database[?sslmode=…]`, or
    ///     `postgres:///database?host=/socket/directory` (`postgresql://` too); see
    ///     PostgreSQL's "Connection URIs".
    ///   - logger: Where the store and its connection pool log; the secret and the password
    ///     never go there.
    ///   - timeout: How long each operation waits for the database before it throws
    ///     ``KeyVerifyError/Code/storeUnavailable``; also PostgreSQL's `statement_timeout` on
    ///     the store's connections, and (no less than 10 s) the time to open one.
    /// - Throws: ``KeyVerifyError/Code/invalidParameter`` for a URL that cannot be used (the
    ///   sentence quotes no password) or a timeout that is not positive.
    public init(
        url: String,
        logger: Logger = Logger(label: "keysmith.challenge-store.postgres"),
        timeout: Duration = .seconds(10)
    ) throws(KeyVerifyError) {
        guard timeout > .zero else {
            throw KeyVerifyError(.invalidParameter, "the PostgreSQL store's timeout must be positive")
        }
        let location = try PostgresLocation(url: url)
        var configuration = location.clientConfiguration()
        // A connection that needs longer than the timeout to open is still worth having for
        // the next operation, so the pool keeps trying for at least 10 s (postgres-nio's default).
        configuration.options.connectTimeout = max(timeout, .seconds(10))
        configuration.options.additionalStartupParameters = [
            ("statement_timeout", String(max(1, timeout.wholeMilliseconds))),
            ("application_name", "keysmith"),
        ]
        let group = MultiThreadedEventLoopGroup.singleton
        let client = PostgresClient(configuration: configuration, eventLoopGroup: group, backgroundLogger: logger)
        let executor = EventLoopTaskExecutor(group.next())
        self.location = location
        self.timeout = timeout
        self.logger = logger
        self.eventLoopGroup = group
        self.client = client
        self.executor = executor
        // The pool serves no connection until run() runs; a lease asked for before that
        // waits in its queue (bounded by the operation's timeout), it is not lost.
        self.runTask = Task(executorPreference: executor) { await client.run() }
    }

    deinit {
        // A store dropped without shutdown() must not keep its pool running for ever.
        self.runTask.cancel()
        self.pruneTask.withLock { $0?.cancel() }
    }

    /// Stops background pruning and closes the connection pool; waits until both have ended
    /// (for the pool, at most the timeout or 10 s). The store answers no operation afterwards.
    public func shutdown() async {
        let pruning = self.pruneTask.withLock { task in
            defer { task = nil }
            return task
        }
        pruning?.cancel()
        await pruning?.value
        self.runTask.cancel()
        // The pool's run() ends once its connections have closed. Should one never finish
        // closing, shutdown stops waiting after the timeout (at least 10 s) rather than hang
        // its caller; the pool's task is cancelled either way.
        let race = Race<Void>()
        let runTask = self.runTask
        let limit = max(self.timeout, .seconds(10))
        try? await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let ended = Task(executorPreference: self.executor) {
                await runTask.value
                race.finish(.success(()))
            }
            let timer = Task(executorPreference: self.executor) {
                try? await Task.sleep(for: limit)
                race.finish(.success(()))
            }
            race.start(continuation, tasks: [ended, timer])
        }
    }

    // MARK: ChallengeStore

    /// Creates the store's tables and index unless they exist.
    ///
    /// Safe when several replicas start at once: the statements run in one transaction that
    /// first takes a transaction-level advisory lock (`pg_advisory_xact_lock`), since
    /// concurrent `CREATE TABLE IF NOT EXISTS` of one name can fail.
    ///
    /// When both tables exist it changes nothing, so a role that may only read and write
    /// them (no `CREATE` on the schema) can use tables made beforehand.
    ///
    /// - Throws: ``KeyVerifyError/Code/storeUnavailable`` or ``KeyVerifyError/Code/stateError``
    ///   (a role that may not create tables, say).
    public func prepare() async throws(KeyVerifyError) {
        let logger = self.logger
        let exist = try await self.run("look for its tables") { connection in
            let rows = try await connection.query(
                """
                SELECT to_regclass('keysmith_challenge_secret') IS NOT NULL
                    AND to_regclass('keysmith_challenge_used') IS NOT NULL
                """,
                logger: logger
            )
            var exist = false
            for try await found in rows.decode(Bool.self) { exist = found }
            return exist
        }
        if exist {
            self.prepared.store(true, ordering: .relaxed)
            return
        }
        try await self.run("create its tables") { connection in
            try await connection.withTransaction(logger: logger) { connection in
                try await connection.execute("SELECT pg_advisory_xact_lock(\(Self.prepareLockKey))", logger: logger)
                try await connection.execute(
                    """
                    CREATE TABLE IF NOT EXISTS keysmith_challenge_secret (
                        id int PRIMARY KEY CHECK (id = 1),
                        secret bytea NOT NULL,
                        audience text NOT NULL)
                    """,
                    logger: logger
                )
                try await connection.execute(
                    """
                    CREATE TABLE IF NOT EXISTS keysmith_challenge_used (
                        nonce bytea PRIMARY KEY,
                        expires_at bigint NOT NULL)
                    """,
                    logger: logger
                )
                try await connection.execute(
                    """
                    CREATE INDEX IF NOT EXISTS keysmith_challenge_used_expires_at
                        ON keysmith_challenge_used (expires_at)
                    """,
                    logger: logger
                )
            }
        }
        self.prepared.store(true, ordering: .relaxed)
    }

    /// The verifier of this store's deployment; see ``KeyVerify/ChallengeStore/verifier(audience:)``.
    ///
    /// Calls ``prepare()`` first, once per store. Without a secret row, inserts a new secret
    /// (`INSERT … ON CONFLICT DO NOTHING`) and reads the row again, so replicas starting at
    /// once agree on the secret one of them inserted.
    ///
    /// - Throws: ``KeyVerifyError/Code/invalidParameter`` for an unusable audience, or none
    ///   when the store has none yet; ``KeyVerifyError/Code/wrongAudience`` when the store
    ///   keeps another; ``KeyVerifyError/Code/storeUnavailable`` or
    ///   ``KeyVerifyError/Code/stateError`` when the database fails.
    public func verifier(audience: String?) async throws(KeyVerifyError) -> ChallengeVerifier {
        if let audience, !ChallengeToken.isValidAudience(audience) {
            throw KeyVerifyError(
                .invalidParameter,
                "the audience must be 1 to \(ChallengeToken.maximumAudienceLength) printable ASCII characters without spaces"
            )
        }
        if !self.prepared.load(ordering: .relaxed) { try await self.prepare() }
        if let kept = try await self.readSecret() { return try self.verifier(kept, given: audience) }
        guard let audience else {
            throw KeyVerifyError(
                .invalidParameter,
                "the store names no audience yet; give this verifier's name or URL with --audience"
            )
        }
        let fresh = ChallengeVerifier.newSecret()
        let secretBytes = fresh.withUnsafeBytes { ByteBuffer(bytes: $0) }
        let logger = self.logger
        try await self.run("store a new secret") { connection in
            try await connection.execute(
                """
                INSERT INTO keysmith_challenge_secret (id, secret, audience)
                VALUES (1, \(secretBytes), \(audience)) ON CONFLICT (id) DO NOTHING
                """,
                logger: logger
            )
        }
        guard let kept = try await self.readSecret() else {
            throw KeyVerifyError(
                .stateError,
                "the PostgreSQL store at \(self.place) lost its secret row as it was written; is another program deleting it?"
            )
        }
        return try self.verifier(kept, given: audience)
    }

    /// Records a token's use with one insert; see ``KeyVerify/ChallengeStore/recordUse(_:)``.
    public func recordUse(_ token: ChallengeToken) async throws(KeyVerifyError) -> Bool {
        let nonce = ByteBuffer(bytes: token.nonce)
        let expiresAt = token.expiresAt
        let logger = self.logger
        return try await self.run("record a used token") { connection in
            let rows = try await connection.query(
                """
                INSERT INTO keysmith_challenge_used (nonce, expires_at) VALUES (\(nonce), \(expiresAt))
                ON CONFLICT (nonce) DO NOTHING RETURNING 1
                """,
                logger: logger
            )
            var inserted = false
            for try await _ in rows { inserted = true }
            return inserted
        }
    }

    /// Deletes the records of tokens that expired more than ``KeyVerify/ChallengeVerifier/recordGrace``
    /// seconds before `now` (seconds since the epoch).
    public func pruneUsedTokens(now: Int64) async throws(KeyVerifyError) {
        let (before, overflow) = now.subtractingReportingOverflow(ChallengeVerifier.recordGrace)
        guard !overflow else { return }
        let logger = self.logger
        try await self.run("prune used tokens") { connection in
            // expires_at + grace < now, written so that the index on expires_at serves it.
            try await connection.execute(
                "DELETE FROM keysmith_challenge_used WHERE expires_at < \(before)",
                logger: logger
            )
        }
    }

    /// Throws ``KeyVerifyError/Code/storeUnavailable`` unless the database answers `SELECT 1`
    /// within the timeout.
    public func checkAvailable() async throws(KeyVerifyError) {
        let logger = self.logger
        try await self.run("answer") { connection in
            try await connection.execute("SELECT 1", logger: logger)
        }
    }

    /// Prunes used-token records every `interval` in a background task, until
    /// ``shutdown()`` (or the next call, which replaces it). A failed pruning is logged as a
    /// warning and tried again at the next interval.
    public func startPruning(every interval: Duration) {
        let logger = self.logger
        let task = Task(executorPreference: self.executor) { [weak self] in
            while !Task.isCancelled {
                do {
                    try await Task.sleep(for: interval)
                } catch {
                    return
                }
                guard let self else { return }
                do throws(KeyVerifyError) {
                    try await self.pruneUsedTokens(now: ChallengeVerifier.currentTime())
                } catch {
                    logger.warning("pruning used challenge tokens failed", metadata: ["error": "\(error.message)"])
                }
            }
        }
        let previous = self.pruneTask.withLock { current in
            defer { current = task }
            return current
        }
        previous?.cancel()
    }

    // MARK: Reading the secret

    private struct KeptSecret: Sendable {
        let secret: SecureBytes
        let audience: String
    }

    private func readSecret() async throws(KeyVerifyError) -> KeptSecret? {
        let logger = self.logger
        let place = self.place
        return try await self.run("read its secret") { connection in
            let rows = try await connection.query(
                "SELECT secret, audience FROM keysmith_challenge_secret WHERE id = 1",
                logger: logger
            )
            var kept: KeptSecret?
            for try await (buffer, audience) in rows.decode((ByteBuffer, String).self) {
                guard buffer.readableBytes == ChallengeVerifier.secretSize else {
                    throw KeyVerifyError(
                        .stateError,
                        "the secret in the PostgreSQL store at \(place) is damaged (\(buffer.readableBytes) bytes, not \(ChallengeVerifier.secretSize)); delete its row to start afresh, which invalidates outstanding tokens"
                    )
                }
                kept = KeptSecret(secret: SecureBytes(buffer.readableBytesView), audience: audience)
            }
            return kept
        }
    }

    private func verifier(_ kept: KeptSecret, given: String?) throws(KeyVerifyError) -> ChallengeVerifier {
        if let given, given != kept.audience {
            throw KeyVerifyError(
                .wrongAudience,
                "the PostgreSQL store at \(self.place) serves the audience \(kept.audience), not \(given); give another audience a database of its own"
            )
        }
        do {
            return try ChallengeVerifier(secret: kept.secret, audience: kept.audience)
        } catch {
            throw KeyVerifyError(
                .stateError,
                "the audience in the PostgreSQL store at \(self.place) is damaged; \(error.message)"
            )
        }
    }

    // MARK: Running an operation within the timeout

    /// Runs `body` on a connection of the pool, waiting at most ``timeout`` in all (for a
    /// connection and for the answer), on the store's own executor.
    ///
    /// Not a task group: a group waits for all its children, and a query already sent does
    /// not stop when its task is cancelled, so a group would wait as long as the database.
    /// The work and the timer are two tasks; the first to finish answers, the other is
    /// cancelled (a lease still waited for is withdrawn from the pool; a query already sent
    /// is ended by the server's `statement_timeout`).
    private func run<T: Sendable>(
        _ what: String,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws(KeyVerifyError) -> T {
        let race = Race<T>()
        let leased = Flag()
        let client = self.client
        let timeout = self.timeout
        do {
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                    let work = Task(executorPreference: self.executor) {
                        do {
                            let value = try await client.withConnection { connection in
                                // A lease granted just as the timer fired: send nothing.
                                try Task.checkCancellation()
                                leased.set()
                                return try await body(connection)
                            }
                            race.finish(.success(value))
                        } catch {
                            race.finish(.failure(error))
                        }
                    }
                    let timer = Task(executorPreference: self.executor) {
                        do {
                            try await Task.sleep(for: timeout)
                        } catch {
                            return
                        }
                        race.finish(.failure(StoreTimeout(leased: leased.isSet)))
                    }
                    race.start(continuation, tasks: [work, timer])
                }
            } onCancel: {
                race.finish(.failure(CancellationError()))
            }
        } catch let timedOut as StoreTimeout {
            throw await self.timeoutError(what, leased: timedOut.leased)
        } catch {
            throw self.storeError(error, what)
        }
    }

    /// The error for an operation that had no answer within the timeout. When no connection
    /// could be had, one plain connection attempt (at most a second) tells a server that
    /// refuses from one that does not answer.
    private func timeoutError(_ what: String, leased: Bool) async -> KeyVerifyError {
        let seconds = self.timeout.secondsText
        let silent = KeyVerifyError(
            .storeUnavailable,
            "the PostgreSQL store at \(self.place) did not answer within \(seconds) s (asked to \(what))"
        )
        if leased { return silent }
        let bootstrap = ClientBootstrap(group: self.eventLoopGroup).connectTimeout(.seconds(1))
        do {
            let channel: any Channel
            switch self.location.endpoint {
            case .tcp(let host, let port): channel = try await bootstrap.connect(host: host, port: port).get()
            case .socket(let directory, let port):
                channel = try await bootstrap.connect(unixDomainSocketPath: "\(directory)/.s.PGSQL.\(port)").get()
            }
            try? await channel.close().get()
        } catch {
            if isConnectionRefused(error) {
                return KeyVerifyError(.storeUnavailable, "the PostgreSQL store at \(self.place) refused the connection")
            }
        }
        return silent
    }

    /// One sentence for an error of postgres-nio or of the connection.
    private func storeError(_ error: any Error, _ what: String) -> KeyVerifyError {
        let place = self.place
        switch error {
        case let error as KeyVerifyError:
            return error
        case let error as PostgresTransactionError:
            if let inner = error.closureError ?? error.beginError ?? error.commitError {
                return self.storeError(inner, what)
            }
            return KeyVerifyError(.stateError, "the PostgreSQL store at \(place) failed to \(what)")
        case is CancellationError:
            return KeyVerifyError(.storeUnavailable, "asking the PostgreSQL store at \(place) to \(what) was cancelled")
        case let error as PSQLError:
            return self.psqlError(error, what)
        case let error as PostgresDecodingError:
            return KeyVerifyError(
                .stateError,
                "the PostgreSQL store at \(place) answered what it could not read, asked to \(what) (column \(error.columnName), \(error.code))"
            )
        default:
            if isConnectionRefused(error) {
                return KeyVerifyError(.storeUnavailable, "the PostgreSQL store at \(place) refused the connection")
            }
            // The connection pool's own errors: it gives up on a database it could not
            // connect to for a minute (a tripped circuit breaker), and it may be shut down.
            return KeyVerifyError(
                .storeUnavailable,
                "the PostgreSQL store at \(place) cannot be reached, asked to \(what) (\(oneLine(String(describing: error))))"
            )
        }
    }

    private func psqlError(_ error: PSQLError, _ what: String) -> KeyVerifyError {
        let place = self.place
        switch error.code {
        case .server:
            let state = error.serverInfo?[.sqlState] ?? ""
            let message = oneLine(error.serverInfo?[.message] ?? "no message")
            if state == "57014" {
                // query_canceled: the statement_timeout the store sets.
                return KeyVerifyError(
                    .storeUnavailable,
                    "the PostgreSQL store at \(place) did not answer within \(self.timeout.secondsText) s (asked to \(what))"
                )
            }
            if state.hasPrefix("08") || state.hasPrefix("53") || state.hasPrefix("57") || state == "40001"
                || state == "40P01"
            {
                // Connection exceptions, insufficient resources, operator intervention (a
                // server shutting down or starting up), serialization failures and deadlocks:
                // the database cannot answer now, nothing about this store is wrong.
                return KeyVerifyError(.storeUnavailable, "the PostgreSQL store at \(place) is unavailable: \(message)")
            }
            if state == "42P01" {
                return KeyVerifyError(
                    .stateError,
                    "the PostgreSQL store at \(place) has no tables yet (\(message)); prepare the store first"
                )
            }
            return KeyVerifyError(
                .stateError,
                "the PostgreSQL store at \(place) failed to \(what): \(message) (SQLSTATE \(state))"
            )
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed,
            .queryCancelled:
            if let underlying = error.underlying, isConnectionRefused(underlying) {
                return KeyVerifyError(.storeUnavailable, "the PostgreSQL store at \(place) refused the connection")
            }
            return KeyVerifyError(
                .storeUnavailable,
                "the PostgreSQL store at \(place) closed the connection or could not be reached (\(error.code))"
            )
        default:
            return KeyVerifyError(.stateError, "the PostgreSQL store at \(place) failed to \(what) (\(error.code))")
        }
    }
}

extension PostgresConnection {
    /// Runs `query` and reads its rows to the end, so that the statement has completed.
    fileprivate func execute(_ query: PostgresQuery, logger: Logger) async throws {
        for try await _ in try await self.query(query, logger: logger) {}
    }
}

/// The timer of ``PostgresChallengeStore``'s operations fired first.
private struct StoreTimeout: Error {
    /// Whether a connection had been leased (so the statement may have been sent).
    let leased: Bool
}

/// A flag set once, shared by tasks.
private final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { self.value.store(true, ordering: .relaxed) }
    var isSet: Bool { self.value.load(ordering: .relaxed) }
}

/// The first of several tasks to finish resumes one continuation; the rest are cancelled.
private final class Race<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var tasks: [Task<Void, Never>] = []
        /// An outcome that came before the continuation was there (a cancellation).
        var early: Result<T, any Error>?
        var done = false
    }

    private let state = Mutex(State())

    func start(_ continuation: CheckedContinuation<T, any Error>, tasks: [Task<Void, Never>]) {
        let early: Result<T, any Error>? = self.state.withLock { state in
            if let early = state.early {
                state.done = true
                return early
            }
            state.continuation = continuation
            state.tasks = tasks
            return nil
        }
        if let early {
            for task in tasks { task.cancel() }
            continuation.resume(with: early)
        }
    }

    func finish(_ outcome: Result<T, any Error>) {
        let winner: (CheckedContinuation<T, any Error>, [Task<Void, Never>])? = self.state.withLock { state in
            guard !state.done else { return nil }
            guard let continuation = state.continuation else {
                if state.early == nil { state.early = outcome }
                return nil
            }
            state.done = true
            state.continuation = nil
            defer { state.tasks = [] }
            return (continuation, state.tasks)
        }
        guard let (continuation, tasks) = winner else { return }
        for task in tasks { task.cancel() }
        continuation.resume(with: outcome)
    }
}

/// Whether `error` (NIO's, or one wrapping it) is a refused connection: ECONNREFUSED, or a
/// socket path where no server listens.
private func isConnectionRefused(_ error: any Error) -> Bool {
    if let error = error as? IOError {
        return error.errnoCode == ECONNREFUSED || error.errnoCode == ENOENT
    }
    if let error = error as? NIOConnectionError {
        return !error.connectionErrors.isEmpty && error.connectionErrors.allSatisfy { isConnectionRefused($0.error) }
    }
    if let error = error as? PSQLError, let underlying = error.underlying {
        return isConnectionRefused(underlying)
    }
    return false
}

/// The first line of `text`, at most 200 characters: a server's message can run to several.
private func oneLine(_ text: String) -> String {
    let line = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
    return line.count > 200 ? String(line.prefix(200)) + "…" : line
}

extension Duration {
    /// Whole milliseconds, rounded down.
    var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = self.components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    /// Seconds for a message: `10`, or `0.5` for less than whole seconds.
    var secondsText: String {
        let milliseconds = self.wholeMilliseconds
        if milliseconds % 1000 == 0 { return String(milliseconds / 1000) }
        return String(Double(milliseconds) / 1000)
    }
}
