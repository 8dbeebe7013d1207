import KeysmithTestSupport
import SSHCrypto
import SSHKeys
import Testing

@testable import KeyVerify

@Suite("Challenge stores")
struct ChallengeStoreTests {
    func code(_ body: () async throws -> Void) async -> KeyVerifyError.Code? {
        do {
            try await body()
            return nil
        } catch {
            return (error as? KeyVerifyError)?.code
        }
    }

    @Test("a state directory as a store: a token verified through it is used up for the directory's verifiers too")
    func directoryStore() async throws {
        let dir = try TempDir()
        let store = DirectoryChallengeStore(directory: dir.path("state"))
        let verifier = try await store.verifier(audience: "verifier.example")
        try await store.checkAvailable()
        let key = try ChallengeKey(.ed25519)
        let token = try verifier.issue()
        let response = try Challenge.respond(to: token.text, with: key.key, audience: "verifier.example")
        let result = try await verifier.verify(
            token: token.text,
            response: response,
            authorizedKeys: key.authorizedKeys(),
            in: store
        )
        #expect(result.key == key.key.publicKey)
        // The same directory opened as `keysmith challenge verify` opens it sees the use.
        let again = try ChallengeVerifier(stateDirectory: dir.path("state"))
        #expect(
            await self.code {
                _ = try again.verify(token: token.text, response: response, authorizedKeys: key.authorizedKeys())
            } == .replayed
        )
        #expect(
            await self.code {
                _ = try await verifier.verify(
                    token: token.text,
                    response: response,
                    authorizedKeys: key.authorizedKeys(),
                    in: store
                )
            } == .replayed
        )
        // And the other way round: used by the directory's verifier, refused by the store.
        let second = try again.issue()
        let answer = try Challenge.respond(to: second.text, with: key.key, audience: "verifier.example")
        _ = try again.verify(token: second.text, response: answer, authorizedKeys: key.authorizedKeys())
        #expect(try await store.recordUse(ChallengeToken(text: second.text)) == false)
    }

    @Test("check verifies without using the token up; a failed check records nothing")
    func checkDoesNotUseUp() async throws {
        let dir = try TempDir()
        let store = DirectoryChallengeStore(directory: dir.path("state"))
        let verifier = try await store.verifier(audience: "verifier.example")
        let key = try ChallengeKey(.ed25519)
        let other = try ChallengeKey(.ed25519)
        let token = try verifier.issue()
        let response = try Challenge.respond(to: token.text, with: key.key, audience: "verifier.example")
        _ = try verifier.check(token: token.text, response: response, authorizedKeys: key.authorizedKeys())
        _ = try verifier.check(token: token.text, response: response, authorizedKeys: key.authorizedKeys())
        // An unlisted key is refused before the store is asked: the token stays unused.
        #expect(
            await self.code {
                _ = try await verifier.verify(
                    token: token.text,
                    response: response,
                    authorizedKeys: other.authorizedKeys(),
                    in: store
                )
            } == .notAuthorized
        )
        _ = try await verifier.verify(
            token: token.text,
            response: response,
            authorizedKeys: key.authorizedKeys(),
            in: store
        )
    }

    @Test("of many verifiers racing with one token through one store, exactly one accepts it")
    func race() async throws {
        let dir = try TempDir()
        let store = DirectoryChallengeStore(directory: dir.path("state"))
        let verifier = try await store.verifier(audience: "verifier.example")
        let key = try ChallengeKey(.ed25519)
        let keys = key.authorizedKeys()
        for _ in 0..<20 {
            // An hour to live: on a loaded machine the tasks may wait minutes for a thread of
            // the cooperative pool, and a token that expired meanwhile would be refused by all.
            let token = try verifier.issue(lifetime: 3600)
            let response = try Challenge.respond(to: token.text, with: key.key, audience: "verifier.example")
            let outcomes = await withTaskGroup(of: KeyVerifyError.Code?.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        do {
                            _ = try await verifier.verify(
                                token: token.text,
                                response: response,
                                authorizedKeys: keys,
                                in: store
                            )
                            return nil
                        } catch {
                            return (error as? KeyVerifyError)?.code ?? .invalidParameter
                        }
                    }
                }
                return await group.reduce(into: [KeyVerifyError.Code?]()) { $0.append($1) }
            }
            // Exactly one success; every other verifier is told the token was used.
            #expect(outcomes.filter { $0 == nil }.count == 1, "\(outcomes)")
            #expect(outcomes.filter { $0 == .replayed }.count == 7, "\(outcomes)")
        }
    }

    @Test("a verifier from a kept secret: tokens interchangeable with the directory's, audience and secret checked")
    func verifierFromSecret() async throws {
        let secret = ChallengeVerifier.newSecret()
        #expect(secret.count == ChallengeVerifier.secretSize)
        let a = try ChallengeVerifier(secret: secret, audience: "verifier.example")
        let b = try ChallengeVerifier(
            secret: SecureBytes(secret.withUnsafeBytes { Array($0) }),
            audience: "verifier.example"
        )
        #expect(a.stateDirectory == nil)
        let token = try a.issue()
        try b.checkToken(token)
        let stranger = try ChallengeVerifier(secret: ChallengeVerifier.newSecret(), audience: "verifier.example")
        #expect(await self.code { try stranger.checkToken(token) } == .foreignToken)
        #expect(
            await self.code { _ = try ChallengeVerifier(secret: secret, audience: "two words") } == .invalidParameter
        )
        #expect(
            await self.code { _ = try ChallengeVerifier(secret: SecureBytes(count: 16), audience: "a") }
                == .invalidParameter
        )
        // Without a directory, the synchronous verify has nowhere to record the use.
        let key = try ChallengeKey(.ed25519)
        let response = try Challenge.respond(to: token.text, with: key.key, audience: "verifier.example")
        #expect(
            await self.code {
                _ = try a.verify(token: token.text, response: response, authorizedKeys: key.authorizedKeys())
            } == .invalidParameter
        )
    }

    @Test("a directory store whose used/ is gone is reported unavailable")
    func unavailable() async throws {
        let dir = try TempDir()
        let store = DirectoryChallengeStore(directory: dir.path("state"))
        #expect(await self.code { try await store.checkAvailable() } == .storeUnavailable)
        _ = try await store.verifier(audience: "verifier.example")
        try await store.checkAvailable()
    }
}
