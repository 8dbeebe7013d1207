import Foundation
import KeysmithTestSupport
import Testing

/// keysmith-challenged serve, driven by curl and a Python urllib client, signing with
/// ssh-keygen: every answer compared with what OpenSSH says of the key.
@Suite("Challenge service over HTTP")
struct ServiceTests {
    /// A directory with one authorized key (`alice`) and a running service.
    final class Fixture {
        let directory: TempDir
        let key: String
        let authorizedKeys: String
        let state: String
        let service: ServiceProcess

        init(_ extra: [String] = []) throws {
            self.directory = try TempDir()
            self.key = try makeKey(self.directory, "alice", comment: "alice@test")
            self.authorizedKeys = self.directory.path("authorized_keys")
            try writeText(self.authorizedKeys, try readText(self.key + ".pub"))
            self.state = self.directory.path("state")
            self.service = try ServiceProcess(
                directory: self.directory,
                ["--state", self.state, "--audience", "https://app.test", "--authorized-keys", self.authorizedKeys]
                    + extra
            )
        }

        func issue(ttl: Int? = nil) throws -> String {
            let answer =
                try ttl.map { try curlJSON(self.service.url + "/v1/challenges", "{\"ttl\":\($0)}", in: self.directory) }
                ?? curl("POST", self.service.url + "/v1/challenges")
            guard answer.status == 200, let token = answer.json["token"] as? String else {
                throw FixtureError("issue failed: \(answer)")
            }
            return token
        }

        func verify(_ token: String, _ response: String) throws -> HTTPAnswer {
            try curlJSON(
                self.service.url + "/v1/verifications",
                "{\"token\":\(jsonString(token)),\"response\":\(jsonString(response))}",
                in: self.directory
            )
        }
    }

    @Test("a token issued, signed by ssh-keygen and verified: 200 with the key ssh-keygen -l names, then 409")
    func roundTrip() throws {
        let f = try Fixture()
        defer { f.service.stop() }
        let issued = try curl("POST", f.service.url + "/v1/challenges")
        #expect(issued.status == 200)
        #expect(issued.json["audience"] as? String == "https://app.test")
        let token = try #require(issued.json["token"] as? String)
        let expiresAt = try #require(issued.json["expiresAt"] as? Int)
        #expect(abs(expiresAt - Int(Date().timeIntervalSince1970) - 300) < 60)

        let response = try sign(token, key: f.key, in: f.directory)
        let answer = try f.verify(token, response)
        #expect(answer.status == 200, "\(answer)")
        #expect(answer.json["fingerprint"] as? String == (try fingerprint(ofKey: f.key)))
        #expect(answer.json["type"] as? String == "ssh-ed25519")
        #expect(answer.json["comment"] as? String == "alice@test")
        #expect(answer.json["line"] as? Int == 1)
        #expect(Set(answer.json.keys) == ["fingerprint", "type", "comment", "line"])

        let replay = try f.verify(token, response)
        #expect(replay.status == 409, "\(replay)")
        #expect(replay.json["error"] as? String == "the token has already been used")

        // One log line per verification, with the outcome, key and peer, and never the token.
        let log = f.service.logText()
        let lines = log.split(separator: "\n").filter { $0.contains(" verification ") }
        #expect(lines.count == 2, "\(log)")
        #expect(lines.first?.contains("outcome=accepted") == true)
        #expect(lines.first?.contains("fingerprint=\(try fingerprint(ofKey: f.key))") == true)
        #expect(lines.first?.contains("peer=127.0.0.1") == true)
        #expect(lines.last?.contains("outcome=replayed") == true)
        #expect(!log.contains(token))
    }

    @Test("a Python urllib client: round trip 200, replay 409")
    func pythonClient() throws {
        let f = try Fixture()
        defer { f.service.stop() }
        let script = try writePythonClient(f.directory)
        let out = try runPython(script, ["roundtrip", f.service.url, f.key, f.directory.url.path])
        let first = try #require(out["first"] as? [Any])
        #expect(first.first as? Int == 200)
        #expect((first.last as? [String: Any])?["fingerprint"] as? String == (try fingerprint(ofKey: f.key)))
        #expect((out["second"] as? [Any])?.first as? Int == 409)
    }

