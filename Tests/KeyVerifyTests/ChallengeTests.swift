import Foundation
import KeysmithTestSupport
import SSHCrypto
import SSHKeys
import Testing

@testable import KeyVerify

/// A key pair written to disk (for ssh-keygen) and an authorized_keys file listing it.
struct ChallengeKey {
    let dir: TempDir
    let key: SSHPrivateKey
    let path: String

    init(_ type: SSHKeyType, comment: String = "alice@example") throws {
        self.dir = try TempDir()
        self.key = try SSHPrivateKey(generating: type, rsaBits: 2048, comment: comment)
        self.path = self.dir.path("id")
        let contents = try self.key.fileRepresentation()
        try contents.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: self.path)) }
        chmod(self.path, 0o600)
    }

    func authorizedKeys(options: String? = nil) -> AuthorizedKeysFile {
        var line = self.key.publicKey.openSSHLine(comment: self.key.comment)
        if let options { line = options + " " + line }
        return AuthorizedKeysFile(contents: Array((line + "\n").utf8), path: "authorized_keys")
    }
}

@Suite("Challenges")
struct ChallengeTests {
    static let keyTypes: [SSHKeyType] = [.ed25519, .rsa, .ecdsa(.p256), .ecdsa(.p384), .ecdsa(.p521)]

    func verifier() throws -> (ChallengeVerifier, TempDir) {
        let dir = try TempDir()
        return (try ChallengeVerifier(stateDirectory: dir.path("state"), audience: "verifier.example"), dir)
    }

    func code(_ body: () throws -> Void) -> KeyVerifyError.Code? {
        do {
            try body()
            return nil
        } catch {
            return (error as? KeyVerifyError)?.code
        }
    }

    @Test("round trip for each key type", arguments: keyTypes)
    func roundTrip(type: SSHKeyType) throws {
        let (verifier, _dir) = try self.verifier()
        _ = _dir
        let key = try ChallengeKey(type)
        let token = try verifier.issue()
        #expect(token.text.count == 131)
        #expect(token.expiresAt - token.issuedAt == 300)
        let response = try Challenge.respond(to: token.text, with: key.key, audience: "verifier.example")
        #expect(response.hasPrefix("-----BEGIN SSH SIGNATURE-----\n"))
        let result = try verifier.verify(token: token.text, response: response, authorizedKeys: key.authorizedKeys())
        #expect(result.key == key.key.publicKey)
        #expect(result.comment == "alice@example")
        #expect(result.fingerprint == key.key.publicKey.fingerprint())
        #expect(result.entry.lineNumber == 1)
    }

    @Test("ssh-keygen -Y sign answers as well, with or without a final newline", arguments: keyTypes)
    func sshKeygenResponse(type: SSHKeyType) throws {
        let (verifier, dir) = try self.verifier()
        let key = try ChallengeKey(type)
        for ending in ["", "\n"] {
            let token = try verifier.issue()
            let messagePath = dir.path("token")
            try writeText(messagePath, token.text + ending)
            let run = try runProcess(
                Tool.sshKeygen,
                ["-Y", "sign", "-n", "challenge@keysmith", "-f", key.path, messagePath]
            )
            #expect(run.status == 0, "\(run)")
            let response = try readText(messagePath + ".sig")
            try FileManager.default.removeItem(atPath: messagePath + ".sig")
            let result = try verifier.verify(
                token: token.text,
                response: response,
                authorizedKeys: key.authorizedKeys()
            )
            #expect(result.key == key.key.publicKey)
        }
    }

