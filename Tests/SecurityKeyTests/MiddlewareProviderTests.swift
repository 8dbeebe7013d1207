import Foundation
import KeysmithTestSupport
import SSHCrypto
import SecurityKey
import Synchronization
import Testing

/// The SecurityKeyError `body` throws, or nil when it returns (or throws anything else).
func refusal<R>(_ body: () throws -> R) -> SecurityKeyError? {
    do {
        _ = try body()
        return nil
    } catch {
        return error as? SecurityKeyError
    }
}

/// What an authenticator signs (PROTOCOL.u2f), built here by hand rather than by the
/// module, so that the check does not share the code it checks.
func authenticatorSignedData(application: String, flags: UInt8, counter: UInt32, message: [UInt8]) -> [UInt8] {
    Digest.hash(.sha256, Array(application.utf8)) + [flags]
        + [UInt8(counter >> 24), UInt8(counter >> 16 & 0xff), UInt8(counter >> 8 & 0xff), UInt8(counter & 0xff)]
        + Digest.hash(.sha256, message)
}

/// Whether `signature` by the key of `enrollment` verifies over `data`, checked with
/// OpenSSL / libsodium through SSHCrypto.
func verifies(
    _ signature: SecurityKeySignature,
    of enrollment: SecurityKeyEnrollment,
    over data: [UInt8]
) throws
    -> Bool
{
    switch signature.value {
    case .ed25519(let bytes):
        return Ed25519.verify(publicKey: enrollment.publicKey, signature: bytes, message: data)
    case .ecdsa(let r, let s):
        let key = try ECDSAKey(curve: .p256, publicPoint: enrollment.publicKey)
        return key.verify(r: r, s: s, for: data)
    }
}

@Suite("MiddlewareProvider with the software authenticator")
struct MiddlewareProviderTests {
    let provider: MiddlewareProvider
    let application = "ssh:keysmith-test"

    init() throws {
        self.provider = try MiddlewareProvider(path: try SoftAuthenticator.path())
    }

    func enroll(
        _ algorithm: SecurityKeyAlgorithm,
        flags: SecurityKeyFlags = [.userPresenceRequired],
        pin: SecureBytes? = nil,
        options: SecurityKeyOptions = SecurityKeyOptions()
    ) throws(SecurityKeyError) -> SecurityKeyEnrollment {
        try self.provider.enroll(
            algorithm: algorithm,
            application: self.application,
            challenge: Array("a challenge".utf8),
            flags: flags,
            pin: pin,
            options: options
        )
    }

    func sign(
        _ key: SecurityKeyEnrollment,
        _ message: [UInt8],
        application: String? = nil,
        pin: SecureBytes? = nil
    ) throws(SecurityKeyError) -> SecurityKeySignature {
        try self.provider.sign(
            algorithm: key.algorithm,
            message: message,
            application: application ?? self.application,
            keyHandle: key.keyHandle,
            flags: key.flags,
            pin: pin,
            options: SecurityKeyOptions()
        )
    }