    @Test("refusals: 401 unlisted key, bad signature and namespace; 410 expired; 400 malformed, foreign, path")
    func refusals() throws {
        let f = try Fixture()
        defer { f.service.stop() }

        let mallory = try makeKey(f.directory, "mallory", comment: "mallory@test")
        let t1 = try f.issue()
        let unlisted = try f.verify(t1, try sign(t1, key: mallory, in: f.directory))
        #expect(unlisted.status == 401, "\(unlisted)")

        // alice's signature of another token: her key, not this token's signature.
        let t2 = try f.issue()
        let other = try f.issue()
        let badSignature = try f.verify(t2, try sign(other, key: f.key, in: f.directory))
        #expect(badSignature.status == 401, "\(badSignature)")
        #expect((badSignature.json["error"] as? String)?.contains("signature") == true)

        let t3 = try f.issue()
        let wrongNamespace = try f.verify(t3, try sign(t3, key: f.key, in: f.directory, namespace: "file"))
        #expect(wrongNamespace.status == 401, "\(wrongNamespace)")

        // The refused tokens were not used up.
        #expect(try f.verify(t2, try sign(t2, key: f.key, in: f.directory)).status == 200)

        let short = try f.issue(ttl: 1)
        let shortResponse = try sign(short, key: f.key, in: f.directory)
        sleep(3)
        let expired = try f.verify(short, shortResponse)
        #expect(expired.status == 410, "\(expired)")

        let url = f.service.url + "/v1/verifications"
        for body in [
            "{not json", "[1,2]", "{\"token\":1,\"response\":\"x\"}", "{\"response\":\"x\"}", "{\"token\":\"x\"}", "",
        ] {
            let answer = try curlJSON(url, body, in: f.directory)
            #expect(answer.status == 400, "\(body): \(answer)")
            #expect((answer.json["error"] as? String)?.isEmpty == false, "\(body): \(answer)")
        }
        let t4 = try f.issue()
        let malformedToken = try f.verify("not-a-token", try sign(t4, key: f.key, in: f.directory))
        #expect(malformedToken.status == 400, "\(malformedToken)")

        // A response is text, never a path: /etc/passwd is a malformed response.
        let path = try f.verify(t4, "/etc/passwd")
        #expect(path.status == 400, "\(path)")
        #expect((path.json["error"] as? String)?.contains("not an SSH signature") == true, "\(path)")
        #expect(try f.verify(t4, try sign(t4, key: f.key, in: f.directory)).status == 200)

        // A token of another deployment (another secret and audience).
        let foreignState = f.directory.path("foreign")
        let foreign = try runProcess(
            challengedPath,
            ["issue", "--state", foreignState, "--audience", "https://other.test"]
        ).checked("keysmith-challenged issue").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let foreignAnswer = try f.verify(foreign, try sign(foreign, key: f.key, in: f.directory))
        #expect(foreignAnswer.status == 400, "\(foreignAnswer)")

        // The same secret under another audience: the audience check answers.
        let sameSecret = f.directory.path("same")
        try FileManager.default.createDirectory(
            atPath: sameSecret,
            withIntermediateDirectories: false,
            attributes: [.posixPermissions: 0o700]
        )
        try FileManager.default.copyItem(atPath: f.state + "/secret", toPath: sameSecret + "/secret")
        let otherAudience = try runProcess(
            challengedPath,
            ["issue", "--state", sameSecret, "--audience", "https://other.test"]
        ).checked("keysmith-challenged issue").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let audienceAnswer = try f.verify(otherAudience, try sign(otherAudience, key: f.key, in: f.directory))
        #expect(audienceAnswer.status == 400, "\(audienceAnswer)")
        #expect((audienceAnswer.json["error"] as? String)?.contains("audience") == true, "\(audienceAnswer)")

        // Routes and methods: JSON bodies too.
        let notFound = try curl("GET", f.service.url + "/nothing")
        #expect(notFound.status == 404)
        #expect((notFound.json["error"] as? String)?.isEmpty == false, "\(notFound)")
        let wrongMethod = try curl("GET", f.service.url + "/v1/verifications")
        #expect(wrongMethod.status == 405)
        #expect((wrongMethod.json["error"] as? String)?.isEmpty == false, "\(wrongMethod)")
        #expect(f.service.isRunning)
    }

