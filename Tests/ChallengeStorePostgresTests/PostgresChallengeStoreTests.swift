import ChallengeStorePostgres
import Foundation
import KeyVerify
import KeysmithTestSupport
import Logging
import PostgresNIO
import SSHCrypto
import SSHKeys
import Testing

/// An Ed25519 key written to disk (for ssh-keygen) and an authorized_keys file listing it.
struct StoreTestKey {
    let dir: TempDir
    let key: SSHPrivateKey
    let path: String

    init() throws {
        self.dir = try TempDir()
        self.key = try SSHPrivateKey(generating: .ed25519, comment: "alice@example")
        self.path = self.dir.path("id")
        let contents = try self.key.fileRepresentation()
        try contents.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: self.path)) }
        chmod(self.path, 0o600)
    }

    var authorizedKeys: AuthorizedKeysFile {
        let line = self.key.publicKey.openSSHLine(comment: self.key.comment)
        return AuthorizedKeysFile(contents: Array((line + "\n").utf8), path: "authorized_keys")
    }

    func respond(_ token: ChallengeToken) throws -> String {
        try Challenge.respond(to: token.text, with: self.key, audience: token.audience)
    }
}

/// The error an async body threw, if it was a `KeyVerifyError`.
func storeError(_ body: () async throws -> Void) async -> KeyVerifyError? {
    do {
        try await body()
        return nil
    } catch {
        return error as? KeyVerifyError
    }
}

/// A logger that drops everything: the pool logs each failed connection attempt at info.
let quiet = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

/// Generous, for a loaded machine running ~900 other tests beside these (docs/testing.md):
/// only the tests of a slow or absent database use short timeouts, and they expect failures.
let generous: Duration = .seconds(60)

@Suite("PostgreSQL challenge store")
struct PostgresChallengeStoreTests {
    let audience = "verifier.example"

    /// A fresh database on the shared server and a store on it.
    func freshStore(timeout: Duration = generous) throws -> (PostgresFixture, String, PostgresChallengeStore) {
        let server = try PostgresFixture.shared()
        let database = try server.createDatabase()
        let store = try PostgresChallengeStore(url: server.url(database: database), logger: quiet, timeout: timeout)
        return (server, database, store)
    }

