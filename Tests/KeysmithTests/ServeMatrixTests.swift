import Foundation
import KeysmithTestSupport
import SSHProtocol
import Testing

/// Starts one ``ServeFixture`` around the whole suite and stops it afterwards.
struct ServeServerTrait: SuiteTrait, TestScoping {
    @TaskLocal static var current: ServeFixture?

    func provideScope(
        for test: Test,
        testCase: Test.Case?,
        performing function: @Sendable () async throws -> Void
    ) async throws {
        // Cases run in parallel; keep them clear of the unauthenticated-connection cap.
        let server = try ServeFixture(arguments: ["--max-startups", "100"])
        try await Self.$current.withValue(server) { try await function() }
    }
}

/// One combination forced with `-o`, and the client key type that logs in over it.
struct ServeAlgorithmCase: Sendable, CustomTestStringConvertible {
    let kex: String
    let cipher: String
    let hostKey: String
    var mac: String? = nil
    let keyType: String

    var options: [String] {
        ["KexAlgorithms=\(self.kex)", "Ciphers=\(self.cipher)", "HostKeyAlgorithms=\(self.hostKey)"]
            + (self.mac.map { ["MACs=\($0)"] } ?? [])
    }

    var testDescription: String {
        ([self.kex, self.cipher, self.hostKey] + (self.mac.map { [$0] } ?? []) + [self.keyType])
            .joined(separator: " ")
    }
}

/// OpenSSH's ssh against `keysmith serve` over the kex, cipher, MAC and host key algorithms
/// the server implements, each combination forced alone, with a client key type (Ed25519,
/// RSA, ECDSA) for each: in the default tier a pairwise covering array of the five, in the
/// full tier (`KEYSMITH_TEST_TIER=full`) the full product of kex × cipher × host key with the
/// key type rotating, and every MAC with every CTR cipher and key type (docs/testing.md).
@Suite("keysmith serve over forced kex × cipher × MAC × host key combinations", ServeServerTrait())
struct ServeMatrixTests {
    static let keyTypes = ["ed25519", "rsa", "ecdsa"]

    static let product: [ServeAlgorithmCase] = {
        var cases: [ServeAlgorithmCase] = []
        for kex in SSHAlgorithms.supportedKeyExchange {
            for cipher in SSHAlgorithms.supportedCiphers {
                for hostKey in SSHAlgorithms.supportedHostKey {
                    let keyType = Self.keyTypes[cases.count % Self.keyTypes.count]
                    cases.append(ServeAlgorithmCase(kex: kex, cipher: cipher, hostKey: hostKey, keyType: keyType))
                }
            }
        }
        return cases
    }()

    /// Every MAC with every CTR cipher (the AEAD ciphers ignore the MAC), each key type.
    static let macCases: [ServeAlgorithmCase] = SSHAlgorithms.supportedMACs.flatMap { mac in
        SSHAlgorithms.supportedCiphers.filter { $0.hasSuffix("-ctr") }.flatMap { cipher in
            Self.keyTypes.map {
                ServeAlgorithmCase(
                    kex: "curve25519-sha256",
                    cipher: cipher,
                    hostKey: "ssh-ed25519",
                    mac: mac,
                    keyType: $0
                )
            }
        }
    }

    /// Every pair of kex, cipher, MAC (with the CTR ciphers), host key and client key type at
    /// least once (PairwiseCoverTests checks it).
    static let pairwise: [ServeAlgorithmCase] = PairwiseAlgorithms.rows(
        keyExchange: SSHAlgorithms.supportedKeyExchange,
        ciphers: SSHAlgorithms.supportedCiphers,
        macs: SSHAlgorithms.supportedMACs,
        hostKeys: SSHAlgorithms.supportedHostKey,
        more: [Self.keyTypes]
    )
    .map {
        ServeAlgorithmCase(kex: $0[0], cipher: $0[1], hostKey: $0[3], mac: $0[2].isEmpty ? nil : $0[2], keyType: $0[4])
    }

    @Test("the product is 9 × 6 × 6 and every key type appears with every kex")
    func productSize() {
        #expect(Self.product.count == 9 * 6 * 6)
        for kex in SSHAlgorithms.supportedKeyExchange {
            #expect(Set(Self.product.filter { $0.kex == kex }.map(\.keyType)) == Set(Self.keyTypes))
        }
    }

    @Test(
        "ssh authenticates over the forced combination and sees the fingerprint line",
        arguments: TestTier.pick(standard: Self.pairwise, full: Self.product)
    )
    func combination(_ c: ServeAlgorithmCase) throws {
        try Self.login(c)
    }

    @Test("every MAC with every CTR cipher", .enabled(if: TestTier.isFull), arguments: Self.macCases)
    func mac(_ c: ServeAlgorithmCase) throws {
        try Self.login(c)
    }

    static func login(_ c: ServeAlgorithmCase) throws {
        let server = try #require(ServeServerTrait.current)
        let key = try #require(server.clientKeys[c.keyType])
        // -v shows what was negotiated, so the case proves the combination was used.
        let result = try server.sshLogin(identity: key, options: ["-v"] + c.options.flatMap { ["-o", $0] })
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout == (try server.expectedLine(for: key)) + "\n")
        #expect(result.stderr.contains("kex: algorithm: \(c.kex)"))
        #expect(result.stderr.contains("kex: host key algorithm: \(c.hostKey)"))
        #expect(result.stderr.contains("kex: server->client cipher: \(c.cipher)"))
        if let mac = c.mac { #expect(result.stderr.contains("MAC: \(mac)")) }
    }
}