    @Test("a body over --max-body: 413, with and without a declared length; the service answers on")
    func oversizedBody() throws {
        let f = try Fixture(["--max-body", "4096"])
        defer { f.service.stop() }
        let big = f.directory.path("big.json")
        try writeText(big, "{\"token\":\"" + String(repeating: "a", count: 100_000) + "\",\"response\":\"x\"}")
        let declared = try curl("POST", f.service.url + "/v1/verifications", bodyFile: big)
        #expect(declared.status == 413, "\(declared)")
        #expect((declared.json["error"] as? String)?.contains("4096") == true, "\(declared)")
        let chunked = try curl(
            "POST",
            f.service.url + "/v1/verifications",
            bodyFile: big,
            extra: ["-H", "Transfer-Encoding: chunked"]
        )
        #expect(chunked.status == 413, "\(chunked)")
        let token = try f.issue()
        #expect(try f.verify(token, try sign(token, key: f.key, in: f.directory)).status == 200)
    }

    @Test(
        "a client trickling its headers, or its body, is disconnected after --timeout while others are answered",
        arguments: ["headers", "body"]
    )
    func slowloris(part: String) throws {
        let f = try Fixture(["--timeout", "2"])
        defer { f.service.stop() }
        let script = try writePythonClient(f.directory)
        let out = try runPython(
            script,
            ["slowloris", "127.0.0.1", String(f.service.port), f.service.url + "/healthz", "90", part]
        )
        #expect(out["closed"] as? Bool == true, "\(out)")
        #expect(out["other"] as? Int == 200, "\(out)")
        #expect(try curl("GET", f.service.url + "/healthz").status == 200)
    }

    @Test("authorized_keys changed on disk: a new key is accepted without a restart; an unreadable file is 503")
    func authorizedKeysReload() throws {
        let f = try Fixture()
        defer { f.service.stop() }
        let bob = try makeKey(f.directory, "bob", comment: "bob@test")
        let t1 = try f.issue()
        #expect(try f.verify(t1, try sign(t1, key: bob, in: f.directory)).status == 401)

        // Replaced as an editor does: a new file renamed over the old.
        let fresh = f.directory.path("authorized_keys.new")
        try writeText(fresh, try readText(f.key + ".pub") + readText(bob + ".pub"))
        #expect(rename(fresh, f.authorizedKeys) == 0)
        var answer = HTTPAnswer(status: 0, body: "")
        for _ in 0..<30 {
            let token = try f.issue()
            answer = try f.verify(token, try sign(token, key: bob, in: f.directory))
            if answer.status == 200 { break }
            sleep(1)
        }
        #expect(answer.status == 200, "\(answer)")
        #expect(answer.json["line"] as? Int == 2)
        #expect(answer.json["comment"] as? String == "bob@test")

        // A directory where the file was: a sentence and 503, no crash.
        #expect(rename(f.authorizedKeys, f.authorizedKeys + ".old") == 0)
        try FileManager.default.createDirectory(atPath: f.authorizedKeys, withIntermediateDirectories: false)
        let t2 = try f.issue()
        let unreadable = try f.verify(t2, try sign(t2, key: f.key, in: f.directory))
        #expect(unreadable.status == 503, "\(unreadable)")
        #expect((unreadable.json["error"] as? String)?.contains("authorized_keys") == true, "\(unreadable)")
        #expect(f.service.isRunning)
        try FileManager.default.removeItem(atPath: f.authorizedKeys)
        #expect(rename(f.authorizedKeys + ".old", f.authorizedKeys) == 0)
        #expect(try f.verify(t2, try sign(t2, key: f.key, in: f.directory)).status == 200)
        #expect(f.service.logText().contains("authorized keys unreadable"))
    }

