import Foundation
import KeysmithTestSupport
import SSHCrypto
import SecurityKey
import Testing

/// HelperProvider driving the test build's keysmith-sk-helper (beside the test bundle) with
/// the software authenticator, and what it says when the helper is missing or misbehaves.
@Suite("security keys through keysmith-sk-helper")
struct HelperProviderTests {
    /// A helper that is a shell script with `body`.
    static func fakeHelper(_ dir: TempDir, _ body: String) throws -> String {
        let path = dir.path("helper")
        try writeProgram(path, "#!/bin/sh\n\(body)\n")
        return path
    }

    @Test(
        "the helper beside the test bundle enrols and signs; its signatures verify",
        arguments: SecurityKeyAlgorithm.allCases
    )
    func enrollAndSign(_ algorithm: SecurityKeyAlgorithm) throws {
        let library = try SoftAuthenticator.path()
        let provider = HelperProvider(provider: library)
        #expect(provider.helper.hasSuffix("/keysmith-sk-helper"))
        #expect(FileManager.default.isExecutableFile(atPath: provider.helper), "\(provider.helper)")
        let enrollment = try provider.enroll(
            algorithm: algorithm,
            application: "ssh:helper",
            challenge: Array(repeating: 7, count: 32),
            flags: [.userPresenceRequired],
            pin: nil,
            options: SecurityKeyOptions()
        )
        #expect(enrollment.algorithm == algorithm)
        #expect(enrollment.publicKey.count == algorithm.publicKeySize)
        let message = Array("signed through the helper".utf8)
        let signature = try provider.sign(
            algorithm: algorithm,
            message: message,
            application: "ssh:helper",
            keyHandle: enrollment.keyHandle,
            flags: enrollment.flags,
            pin: nil,
            options: SecurityKeyOptions()
        )
        #expect(signature.userPresent)
        let data = authenticatorSignedData(
            application: "ssh:helper",
            flags: signature.flags,
            counter: signature.counter,
            message: message
        )
        #expect(try verifies(signature, of: enrollment, over: data))
        #expect(!(try verifies(signature, of: enrollment, over: data + [0])))
    }

    @Test("the library's refusal comes back with its code and sentence")
    func libraryRefusal() throws {
        let provider = HelperProvider(provider: "/nonexistent/lib.so")
        let error = try #require(refusal { try provider.loadResidentKeys(pin: nil, options: SecurityKeyOptions()) })
        #expect(error.code == .providerUnavailable)
        #expect(error.message.hasPrefix("cannot load the security key provider /nonexistent/lib.so"), "\(error)")
    }

    @Test(
        "a missing helper, or one that dies, closes early or answers garbage, is one sentence",
        arguments: [
            ("", "cannot run the security key helper"),
            ("exit 3", "exited with status 3"),
            ("kill -9 $$", "was killed by signal 9"),
            ("exec 0<&- 1>&-; sleep 0.2", "stopped reading its request|gave no proper answer"),
            ("cat >/dev/null; printf garbage", "gave no proper answer"),
            ("cat >/dev/null; exec yes 2>/dev/null", "gave no proper answer"),
            ("cat >/dev/null; printf '\\0\\0\\0\\4abcd'", "message is malformed"),
        ]
    )
    func misbehaving(_ body: String, _ sentence: String) throws {
        let dir = try TempDir()
        let helper = body.isEmpty ? dir.path("absent") : try Self.fakeHelper(dir, body)
        let provider = HelperProvider(provider: nil, helper: helper)
        let error = try #require(
            refusal {
                try provider.sign(
                    algorithm: .ed25519,
                    message: [1],
                    application: "ssh:",
                    keyHandle: [1],
                    flags: [],
                    pin: SecureBytes(utf8: "1234"),
                    options: SecurityKeyOptions()
                )
            }
        )
        let sentences = sentence.split(separator: "|")
        #expect(sentences.contains { error.message.contains($0) }, "\(error)")
        #expect(!error.message.contains("\n"))
    }
}