    @Test("round trip: a token answered by keysmith and by ssh-keygen -Y sign verifies once through the store")
    func roundTrip() async throws {
        let (server, database, store) = try self.freshStore()
        let verifier = try await store.verifier(audience: self.audience)
        try await store.checkAvailable()
        let key = try StoreTestKey()

        let token = try verifier.issue()
        let response = try key.respond(token)
        let result = try await verifier.verify(
            token: token.text,
            response: response,
            authorizedKeys: key.authorizedKeys,
            in: store
        )
        #expect(result.key == key.key.publicKey)
        let replay = await storeError {
            _ = try await verifier.verify(
                token: token.text,
                response: response,
                authorizedKeys: key.authorizedKeys,
                in: store
            )
        }
        #expect(replay?.code == .replayed)

        // OpenSSH's answer to a token in a file.
        let second = try verifier.issue()
        let message = key.dir.path("token")
        try writeText(message, second.text)
        let signed = try runProcess(Tool.sshKeygen, ["-Y", "sign", "-n", Challenge.namespace, "-f", key.path, message])
        #expect(signed.status == 0, "\(signed)")
        let answer = try readText(message + ".sig")
        _ = try await verifier.verify(
            token: second.text,
            response: answer,
            authorizedKeys: key.authorizedKeys,
            in: store
        )
        let again = await storeError {
            _ = try await verifier.verify(
                token: second.text,
                response: answer,
                authorizedKeys: key.authorizedKeys,
                in: store
            )
        }
        #expect(again?.code == .replayed)

        // The rows, as psql sees them: one per used token, keyed by its nonce.
        let rows = try server.psql(
            "SELECT encode(nonce, 'hex') || ' ' || expires_at FROM keysmith_challenge_used ORDER BY expires_at, nonce",
            database: database
        )
        let expected = [token, second].map { "\(hex($0.nonce)) \($0.expiresAt)" }
        #expect(Set(rows.split(separator: "\n").map(String.init)) == Set(expected))
        #expect(
            try server.psql("SELECT audience, length(secret) FROM keysmith_challenge_secret", database: database)
                == "\(self.audience)|32"
        )
        await store.shutdown()
    }

    @Test("the socket form of the URL reaches the same database")
    func socketURL() async throws {
        let (server, database, store) = try self.freshStore()
        let verifier = try await store.verifier(audience: self.audience)
        let overSocket = try PostgresChallengeStore(
            url: server.socketURL(database: database),
            logger: quiet,
            timeout: generous
        )
        let other = try await overSocket.verifier(audience: nil)
        #expect(other.audience == self.audience)
        let token = try verifier.issue()
        try other.checkToken(token)
        #expect(try await overSocket.recordUse(token))
        #expect(try await store.recordUse(token) == false)
        await store.shutdown()
        await overSocket.shutdown()
    }

    @Test("two replicas on one database: one secret, tokens of either verified by the other, each used once")
    func twoReplicas() async throws {
        let (server, database, first) = try self.freshStore()
        let second = try PostgresChallengeStore(url: server.url(database: database), logger: quiet, timeout: generous)
        let a = try await first.verifier(audience: self.audience)
        let b = try await second.verifier(audience: self.audience)
        let key = try StoreTestKey()
        for (issuer, checker, checkerStore) in [(a, b, second), (b, a, first)] {
            let token = try issuer.issue()
            let response = try key.respond(token)
            _ = try await checker.verify(
                token: token.text,
                response: response,
                authorizedKeys: key.authorizedKeys,
                in: checkerStore
            )
            let replay = await storeError {
                _ = try await issuer.verify(
                    token: token.text,
                    response: response,
                    authorizedKeys: key.authorizedKeys,
                    in: checkerStore === first ? second : first
                )
            }
            #expect(replay?.code == .replayed)
        }
        #expect(try server.psql("SELECT count(*) FROM keysmith_challenge_secret", database: database) == "1")
        #expect(try server.psql("SELECT count(*) FROM keysmith_challenge_used", database: database) == "2")
        await first.shutdown()
        await second.shutdown()
    }

    @Test("eight replicas starting at once on a fresh database agree on one secret")
    func concurrentFirstStart() async throws {
        let server = try PostgresFixture.shared()
        let database = try server.createDatabase()
        let stores = try (0..<8).map { _ in
            try PostgresChallengeStore(url: server.url(database: database), logger: quiet, timeout: generous)
        }
        let verifiers = try await withThrowingTaskGroup(of: ChallengeVerifier.self) { group in
            for store in stores {
                group.addTask { try await store.verifier(audience: self.audience) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(verifiers.count == 8)
        let tokens = try verifiers.map { try $0.issue() }
        for verifier in verifiers {
            for token in tokens { try verifier.checkToken(token) }
        }
        #expect(try server.psql("SELECT count(*) FROM keysmith_challenge_secret", database: database) == "1")
        let tables = try server.psql(
            "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE tablename LIKE 'keysmith%'",
            database: database
        )
        #expect(tables == "keysmith_challenge_secret,keysmith_challenge_used")
        for store in stores { await store.shutdown() }
    }

    @Test("50 tokens, each verified 8 times at once across 3 replicas: exactly 50 accepted")
    func race() async throws {
        let (server, database, first) = try self.freshStore()
        let stores = [
            first,
            try PostgresChallengeStore(url: server.url(database: database), logger: quiet, timeout: generous),
            try PostgresChallengeStore(url: server.url(database: database), logger: quiet, timeout: generous),
        ]
        var verifiers: [ChallengeVerifier] = []
        for store in stores { verifiers.append(try await store.verifier(audience: self.audience)) }
        let key = try StoreTestKey()
        let keys = key.authorizedKeys
        let answered = try (0..<50).map { index in
            let token = try verifiers[index % 3].issue()
            return (token, try key.respond(token))
        }
        let outcomes = await withTaskGroup(of: (Int, KeyVerifyError.Code?).self) { group in
            for (index, (token, response)) in answered.enumerated() {
                for attempt in 0..<8 {
                    let verifier = verifiers[attempt % 3]
                    let store = stores[(attempt + index) % 3]
                    group.addTask {
                        let error = await storeError {
                            _ = try await verifier.verify(
                                token: token.text,
                                response: response,
                                authorizedKeys: keys,
                                in: store
                            )
                        }
                        return (index, error?.code)
                    }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(outcomes.count == 400)
        let accepted = outcomes.filter { $0.1 == nil }
        #expect(accepted.count == 50)
        #expect(Set(accepted.map(\.0)).count == 50)
        #expect(outcomes.filter { $0.1 == .replayed }.count == 350)
        #expect(try server.psql("SELECT count(*) FROM keysmith_challenge_used", database: database) == "50")
        for store in stores { await store.shutdown() }
    }

    @Test("pruning removes only the records of tokens expired beyond the grace")
    func prune() async throws {
        let (server, database, store) = try self.freshStore()
        let verifier = try await store.verifier(audience: self.audience)
        let now = ChallengeVerifier.currentTime()
        let grace = ChallengeVerifier.recordGrace
        // Expiry times relative to `now`: far past, just beyond the grace, exactly at it, within it, future.
        let offsets: [Int64] = [-10_000, -grace - 1, -grace, -grace + 1, -1, 300]
        var tokens: [Int64: ChallengeToken] = [:]
        for offset in offsets {
            let token = try verifier.issue(lifetime: 100, now: now + offset - 100)
            #expect(token.expiresAt == now + offset)
            #expect(try await store.recordUse(token))
            tokens[offset] = token
        }
        try await store.pruneUsedTokens(now: now)
        let left = try server.psql(
            "SELECT expires_at FROM keysmith_challenge_used ORDER BY expires_at",
            database: database
        )
        let kept = offsets.filter { $0 + grace >= 0 }
        #expect(left == kept.map { String(now + $0) }.joined(separator: "\n"))
        // What was pruned can be recorded again (a verifier refuses such tokens as expired); the rest cannot.
        for offset in offsets {
            #expect(try await store.recordUse(tokens[offset]!) == !kept.contains(offset))
        }
        await store.shutdown()
    }

    @Test("startPruning prunes in the background until shutdown")
    func backgroundPruning() async throws {
        let (server, database, store) = try self.freshStore()
        let verifier = try await store.verifier(audience: self.audience)
        let now = ChallengeVerifier.currentTime()
        #expect(try await store.recordUse(try verifier.issue(lifetime: 10, now: now - 1000)))
        #expect(try await store.recordUse(try verifier.issue(lifetime: 300, now: now)))
        store.startPruning(every: .milliseconds(200))
        var left = ""
        for _ in 0..<600 {
            left = try server.psql("SELECT count(*) FROM keysmith_challenge_used", database: database)
            if left == "1" { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(left == "1")
        await store.shutdown()
    }

    @Test("audience rules: none given to an empty store, another than the kept one, an unusable one")
    func audienceRules() async throws {
        let (_, _, store) = try self.freshStore()
        let none = await storeError { _ = try await store.verifier(audience: nil) }
        #expect(none?.code == .invalidParameter)
        #expect(none?.message.contains("--audience") == true)
        let bad = await storeError { _ = try await store.verifier(audience: "two words") }
        #expect(bad?.code == .invalidParameter)
        let kept = try await store.verifier(audience: self.audience)
        #expect(kept.audience == self.audience)
        #expect(try await store.verifier(audience: nil).audience == self.audience)
        let other = await storeError { _ = try await store.verifier(audience: "other.example") }
        #expect(other?.code == .wrongAudience)
        #expect(other?.message.contains(self.audience) == true)
        await store.shutdown()
    }

    @Test(
        "malformed URLs are refused with one sentence that never shows the password",
        arguments: [
            "mysql://alice:hunter2secret@127.0.0.1/db",
            "postgres://alice:hunter2secret@127.0.0.1:99999/db",
            "postgres://alice:hunter2secret@127.0.0.1:port/db",
            "postgres://alice:hunter2secret@127.0.0.1/",
            "postgres://alice:hunter2secret@/db",
            "postgres://alice:hunter2secret@127.0.0.1/db?sslmode=sometimes",
            "postgres://alice:hunter2secret@127.0.0.1/db?application=x",
            "postgres://alice:hunter2secret%zz@127.0.0.1/db",
            "postgres://alice:hunter2secret@[::1/db",
            "postgres://alice@127.0.0.1/db?password=hunter2secret&sslmode=x",
            "postgres://alice@127.0.0.1/db#hunter2secret",
        ]
    )
    func malformedURL(url: String) async throws {
        let error = await storeError { _ = try PostgresChallengeStore(url: url, logger: quiet) }
        #expect(error?.code == .invalidParameter)
        #expect(error?.message.contains("hunter2secret") == false, "\(error?.message ?? "")")
        #expect(error?.message.contains("\n") == false)
    }

    @Test(
        "well-formed URLs name the place without user or password",
        arguments: [
            ("postgres://alice:hunter2secret@db.example/keys", "db.example:5432/keys"),
            ("postgresql://alice@127.0.0.1:5433/keys?sslmode=require", "127.0.0.1:5433/keys"),
            ("postgres://alice@[::1]:6543/k%65ys", "[::1]:6543/keys"),
            ("postgres:///keys?host=/run/postgresql", "/run/postgresql/.s.PGSQL.5432 (database keys)"),
            ("postgres://%2Ftmp%2Fpg:7000/keys?user=alice", "/tmp/pg/.s.PGSQL.7000 (database keys)"),
        ]
    )
    func wellFormedURL(url: String, place: String) async throws {
        let store = try PostgresChallengeStore(url: url, logger: quiet)
        #expect(store.place == place)
        await store.shutdown()
    }

    // No hang: each operation ends at its timeout (and a one-second probe). The limit, which
    // fails the test rather than hang the run, is loose: beside ~900 other tests on two busy
    // cores the test task itself can wait a minute for a thread (seen: 68 s in all).
    @Test(
        "a port where nothing listens: storeUnavailable within the timeout, naming the refusal",
        .timeLimit(.minutes(10))
    )
    func nothingListens() async throws {
        let port = try SSHDFixture.freePort()
        let store = try PostgresChallengeStore(
            url: "postgres://postgres:hunter2secret@127.0.0.1:\(port)/keys?sslmode=disable",
            logger: quiet,
            timeout: .seconds(2)
        )
        let error = await storeError { try await store.checkAvailable() }
        #expect(error?.code == .storeUnavailable)
        #expect(error?.message.contains("127.0.0.1:\(port)/keys") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("refused the connection") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("hunter2secret") == false)
        // Verification through it refuses: nothing is accepted without the store.
        let verifier = try ChallengeVerifier(secret: ChallengeVerifier.newSecret(), audience: self.audience)
        let key = try StoreTestKey()
        let token = try verifier.issue()
        let refused = await storeError {
            _ = try await verifier.verify(
                token: token.text,
                response: try key.respond(token),
                authorizedKeys: key.authorizedKeys,
                in: store
            )
        }
        #expect(refused?.code == .storeUnavailable)
        await store.shutdown()
    }

    @Test(
        "a database held up by a lock: storeUnavailable, the token not recorded, then verified once",
        .timeLimit(.minutes(10))
    )
    func slowDatabase() async throws {
        let (server, database, store) = try self.freshStore()
        let verifier = try await store.verifier(audience: self.audience)
        let short = try PostgresChallengeStore(url: server.url(database: database), logger: quiet, timeout: .seconds(1))
        // The short store's first connection may take longer than its second on a busy machine.
        var warm = false
        for _ in 0..<30 where !warm {
            warm = (try? await short.checkAvailable()) != nil
        }
        #expect(warm)

        let holder = try await PostgresConnection.connect(
            configuration: .init(
                host: "127.0.0.1",
                port: server.port,
                username: "postgres",
                password: nil,
                database: database,
                tls: .disable
            ),
            id: 1,
            logger: quiet
        )
        try await holder.query("BEGIN", logger: quiet)
        try await holder.query("LOCK TABLE keysmith_challenge_used IN ACCESS EXCLUSIVE MODE", logger: quiet)

        let key = try StoreTestKey()
        let token = try verifier.issue()
        let response = try key.respond(token)
        let error = await storeError {
            _ = try await verifier.verify(
                token: token.text,
                response: response,
                authorizedKeys: key.authorizedKeys,
                in: short
            )
        }
        #expect(error?.code == .storeUnavailable)
        #expect(error?.message.contains("did not answer within 1 s") == true, "\(error?.message ?? "")")

        // The server cancels the insert (statement_timeout) rather than running it once the
        // lock goes: wait until nothing waits for a lock, then let the lock go.
        var waiting = ""
        for _ in 0..<600 {
            waiting = try server.psql(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = '\(database)' AND wait_event_type = 'Lock'",
                database: "postgres"
            )
            if waiting == "0" { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(waiting == "0")
        try await holder.query("ROLLBACK", logger: quiet)
        try await holder.close()
        #expect(try server.psql("SELECT count(*) FROM keysmith_challenge_used", database: database) == "0")

        _ = try await verifier.verify(
            token: token.text,
            response: response,
            authorizedKeys: key.authorizedKeys,
            in: store
        )
        let replay = await storeError {
            _ = try await verifier.verify(
                token: token.text,
                response: response,
                authorizedKeys: key.authorizedKeys,
                in: short
            )
        }
        #expect(replay?.code == .replayed || replay?.code == .storeUnavailable)
        #expect(try server.psql("SELECT count(*) FROM keysmith_challenge_used", database: database) == "1")
        await short.shutdown()
        await store.shutdown()
    }

    @Test(
        "PostgreSQL stopped: storeUnavailable; restarted: the store recovers and no token is accepted twice",
        .timeLimit(.minutes(10))
    )
    func restart() async throws {
        let server = try PostgresFixture()
        let database = try server.createDatabase()
        // Short enough that the stopped server costs seconds; the recovery below retries.
        let store = try PostgresChallengeStore(url: server.url(database: database), logger: quiet, timeout: .seconds(5))
        var verifier: ChallengeVerifier?
        for _ in 0..<12 where verifier == nil {
            verifier = try? await store.verifier(audience: self.audience)
        }
        let kept = try #require(verifier)
        let key = try StoreTestKey()
        let used = try kept.issue()
        let usedResponse = try key.respond(used)
        _ = try await kept.verify(
            token: used.text,
            response: usedResponse,
            authorizedKeys: key.authorizedKeys,
            in: store
        )
        let during = try kept.issue()
        let duringResponse = try key.respond(during)

        server.stop()
        let down = await storeError { try await store.checkAvailable() }
        #expect(down?.code == .storeUnavailable, "\(down?.message ?? "no error")")
        let refused = await storeError {
            _ = try await kept.verify(
                token: during.text,
                response: duringResponse,
                authorizedKeys: key.authorizedKeys,
                in: store
            )
        }
        #expect(refused?.code == .storeUnavailable, "\(refused?.message ?? "no error")")

        try server.start()
        var recovered = false
        for _ in 0..<60 where !recovered {
            recovered = (try? await store.checkAvailable()) != nil
            if !recovered { try await Task.sleep(for: .milliseconds(500)) }
        }
        #expect(recovered, "\(server.log)")
        let replay = await storeError {
            _ = try await kept.verify(
                token: used.text,
                response: usedResponse,
                authorizedKeys: key.authorizedKeys,
                in: store
            )
        }
        #expect(replay?.code == .replayed)
        // Refused while the server was down, so not recorded: accepted now, once.
        _ = try await kept.verify(
            token: during.text,
            response: duringResponse,
            authorizedKeys: key.authorizedKeys,
            in: store
        )
        let again = await storeError {
            _ = try await kept.verify(
                token: during.text,
                response: duringResponse,
                authorizedKeys: key.authorizedKeys,
                in: store
            )
        }
        #expect(again?.code == .replayed)
        // The same secret after the restart: a new store reads it back.
        let reopened = try PostgresChallengeStore(url: server.url(database: database), logger: quiet, timeout: generous)
        try await reopened.verifier(audience: nil).checkToken(used)
        await reopened.shutdown()
        await store.shutdown()
    }

    @Test("a role that may not create tables uses tables made beforehand; a denied table is one stateError sentence")
    func leastPrivilege() async throws {
        let (server, database, owner) = try self.freshStore()
        let verifier = try await owner.verifier(audience: self.audience)
        let role = "keysmith_app_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
        try server.psql(
            """
            CREATE ROLE \(role) LOGIN;
            REVOKE CREATE ON SCHEMA public FROM PUBLIC;
            GRANT SELECT ON keysmith_challenge_secret TO \(role);
            GRANT SELECT, INSERT, DELETE ON keysmith_challenge_used TO \(role)
            """,
            database: database
        )
        let app = try PostgresChallengeStore(
            url: "postgres://\(role)@127.0.0.1:\(server.port)/\(database)?sslmode=disable",
            logger: quiet,
            timeout: generous
        )
        let kept = try await app.verifier(audience: nil)
        let token = try verifier.issue()
        try kept.checkToken(token)
        #expect(try await app.recordUse(token))
        try await app.pruneUsedTokens(now: ChallengeVerifier.currentTime())

        try server.psql("REVOKE INSERT ON keysmith_challenge_used FROM \(role)", database: database)
        let denied = await storeError { _ = try await app.recordUse(try verifier.issue()) }
        #expect(denied?.code == .stateError)
        #expect(denied?.message.contains("permission denied") == true, "\(denied?.message ?? "")")
        #expect(denied?.message.contains("\n") == false)

        // Where the tables are missing and it may not create them: stateError too.
        let empty = try server.createDatabase()
        try server.psql("REVOKE CREATE ON SCHEMA public FROM PUBLIC", database: empty)
        let fresh = try PostgresChallengeStore(
            url: "postgres://\(role)@127.0.0.1:\(server.port)/\(empty)?sslmode=disable",
            logger: quiet,
            timeout: generous
        )
        let cannot = await storeError { _ = try await fresh.verifier(audience: self.audience) }
        #expect(cannot?.code == .stateError)
        #expect(cannot?.message.contains("permission denied") == true, "\(cannot?.message ?? "")")
        await fresh.shutdown()
        await app.shutdown()
        await owner.shutdown()
    }

    @Test("after shutdown the store answers storeUnavailable at once")
    func afterShutdown() async throws {
        let (_, _, store) = try self.freshStore()
        _ = try await store.verifier(audience: self.audience)
        await store.shutdown()
        let error = await storeError { try await store.checkAvailable() }
        #expect(error?.code == .storeUnavailable)
    }
}

private func hex(_ bytes: [UInt8]) -> String {
    bytes.map { String(format: "%02x", $0) }.joined()
}