    @Test("/healthz 200 while the store answers, 503 once used/ is gone; /metrics counts requests and outcomes")
    func healthAndMetrics() throws {
        let f = try Fixture()
        defer { f.service.stop() }
        let health = try curl("GET", f.service.url + "/healthz")
        #expect(health.status == 200)
        #expect(health.json["status"] as? String == "ok")

        let token = try f.issue()
        #expect(try f.verify(token, try sign(token, key: f.key, in: f.directory)).status == 200)
        #expect(try f.verify(token, try sign(token, key: f.key, in: f.directory)).status == 409)
        let metrics = try curl("GET", f.service.url + "/metrics")
        #expect(metrics.status == 200)
        let text = metrics.body
        #expect(text.contains(#"keysmith_challenge_verifications_total{outcome="accepted"} 1"#), "\(text)")
        #expect(text.contains(#"keysmith_challenge_verifications_total{outcome="replayed"} 1"#), "\(text)")
        #expect(text.contains(#"keysmith_challenge_http_requests_total{route="/v1/verifications",status="200"} 1"#))
        #expect(text.contains(#"keysmith_challenge_http_requests_total{route="/v1/verifications",status="409"} 1"#))
        #expect(text.contains(#"keysmith_challenge_request_duration_seconds_bucket{route="/v1/verifications""#))
        #expect(text.contains("keysmith_challenge_store_errors_total 0"))

        try FileManager.default.removeItem(atPath: f.state + "/used")
        let down = try curl("GET", f.service.url + "/healthz")
        #expect(down.status == 503, "\(down)")
        #expect((down.json["error"] as? String)?.contains("used") == true, "\(down)")
        let t2 = try f.issue()
        let refused = try f.verify(t2, try sign(t2, key: f.key, in: f.directory))
        #expect(refused.status == 503, "\(refused)")
        let after = try curl("GET", f.service.url + "/metrics").body
        #expect(after.contains("keysmith_challenge_store_errors_total 2"), "\(after)")
        #expect(after.contains(#"keysmith_challenge_http_requests_total{route="/healthz",status="503"} 1"#))
    }

    /// The `--state` of a store of `kind` for the replicas of one test: a state directory in
    /// `directory`, or a new database on the process's PostgreSQL server.
    static func sharedState(_ kind: String, in directory: TempDir) throws -> String {
        guard kind == "postgres" else { return directory.path("state") }
        let server = try PostgresFixture.shared()
        return server.url(database: try server.createDatabase())
    }

