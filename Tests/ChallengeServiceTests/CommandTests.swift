import Foundation
import KeysmithTestSupport
import Testing

/// keysmith-challenged issue and verify through the store --state names: the output,
/// sentences and exit codes of keysmith challenge issue and verify.
@Suite("keysmith-challenged issue and verify")
struct CommandTests {
    @Test("issue, then verify a response signed by ssh-keygen: the fingerprint and comment; a replay exits 1")
    func issueAndVerify() throws {
        let directory = try TempDir()
        let key = try makeKey(directory, "alice", comment: "alice@test")
        let keys = directory.path("authorized_keys")
        try writeText(keys, try readText(key + ".pub"))
        let state = directory.path("state")
        let issued = try runProcess(challengedPath, ["issue", "--state", state, "--audience", "https://app.test"])
            .checked("keysmith-challenged issue")
        let token = issued.stdout.trimmingCharacters(in: .newlines)
        #expect(issued.stdout == token + "\n")
        let response = try sign(token, key: key, in: directory)
        let responseFile = directory.path("response")
        try writeText(responseFile, response)

        let verified = try runProcess(
            challengedPath,
            ["verify", "--state", state, "--authorized-keys", keys, "--response-file", responseFile, token]
        )
        #expect(verified.status == 0, "\(verified)")
        #expect(verified.stdout == "\(try fingerprint(ofKey: key)) alice@test\n")

        let replayed = try runProcess(
            challengedPath,
            ["verify", "--state", state, "--authorized-keys", keys, "--response-file", responseFile, token]
        )
        #expect(replayed.status == 1)
        #expect(replayed.stderr == "keysmith: the token has already been used.\n")

        // --json, and the response given after the token, as keysmith takes it.
        let second = try runProcess(challengedPath, ["issue", "--state", state, "--ttl", "60"]).checked("issue")
            .stdout.trimmingCharacters(in: .newlines)
        let json = try runProcess(
            challengedPath,
            [
                "verify", "--state", state, "--authorized-keys", keys, "--json", "--", second,
                try sign(second, key: key, in: directory),
            ]
        )
        #expect(json.status == 0, "\(json)")
        #expect(
            json.stdout
                == "{\"fingerprint\":\"\(try fingerprint(ofKey: key))\",\"comment\":\"alice@test\",\"type\":\"ssh-ed25519\",\"line\":1}\n"
        )
    }

    @Test("the same output and sentences as keysmith challenge verify, on one state directory")
    func sameAsKeysmith() throws {
        let keysmith = try #require(keysmithPath, "keysmith is built beside keysmith-challenged")
        let directory = try TempDir()
        let key = try makeKey(directory, "alice", comment: "alice@test")
        let mallory = try makeKey(directory, "mallory", comment: "mallory@test")
        let keys = directory.path("authorized_keys")
        try writeText(keys, try readText(key + ".pub"))
        let state = directory.path("state")
        _ = try runProcess(keysmith, ["challenge", "issue", "--state", state, "--audience", "https://app.test"])
            .checked("keysmith")
        for signer in [key, mallory] {
            var outputs: [ProcessResult] = []
            for program in [[keysmith, "challenge"], [challengedPath]] {
                let token = try runProcess(program[0], Array(program.dropFirst()) + ["issue", "--state", state])
                    .checked("issue").stdout.trimmingCharacters(in: .newlines)
                let file = directory.path("response-\(UUID().uuidString)")
                try writeText(file, try sign(token, key: signer, in: directory))
                outputs.append(
                    try runProcess(
                        program[0],
                        Array(program.dropFirst()) + [
                            "verify", "--state", state, "--authorized-keys", keys, "--response-file", file, token,
                        ]
                    )
                )
            }
            #expect(outputs[0].status == outputs[1].status)
            #expect(outputs[0].stdout == outputs[1].stdout)
            #expect(outputs[0].stderr == outputs[1].stderr)
        }
    }

    @Test("a postgres:// state where nothing listens, an unknown scheme, and usage errors")
    func refusals() throws {
        let directory = try TempDir()
        let postgres = try runProcess(
            challengedPath,
            ["issue", "--state", "postgres://keysmith:secret@127.0.0.1:1/keysmith", "--audience", "a"]
        )
        #expect(postgres.status == 1)
        #expect(
            postgres.stderr == "keysmith: the PostgreSQL store at 127.0.0.1:1/keysmith refused the connection.\n"
        )
        let unknown = try runProcess(challengedPath, ["issue", "--state", "redis://localhost", "--audience", "a"])
        #expect(unknown.status == 1)
        #expect(unknown.stderr.hasPrefix("keysmith: the state redis://… is no store keysmith knows"))
        let noAudience = try runProcess(challengedPath, ["issue", "--state", directory.path("state")])
        #expect(noAudience.status == 1)
        #expect(noAudience.stderr.contains("--audience"))
        let usage = try runProcess(challengedPath, ["verify", "--state", directory.path("state"), "TOKEN"])
        #expect(usage.status == 64)
        let listen = try runProcess(
            challengedPath,
            ["serve", "--listen", "nowhere", "--state", directory.path("s"), "--authorized-keys", "/dev/null"]
        )
        #expect(listen.status == 64)
        #expect(listen.stderr.contains("--listen takes ADDRESS:PORT"))
        let missingKeys = try runProcess(
            challengedPath,
            [
                "serve", "--listen", "127.0.0.1:0", "--state", directory.path("s"), "--audience", "a",
                "--authorized-keys", directory.path("missing"),
            ]
        )
        #expect(missingKeys.status == 1)
        #expect(missingKeys.stderr.contains("\nkeysmith: the authorized_keys file cannot be read"), "\(missingKeys)")
    }

    @Test(
        "keysmith challenge issue and verify with --state postgres:// run here: a token accepted once, recorded in the database"
    )
    func postgresThroughKeysmith() throws {
        let keysmith = try #require(keysmithPath)
        let server = try PostgresFixture.shared()
        let database = try server.createDatabase()
        let url = server.url(database: database)
        let directory = try TempDir()
        let key = try makeKey(directory, "alice", comment: "alice@test")
        let keys = directory.path("authorized_keys")
        try writeText(keys, try readText(key + ".pub"))
        let issued = try runProcess(keysmith, ["challenge", "issue", "--state", url, "--audience", "app.test"])
        #expect(issued.status == 0, "\(issued)")
        let token = issued.stdout.trimmingCharacters(in: .newlines)
        try writeText(directory.path("response"), try sign(token, key: key, in: directory))
        let verify = [
            "challenge", "verify", "--state", url, "--authorized-keys", keys, "--response-file",
            directory.path("response"), token,
        ]
        let first = try runProcess(keysmith, verify)
        #expect(first.status == 0, "\(first)")
        #expect(first.stdout == "\(try fingerprint(ofKey: key)) alice@test\n")
        let second = try runProcess(keysmith, verify)
        #expect(second.status == 1)
        #expect(second.stderr == "keysmith: the token has already been used.\n")
        #expect(try server.psql("SELECT count(*) FROM keysmith_challenge_used", database: database) == "1")
        #expect(
            try server.psql("SELECT audience FROM keysmith_challenge_secret", database: database) == "app.test"
        )
    }
}