    @Test(
        "enrolls and signs; the signature verifies over what an authenticator signs",
        arguments: SecurityKeyAlgorithm.allCases
    )
    func enrollAndSign(algorithm: SecurityKeyAlgorithm) throws {
        #expect(self.provider.version == 0x000a_0000)
        let key = try self.enroll(algorithm)
        #expect(key.algorithm == algorithm)
        #expect(key.publicKey.count == algorithm.publicKeySize)
        #expect(key.flags == [.userPresenceRequired])
        #expect(!key.keyHandle.isEmpty)
        #expect(!key.attestationSignature.isEmpty)
        #expect(key.attestationCertificate.isEmpty)

        let message = Array("the data ssh signs".utf8)
        let signature = try self.sign(key, message)
        #expect(signature.counter == 1)
        #expect(signature.userPresent)
        #expect(!signature.userVerified)
        let data = authenticatorSignedData(
            application: self.application,
            flags: signature.flags,
            counter: signature.counter,
            message: message
        )
        #expect(
            SecurityKeySignature.signedData(
                application: self.application,
                flags: signature.flags,
                counter: signature.counter,
                message: message
            ) == data
        )
        #expect(try verifies(signature, of: key, over: data))
        // The same signature is no signature of another message, flags byte or counter.
        let other = authenticatorSignedData(application: self.application, flags: 0, counter: 1, message: message)
        #expect(try !verifies(signature, of: key, over: other))
        let otherMessage = authenticatorSignedData(
            application: self.application,
            flags: signature.flags,
            counter: 1,
            message: message + [0]
        )
        #expect(try !verifies(signature, of: key, over: otherMessage))
    }

    @Test(
        "the flags byte and counter are the authenticator's, and are signed",
        arguments: SecurityKeyAlgorithm.allCases
    )
    func flagsAndCounter(algorithm: SecurityKeyAlgorithm) throws {
        let key = try self.enroll(algorithm)
        let message = Array("message".utf8)
        let signature = try SoftAuthenticator.withSettings([.flags: "0x00", .counter: "4294967295"]) {
            try self.sign(key, message)
        }
        #expect(signature.flags == 0)
        #expect(!signature.userPresent)
        #expect(signature.counter == UInt32.max)
        let data = authenticatorSignedData(application: self.application, flags: 0, counter: .max, message: message)
        #expect(try verifies(signature, of: key, over: data))

        let verified = try SoftAuthenticator.withSettings([.flags: "0x05"]) { try self.sign(key, message) }
        #expect(verified.userPresent && verified.userVerified)
    }

    @Test("a key handle made for another application is refused")
    func otherApplication() throws {
        let key = try self.enroll(.ed25519)
        let error = refusal { try self.sign(key, [1, 2, 3], application: "ssh:other") }
        #expect(error?.code == .failed)
    }

    @Test("a library that cannot be loaded is refused in one sentence naming it")
    func missingLibrary() throws {
        let error = refusal { try MiddlewareProvider(path: "/nonexistent/keysmith-sk.so") }
        #expect(error?.code == .providerUnavailable)
        #expect(error?.message.hasPrefix("cannot load the security key provider /nonexistent/keysmith-sk.so: ") == true)
        #expect(refusal { try MiddlewareProvider(path: "") }?.code == .providerUnavailable)
    }

    @Test("a library without the API's functions is refused")
    func notAProvider() throws {
        let error = refusal { try MiddlewareProvider(path: "libz.so.1") }
        #expect(error?.code == .providerUnavailable)
        #expect(error?.message == "the security key provider libz.so.1 has no function sk_api_version")
    }

    @Test("another major API version is refused; another minor version is not")
    func apiVersion() throws {
        let path = try SoftAuthenticator.path()
        let error = try SoftAuthenticator.withSettings([.apiVersion: "0x00090000"]) {
            refusal { try MiddlewareProvider(path: path) }
        }
        #expect(error?.code == .unsupportedVersion)
        #expect(
            error?.message
                == "the security key provider \(path) implements API version 0x00090000, "
                + "but keysmith supports only version 0x000a0000 (OpenSSH 9.2's)"
        )
        let newer = try SoftAuthenticator.withSettings([.apiVersion: "0x000b0000"]) {
            refusal { try MiddlewareProvider(path: path) }
        }
        #expect(newer?.code == .unsupportedVersion)
        let minor = try SoftAuthenticator.withSettings([.apiVersion: "0x000a0003"]) {
            try MiddlewareProvider(path: path)
        }
        #expect(minor.version == 0x000a_0003)
    }

    @Test(
        "each middleware error code becomes its own kind",
        arguments: [
            ("-1", SecurityKeyError.Code.failed), ("-2", .unsupported), ("-3", .pinRequired),
            ("-4", .deviceNotFound), ("-5", .credentialExists), ("-77", .failed),
        ]
    )
    func errorCodes(code: String, kind: SecurityKeyError.Code) throws {
        let enrollError = try SoftAuthenticator.withSettings([.fail: "enroll", .error: code]) {
            refusal { try self.enroll(.ecdsaP256) }
        }
        #expect(enrollError?.code == kind)
        let key = try self.enroll(.ecdsaP256)
        let signError = try SoftAuthenticator.withSettings([.fail: "sign", .error: code]) {
            refusal { try self.sign(key, [0]) }
        }
        #expect(signError?.code == kind)
    }

    @Test("a failing enrolment says which library failed")
    func enrollFailure() throws {
        let path = try SoftAuthenticator.path()
        let error = try SoftAuthenticator.withSettings([.fail: "enroll"]) { refusal { try self.enroll(.ed25519) } }
        #expect(error?.code == .failed)
        #expect(error?.message == "the security key provider \(path) could not make a key (error -1)")
    }

    @Test("a PIN is asked for, and then accepted", arguments: SecurityKeyAlgorithm.allCases)
    func pinRequired(algorithm: SecurityKeyAlgorithm) throws {
        try SoftAuthenticator.withSettings([.pin: "4321"]) {
            let missing = refusal { try self.enroll(algorithm) }
            #expect(missing?.code == .pinRequired)
            #expect(missing?.message == "the security key needs its PIN to make a key")
            #expect(refusal { try self.enroll(algorithm, pin: SecureBytes(utf8: "1111")) }?.code == .pinRequired)
            let key = try self.enroll(algorithm, pin: SecureBytes(utf8: "4321"))
            #expect(refusal { try self.sign(key, [1]) }?.code == .pinRequired)
            let signature = try self.sign(key, [1], pin: SecureBytes(utf8: "4321"))
            #expect(signature.userVerified)
            let data = authenticatorSignedData(
                application: self.application,
                flags: signature.flags,
                counter: signature.counter,
                message: [1]
            )
            #expect(try verifies(signature, of: key, over: data))
        }
    }

    @Test("a verify-required key needs the PIN to sign")
    func verifyRequired() throws {
        let key = try self.enroll(.ed25519, flags: [.userPresenceRequired, .userVerificationRequired])
        #expect(key.flags == [.userPresenceRequired, .userVerificationRequired])
        #expect(refusal { try self.sign(key, [1]) }?.code == .pinRequired)
        #expect(try self.sign(key, [1], pin: SecureBytes(utf8: "any")).userVerified)
    }

    @Test("a PIN with a NUL byte is refused before the library sees it")
    func pinWithNUL() throws {
        let error = refusal { try self.enroll(.ed25519, pin: SecureBytes([0x31, 0, 0x32])) }
        #expect(error?.code == .failed)
        #expect(error?.message == "the PIN contains a NUL byte")
    }

    @Test("the device and user options reach the library")
    func options() throws {
        let directory = try TempDir()
        let log = directory.path("calls")
        let key = try SoftAuthenticator.withSettings([.log: log]) {
            let key = try self.enroll(.ed25519, options: SecurityKeyOptions(device: "/dev/hidraw9", user: "alice"))
            _ = try self.sign(key, [1, 2, 3], pin: SecureBytes(utf8: "0000"))
            return key
        }
        #expect(
            try readText(log) == """
                enroll alg=1 application=ssh:keysmith-test flags=0x01 pin=no data=11 options=device=/dev/hidraw9,user=alice
                sign alg=1 application=ssh:keysmith-test flags=0x01 pin=yes data=3 options=

                """
        )
        #expect(key.algorithm == .ed25519)
    }

    @Test("resident keys are listed with their application and user, and not made twice")
    func residentKeys() throws {
        let directory = try TempDir()
        try SoftAuthenticator.withSettings([.residentDirectory: directory.url.path]) {
            let flags: SecurityKeyFlags = [.userPresenceRequired, .residentKey]
            let options = SecurityKeyOptions(user: "alice")
            let key = try self.enroll(.ecdsaP256, flags: flags, options: options)
            #expect(refusal { try self.enroll(.ecdsaP256, flags: flags, options: options) }?.code == .credentialExists)
            _ = try self.enroll(.ecdsaP256, flags: flags.union(.forceOperation), options: options)
            #expect(
                refusal { try self.provider.loadResidentKeys(pin: nil, options: SecurityKeyOptions()) }?.code
                    == .pinRequired
            )

            let other = try self.enroll(.ed25519, flags: flags.union(.userVerificationRequired))
            let listed = try self.provider.loadResidentKeys(
                pin: SecureBytes(utf8: "0000"),
                options: SecurityKeyOptions()
            )
            #expect(listed.count == 2)
            let alice = try #require(listed.first { $0.enrollment.algorithm == .ecdsaP256 })
            #expect(alice.application == self.application)
            #expect(alice.userID == Array("alice".utf8) + [UInt8](repeating: 0, count: 27))
            #expect(alice.enrollment.flags == [.userPresenceRequired, .residentKey])
            #expect(alice.enrollment.publicKey != key.publicKey)  // the forced enrolment replaced it
            let ed = try #require(listed.first { $0.enrollment.algorithm == .ed25519 })
            #expect(ed.enrollment.publicKey == other.publicKey)
            #expect(ed.enrollment.flags == [.userPresenceRequired, .residentKey, .userVerificationRequired])
            // A listed key signs like the enrolled one.
            let signature = try self.sign(ed.enrollment, [9], pin: SecureBytes(utf8: "0000"))
            let data = authenticatorSignedData(
                application: self.application,
                flags: signature.flags,
                counter: signature.counter,
                message: [9]
            )
            #expect(try verifies(signature, of: other, over: data))
        }
    }

    @Test("a resident key without somewhere to keep it is unsupported")
    func residentUnsupported() throws {
        let error = refusal { try self.enroll(.ed25519, flags: [.userPresenceRequired, .residentKey]) }
        #expect(error?.code == .unsupported)
    }
}