    @Test("the audience: in the signed token, required by respond and by the verifier, kept in the state")
    func audience() throws {
        let dir = try TempDir()
        let a = try ChallengeVerifier(stateDirectory: dir.path("a"), audience: "https://a.example/login")
        let b = try ChallengeVerifier(stateDirectory: dir.path("b"), audience: "b.example")
        let key = try ChallengeKey(.ed25519)
        let token = try a.issue()
        #expect(token.audience == "https://a.example/login")
        // The signed bytes are the token's text, which carries the audience.
        let decoded = try #require(Base64URL.decode(token.signedBytes))
        #expect(decoded.starts(with: [2]))
        #expect(String(decoding: decoded, as: UTF8.self).contains("https://a.example/login"))
        #expect(try ChallengeToken(text: token.text).audience == token.audience)

        // B relays A's token: the user, expecting B, refuses to sign it.
        #expect(
            code { _ = try Challenge.respond(to: token.text, with: key.key, audience: "b.example") } == .wrongAudience
        )
        let response = try Challenge.respond(to: token.text, with: key.key, audience: "https://a.example/login")
        #expect(
            code { _ = try b.verify(token: token.text, response: response, authorizedKeys: key.authorizedKeys()) }
                == .foreignToken
        )
        _ = try a.verify(token: token.text, response: response, authorizedKeys: key.authorizedKeys())

        // The state keeps the audience; another is refused, none is an error on first use.
        #expect(try ChallengeVerifier(stateDirectory: dir.path("a")).audience == "https://a.example/login")
        #expect(
            code { _ = try ChallengeVerifier(stateDirectory: dir.path("a"), audience: "b.example") } == .wrongAudience
        )
        #expect(code { _ = try ChallengeVerifier(stateDirectory: dir.path("c")) } == .invalidParameter)
        for bad in ["", "a b", "caf\u{e9}", String(repeating: "x", count: 256), "tab\there"] {
            #expect(
                code { _ = try ChallengeVerifier(stateDirectory: dir.path("d"), audience: bad) } == .invalidParameter
            )
        }
        _ = try ChallengeVerifier(stateDirectory: dir.path("e"), audience: String(repeating: "x", count: 255))

        // A token whose MAC is good but whose audience is not the verifier's (the audience
        // file was edited): refused.
        try writeText(dir.path("a") + "/audience", "other.example\n")
        let renamed = try ChallengeVerifier(stateDirectory: dir.path("a"))
        let fresh = try a.issue()
        let freshResponse = try Challenge.respond(to: fresh.text, with: key.key, audience: fresh.audience)
        #expect(
            code {
                _ = try renamed.verify(token: fresh.text, response: freshResponse, authorizedKeys: key.authorizedKeys())
            }
                == .wrongAudience
        )

        // Version 1 tokens, which named no audience, are refused.
        let v1 = Base64URL.encode([1] + [UInt8](repeating: 7, count: 32 + 16 + 32))
        #expect(code { _ = try ChallengeToken(text: v1) } == .malformedToken)
        #expect(code { _ = try Challenge.respond(to: v1, with: key.key, audience: "a.example") } == .malformedToken)
    }

    @Test("a key not in authorized_keys costs no signature check and is never prepared")
    func lookupBeforeVerification() throws {
        let (verifier, _dir) = try self.verifier()
        _ = _dir
        let listed = try ChallengeKey(.ed25519)
        let stranger = try ChallengeKey(.ed25519)
        guard case .ed25519(let strangerKey) = stranger.key.publicKey.backing else { throw FixtureError("not ed25519") }
        for _ in 0..<3 {
            // A good signature and a bad one by a key the file does not list.
            let token = try verifier.issue()
            let good = try Challenge.respond(to: token.text, with: stranger.key, audience: verifier.audience)
            #expect(
                code {
                    _ = try verifier.verify(token: token.text, response: good, authorizedKeys: listed.authorizedKeys())
                }
                    == .notAuthorized
            )
            let other = try verifier.issue()
            #expect(
                code {
                    _ = try verifier.verify(token: other.text, response: good, authorizedKeys: listed.authorizedKeys())
                }
                    == .notAuthorized
            )
        }
        // Verifying would have recorded the key and prepared a table for it on its second use.
        #expect(!Ed25519KeyCache.shared.isPrepared(strangerKey))
        // Listed, the same key answers.
        let token = try verifier.issue()
        let foreign = try Challenge.respond(to: token.text, with: stranger.key, audience: verifier.audience)
        let both = AuthorizedKeysFile(
            contents: Array(
                (listed.key.publicKey.openSSHLine() + "\n" + stranger.key.publicKey.openSSHLine() + "\n").utf8
            ),
            path: "authorized_keys"
        )
        _ = try verifier.verify(token: token.text, response: foreign, authorizedKeys: both)
    }

    @Test("our response verifies with ssh-keygen -Y verify")
    func verifiedBySSHKeygen() throws {
        let (verifier, dir) = try self.verifier()
        let key = try ChallengeKey(.ed25519)
        let token = try verifier.issue()
        try writeText(
            dir.path("sig"),
            try Challenge.respond(to: token.text, with: key.key, audience: "verifier.example")
        )
        try writeText(dir.path("allowed"), "alice " + key.key.publicKey.openSSHLine() + "\n")
        let run = try runProcess(
            Tool.sshKeygen,
            [
                "-Y", "verify", "-f", dir.path("allowed"), "-I", "alice", "-n", "challenge@keysmith", "-s",
                dir.path("sig"),
            ],
            input: Data(token.text.utf8)
        )
        #expect(run.status == 0, "\(run)")
    }

    @Test("refusals: replay, expiry, tampering, foreign state, namespace, another challenge, authorized_keys")
    func refusals() throws {
        let (verifier, dir) = try self.verifier()
        let key = try ChallengeKey(.ed25519)
        let keys = key.authorizedKeys()

        // Replay: the second verification of the same answer is refused.
        let token = try verifier.issue()
        let response = try Challenge.respond(to: token.text, with: key.key, audience: "verifier.example")
        _ = try verifier.verify(token: token.text, response: response, authorizedKeys: keys)
        #expect(
            code { _ = try verifier.verify(token: token.text, response: response, authorizedKeys: keys) } == .replayed
        )

        // Expiry: a token issued 301 s ago with the default lifetime.
        let old = try verifier.issue(now: ChallengeVerifier.currentTime() - 301)
        let oldResponse = try Challenge.respond(to: old.text, with: key.key, audience: "verifier.example")
        #expect(
            code { _ = try verifier.verify(token: old.text, response: oldResponse, authorizedKeys: keys) } == .expired
        )
        let short = try verifier.issue(lifetime: 1, now: ChallengeVerifier.currentTime() - 2)
        #expect(code { try verifier.checkToken(short) } == .expired)

        // A changed token: its MAC no longer verifies (the expiry moved by one second).
        let fresh = try verifier.issue()
        var bytes = try #require(Base64URL.decode(Array(fresh.text.utf8)))
        bytes[1 + 32 + 8 + 7] ^= 1
        let tampered = Base64URL.encode(bytes)
        let tamperedResponse = try Challenge.respond(to: tampered, with: key.key, audience: "verifier.example")
        #expect(
            code { _ = try verifier.verify(token: tampered, response: tamperedResponse, authorizedKeys: keys) }
                == .foreignToken
        )
        #expect(
            code { _ = try verifier.verify(token: "garbage", response: response, authorizedKeys: keys) }
                == .malformedToken
        )
        #expect(code { _ = try ChallengeToken(text: fresh.text + "A") } == .malformedToken)

        // A token from another server's state.
        let other = try ChallengeVerifier(stateDirectory: dir.path("other"), audience: "verifier.example")
        let foreign = try other.issue()
        let foreignResponse = try Challenge.respond(to: foreign.text, with: key.key, audience: "verifier.example")
        #expect(
            code { _ = try verifier.verify(token: foreign.text, response: foreignResponse, authorizedKeys: keys) }
                == .foreignToken
        )

        // A response to another challenge.
        let first = try verifier.issue()
        let second = try verifier.issue()
        let toFirst = try Challenge.respond(to: first.text, with: key.key, audience: "verifier.example")
        #expect(
            code { _ = try verifier.verify(token: second.text, response: toFirst, authorizedKeys: keys) }
                == .badSignature
        )

        // Wrong namespace.
        let wrong = try SSHSIGSignature.sign(second.signedBytes, with: key.key, namespace: "file").armored
        #expect(
            code { _ = try verifier.verify(token: second.text, response: wrong, authorizedKeys: keys) }
                == .wrongNamespace
        )
        #expect(
            code { _ = try verifier.verify(token: second.text, response: "not a signature", authorizedKeys: keys) }
                == .malformedResponse
        )

        // The key is missing, expired by expiry-time, or excluded by from=.
        let toSecond = try Challenge.respond(to: second.text, with: key.key, audience: "verifier.example")
        let stranger = try ChallengeKey(.ed25519).authorizedKeys()
        #expect(
            code { _ = try verifier.verify(token: second.text, response: toSecond, authorizedKeys: stranger) }
                == .notAuthorized
        )
        let expired = key.authorizedKeys(options: "expiry-time=\"20200101\"")
        #expect(
            code { _ = try verifier.verify(token: second.text, response: toSecond, authorizedKeys: expired) }
                == .notAuthorized
        )
        let fromTen = key.authorizedKeys(options: "from=\"10.0.0.0/8\"")
        #expect(
            code {
                _ = try verifier.verify(
                    token: second.text,
                    response: toSecond,
                    authorizedKeys: fromTen,
                    from: "192.0.2.1"
                )
            } == .notAuthorized
        )
        #expect(
            code { _ = try verifier.verify(token: second.text, response: toSecond, authorizedKeys: fromTen) }
                == .notAuthorized
        )
        // None of the refusals used the token up.
        let ok = try verifier.verify(token: second.text, response: toSecond, authorizedKeys: fromTen, from: "10.9.8.7")
        #expect(ok.entry.options.from == "10.0.0.0/8")
    }

    @Test("state: 0700 directory, 0600 secret, one secret under concurrent first use, pruning")
    func state() throws {
        let dir = try TempDir()
        let path = dir.path("state")
        let tokens = LockedTokens()
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            if let v = try? ChallengeVerifier(stateDirectory: path, audience: "verifier.example"),
                let t = try? v.issue()
            {
                tokens.append(t.text)
            }
        }
        #expect(try fileMode(path) == 0o700)
        #expect(try fileMode(path + "/secret") == 0o600)
        #expect(try readBytes(path + "/secret").count == 32)
        // Every process ended up with the same secret: each token checks against it.
        let verifier = try ChallengeVerifier(stateDirectory: path, audience: "verifier.example")
        #expect(tokens.all.count == 8)
        for text in tokens.all { try verifier.checkToken(try ChallengeToken(text: text)) }

        // A state directory others can write to is refused.
        let open = dir.path("open")
        try FileManager.default.createDirectory(atPath: open, withIntermediateDirectories: false)
        chmod(open, 0o777)
        #expect(code { _ = try ChallengeVerifier(stateDirectory: open, audience: "verifier.example") } == .stateError)
        // So is a state directory whose used/ others can write to (they could remove records).
        let openUsed = dir.path("open-used")
        _ = try ChallengeVerifier(stateDirectory: openUsed, audience: "verifier.example")
        for mode: mode_t in [0o777, 0o720, 0o702] {
            chmod(openUsed + "/used", mode)
            #expect(code { _ = try ChallengeVerifier(stateDirectory: openUsed) } == .stateError)
        }
        chmod(openUsed + "/used", 0o755)
        _ = try ChallengeVerifier(stateDirectory: openUsed)

        // Records of used tokens go once their token has expired (plus the grace).
        let key = try ChallengeKey(.ed25519)
        let now = ChallengeVerifier.currentTime()
        let token = try verifier.issue(lifetime: 10, now: now - 5)
        _ = try verifier.verify(
            token: token.text,
            response: try Challenge.respond(to: token.text, with: key.key, audience: "verifier.example"),
            authorizedKeys: key.authorizedKeys()
        )
        #expect(try FileManager.default.contentsOfDirectory(atPath: path + "/used").count == 1)
        verifier.pruneUsedTokens(now: now + 10)
        #expect(try FileManager.default.contentsOfDirectory(atPath: path + "/used").count == 1)
        verifier.pruneUsedTokens(now: now + 5 + ChallengeVerifier.pruneGrace + 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: path + "/used").isEmpty)
    }

    @Test("a used token is recorded as a hard link to the state directory's record file")
    func recordsAreLinks() throws {
        let (verifier, dir) = try self.verifier()
        let key = try ChallengeKey(.ed25519)
        func answer() throws -> ChallengeToken {
            let token = try verifier.issue()
            _ = try verifier.verify(
                token: token.text,
                response: try Challenge.respond(to: token.text, with: key.key, audience: "verifier.example"),
                authorizedKeys: key.authorizedKeys()
            )
            return token
        }
        let record = dir.path("state") + "/record"
        func status(_ path: String) throws -> stat {
            var st = stat()
            guard lstat(path, &st) == 0 else { throw POSIXError(.ENOENT) }
            return st
        }
        #expect(try status(record).st_mode & 0o7777 == 0o600)
        #expect(try status(record).st_size == 0)
        _ = try answer()
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path("state") + "/used")
        #expect(names.count == 1)
        let used = try status(dir.path("state") + "/used/" + names[0])
        #expect(used.st_ino == (try status(record)).st_ino)
        #expect(used.st_nlink == 2)

        // Without the record file (removed, or a file system without hard links) each
        // record is a file of its own, and a replay is still refused.
        #expect(unlink(record) == 0)
        let token = try answer()
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path("state") + "/used").count == 2)
        let response = try Challenge.respond(to: token.text, with: key.key, audience: "verifier.example")
        #expect(
            code {
                _ = try verifier.verify(token: token.text, response: response, authorizedKeys: key.authorizedKeys())
            }
                == .replayed
        )
    }

    @Test("a verifier prunes at most once per interval, not on every verification")
    func pruningIsRateLimited() throws {
        let (verifier, dir) = try self.verifier()
        let key = try ChallengeKey(.ed25519)
        let keys = key.authorizedKeys()
        func answer() throws {
            let token = try verifier.issue()
            _ = try verifier.verify(
                token: token.text,
                response: try Challenge.respond(to: token.text, with: key.key, audience: "verifier.example"),
                authorizedKeys: keys
            )
        }
        try answer()  // the first verification prunes
        // A record long expired, planted after that pruning, outlives the next verifications.
        let stale = dir.path("state") + "/used/1000-00"
        #expect(FileManager.default.createFile(atPath: stale, contents: nil))
        try answer()
        try answer()
        #expect(FileManager.default.fileExists(atPath: stale))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path("state") + "/used").count == 4)
        // An explicit pruning still removes it at once.
        verifier.pruneUsedTokens(now: ChallengeVerifier.currentTime())
        #expect(!FileManager.default.fileExists(atPath: stale))
    }

    @Test("concurrent verifiers in one process: exactly one succeeds")
    func concurrentVerifiers() throws {
        let (verifier, _dir) = try self.verifier()
        _ = _dir
        let key = try ChallengeKey(.ed25519)
        let keys = key.authorizedKeys()
        let token = try verifier.issue()
        let response = try Challenge.respond(to: token.text, with: key.key, audience: "verifier.example")
        let successes = LockedTokens()
        DispatchQueue.concurrentPerform(iterations: 16) { _ in
            if (try? verifier.verify(token: token.text, response: response, authorizedKeys: keys)) != nil {
                successes.append("ok")
            }
        }
        #expect(successes.all.count == 1)
    }
}

/// Strings collected from concurrent workers.
final class LockedTokens: @unchecked Sendable {
    // @unchecked: every access holds the lock.
    private let lock = NSLock()
    private var values: [String] = []
    func append(_ s: String) { self.lock.withLock { self.values.append(s) } }
    var all: [String] { self.lock.withLock { self.values } }
}