    @Test(
        "three replicas on one store: A's token verified by B; one answer to all three, 50 times: 50 × 200, 100 × 409",
        arguments: ["directory", "postgres"]
    )
    func replicas(store: String) throws {
        let directory = try TempDir()
        let key = try makeKey(directory, "alice", comment: "alice@test")
        let keys = directory.path("authorized_keys")
        try writeText(keys, try readText(key + ".pub"))
        let arguments = [
            "--state", try Self.sharedState(store, in: directory), "--audience", "https://app.test",
            "--authorized-keys", keys,
        ]
        let replicas = try (0..<3).map { try ServiceProcess(directory: directory, name: "replica\($0)", arguments) }
        defer { for replica in replicas { replica.stop() } }

        let issued = try curl("POST", replicas[0].url + "/v1/challenges")
        let token = try #require(issued.json["token"] as? String)
        let response = try sign(token, key: key, in: directory)
        let body = "{\"token\":\(jsonString(token)),\"response\":\(jsonString(response))}"
        #expect(try curlJSON(replicas[1].url + "/v1/verifications", body, in: directory).status == 200)
        #expect(try curlJSON(replicas[2].url + "/v1/verifications", body, in: directory).status == 409)

        let script = try writePythonClient(directory)
        let urls = replicas.map(\.url).joined(separator: ",")
        let out = try runPython(script, ["race", urls, key, "50", directory.url.path, "0", "0"])
        let rows = try #require(out["rows"] as? [[Any]])
        #expect(rows.count == 50)
        let statuses = rows.flatMap { $0.compactMap { $0 as? Int } }
        #expect(statuses.filter { $0 == 200 }.count == 50, "\(rows)")
        #expect(statuses.filter { $0 == 409 }.count == 100, "\(rows)")
        for row in rows { #expect(row.compactMap { $0 as? Int }.filter { $0 == 200 }.count == 1, "\(row)") }
    }

    @Test(
        "a replica killed mid-load: the others keep answering, and no token is accepted twice",
        arguments: ["directory", "postgres"]
    )
    func replicaKilled(store: String) throws {
        let directory = try TempDir()
        let key = try makeKey(directory, "alice", comment: "alice@test")
        let keys = directory.path("authorized_keys")
        try writeText(keys, try readText(key + ".pub"))
        let arguments = [
            "--state", try Self.sharedState(store, in: directory), "--audience", "https://app.test",
            "--authorized-keys", keys,
        ]
        let replicas = try (0..<3).map { try ServiceProcess(directory: directory, name: "replica\($0)", arguments) }
        defer { for replica in replicas { replica.stop() } }

        let script = try writePythonClient(directory)
        let urls = replicas.map(\.url).joined(separator: ",")
        // The third replica is killed (SIGKILL) before the 15th token of 40.
        let out = try runPython(script, ["race", urls, key, "40", directory.url.path, String(replicas[2].pid), "15"])
        replicas[2].kill9()
        let rows = try #require(out["rows"] as? [[Any]])
        #expect(rows.count == 40)
        for (n, row) in rows.enumerated() {
            let statuses = row.compactMap { $0 as? Int }
            // Never twice; once the killed replica is gone, the two others decide every token.
            #expect(statuses.filter { $0 == 200 }.count <= 1, "token \(n): \(row)")
            #expect(row[0] as? Int == 200 || row[0] as? Int == 409, "token \(n): \(row)")
            #expect(row[1] as? Int == 200 || row[1] as? Int == 409, "token \(n): \(row)")
            if n >= 15 {
                #expect(statuses.filter { $0 == 200 }.count == 1, "token \(n): \(row)")
                #expect((row[2] as? String)?.hasPrefix("error") == true, "token \(n): \(row)")
            }
        }
        #expect(replicas[0].isRunning && replicas[1].isRunning)
    }

    @Test(
        "PostgreSQL stopped mid-load: verifications answer 503 and accept nothing; after its restart every token is accepted once at most"
    )
    func databaseStopped() throws {
        let directory = try TempDir()
        let key = try makeKey(directory, "alice", comment: "alice@test")
        let keys = directory.path("authorized_keys")
        try writeText(keys, try readText(key + ".pub"))
        // A server of the test's own, since it is stopped and started again.
        let server = try PostgresFixture()
        let arguments = [
            "--state", server.url(database: try server.createDatabase()), "--audience", "https://app.test",
            "--authorized-keys", keys, "--store-timeout", "2",
        ]
        let replicas = try (0..<2).map { try ServiceProcess(directory: directory, name: "replica\($0)", arguments) }
        defer { for replica in replicas { replica.stop() } }

        // Tokens need no store to be issued or signed: all of them now.
        let bodies = try (0..<16).map { _ in
            let issued = try curl("POST", replicas[0].url + "/v1/challenges")
            let token = try #require(issued.json["token"] as? String, "\(issued)")
            let response = try sign(token, key: key, in: directory)
            return "{\"token\":\(jsonString(token)),\"response\":\(jsonString(response))}"
        }
        /// Each token's answers, from either replica, in order.
        var answers = [[Int]](repeating: [], count: bodies.count)
        func send(_ index: Int, to replica: Int) throws -> HTTPAnswer {
            let answer = try curlJSON(replicas[replica].url + "/v1/verifications", bodies[index], in: directory)
            answers[index].append(answer.status)
            return answer
        }

        // Before: each token to both replicas, one 200 and one 409.
        for index in 0..<6 {
            #expect(try send(index, to: index % 2).status == 200)
            #expect(try send(index, to: (index + 1) % 2).status == 409)
        }
        server.stop()
        // Meanwhile: used and unused tokens alike are 503 with a sentence; nothing is accepted.
        for index in 3..<10 {
            for replica in 0..<2 {
                let answer = try send(index, to: replica)
                #expect(answer.status == 503, "\(answer)")
                #expect((answer.json["error"] as? String)?.isEmpty == false, "\(answer)")
            }
        }
        #expect(try curl("GET", replicas[1].url + "/healthz").status == 503)
        // A token is still issued: issuing needs only the secret each replica holds.
        #expect(try curl("POST", replicas[1].url + "/v1/challenges").status == 200)

        try server.start()
        var healthy = false
        for _ in 0..<480 where !healthy {
            let first = try curl("GET", replicas[0].url + "/healthz").status
            let second = try curl("GET", replicas[1].url + "/healthz").status
            healthy = first == 200 && second == 200
            if !healthy { usleep(250_000) }
        }
        #expect(healthy, "\(replicas[0].logText())")
        // After: every token to both replicas again.
        for index in 0..<bodies.count {
            _ = try send(index, to: index % 2)
            _ = try send(index, to: (index + 1) % 2)
        }
        for (index, statuses) in answers.enumerated() {
            #expect(statuses.filter { $0 == 200 }.count == 1, "token \(index): \(statuses)")
            #expect(statuses.allSatisfy { [200, 409, 503].contains($0) }, "token \(index): \(statuses)")
        }
        // The tokens refused during the outage were accepted only after it.
        for index in 6..<10 {
            #expect(answers[index].prefix(while: { $0 == 503 }).count == 2, "token \(index): \(answers[index])")
        }
        #expect(replicas[0].isRunning && replicas[1].isRunning)
    }
}