@Suite("PINs")
struct PINTests {
    @Test("the PIN's C string is wiped when it is released")
    func wiped() throws {
        let seen = Mutex<[UInt8]?>(nil)
        do {
            let pin = try PINString(SecureBytes(utf8: "271828")) { buffer in
                seen.withLock { $0 = Array(buffer) }
                buffer.deallocate()
            }
            #expect(pin.withCString { String(cString: $0) } == "271828")
        }
        let released = try #require(seen.withLock { $0 })
        #expect(!released.isEmpty)
        #expect(released.allSatisfy { $0 == 0 })
    }
}

@Suite("MiddlewareProvider frees with the library's own free")
struct MiddlewareProviderFreeTests {
    /// The software authenticator counts, per thread, the pointers freed through the `free`
    /// it exports, which is what `dlsym(handle, "free")` finds; a free by our own libc would
    /// not be counted. Each count is every non-NULL allocation of the answer, and the answer.
    @Test(
        "every allocation of an answer goes back through the library's free",
        arguments: SecurityKeyAlgorithm.allCases
    )
    func answersFreedByTheLibrary(algorithm: SecurityKeyAlgorithm) throws {
        let tests = try MiddlewareProviderTests()
        let directory = try TempDir()
        try SoftAuthenticator.withSettings([.residentDirectory: directory.url.path]) {
            let before = try SoftAuthenticator.frees()
            // Public key, key handle, attestation signature, authenticator data (there is no
            // certificate), and the response itself.
            let key = try tests.enroll(algorithm, flags: [.userPresenceRequired, .residentKey])
            let enrolled = try SoftAuthenticator.frees()
            #expect(enrolled - before == 5)
            // r (and s for ECDSA), and the response.
            _ = try tests.sign(key, Array("data".utf8))
            let signed = try SoftAuthenticator.frees()
            #expect(signed - enrolled == (algorithm == .ecdsaP256 ? 3 : 2))
            // Per key: the application, the enrolment's public key and key handle, the user
            // ID and the key itself; then the array.
            let listed = try tests.provider.loadResidentKeys(
                pin: SecureBytes(utf8: "0000"),
                options: SecurityKeyOptions()
            )
            #expect(listed.count == 1)
            #expect(try SoftAuthenticator.frees() - signed == 6)
        }
    }
}
