internal import CFIDO2
public import SSHCrypto
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A library implementing OpenSSH's security-key middleware API (sk-api.h), loaded with
/// dlopen as `ssh-keygen -w` and ssh's `SecurityKeyProvider` load one.
///
/// The library must export `sk_api_version`, `sk_enroll`, `sk_sign` and
/// `sk_load_resident_keys`, and its API version's major part must be
/// ``supportedVersion`` (OpenSSH 9.2's): the structures it answers with are laid out as
/// that version defines them, so a library of another version is refused before anything
/// else is called. Calls are made one at a time. The library stays loaded until the
/// provider is released.
///
/// What the library answers was allocated by the library's C library, and it is freed with
/// that library's `free` (found through the library's own handle), never with ours: a
/// library loaded into a static program brings a second copy of libc with its own heap. A
/// static executable refuses to load a library at all (``SecurityKeyError/Code/providerUnavailable``):
/// glibc gives it no thread-local storage.
public final class MiddlewareProvider: SecurityKeyProvider, @unchecked Sendable {
    // @unchecked: the handle and the function pointers are set once in init; calls into
    // the library are serialised by `lock`.

    /// The API major version understood (`SSH_SK_VERSION_MAJOR` of OpenSSH 9.2).
    public static let supportedVersion: UInt32 = KEYSMITH_SK_VERSION_MAJOR

    /// The library's path, as given.
    public let path: String
    /// What the library's `sk_api_version` returned.
    public let version: UInt32

    private let handle: UnsafeMutableRawPointer
    private let enrollFunction: keysmith_sk_enroll_fn
    private let signFunction: keysmith_sk_sign_fn
    private let loadFunction: keysmith_sk_load_resident_keys_fn
    /// The `free` of the C library the library itself uses, for what it answers.
    private let libraryFree: @convention(c) (UnsafeMutableRawPointer?) -> Void
    private let lock = Mutex(())

    /// Loads the library at `path` and checks its API version.
    ///
    /// - Throws: ``SecurityKeyError/Code/providerUnavailable`` when it cannot be loaded or
    ///   lacks a function, or when this keysmith is a static executable, ``SecurityKeyError/Code/unsupportedVersion`` when it implements
    ///   another major version.
    public convenience init(path: String) throws(SecurityKeyError) {
        try self.init(path: path, staticExecutable: StaticExecutable.isRunning)
    }

    /// Loads the library at `path`, unless this process is a static executable
    /// (``StaticExecutable``), and checks its API version.
    package init(path: String, staticExecutable: Bool) throws(SecurityKeyError) {
        guard !path.isEmpty else {
            throw SecurityKeyError(.providerUnavailable, "no security key provider library was named")
        }
        guard !staticExecutable else { throw StaticExecutable.refusal(path) }
        guard let handle = dlopen(path, RTLD_NOW) else {
            let reason = dlerror().map { String(cString: $0) } ?? "unknown error"
            throw SecurityKeyError(.providerUnavailable, "cannot load the security key provider \(path): \(reason)")
        }
        func symbol(_ name: String) throws(SecurityKeyError) -> UnsafeMutableRawPointer {
            guard let pointer = dlsym(handle, name) else {
                dlclose(handle)
                throw SecurityKeyError(
                    .providerUnavailable,
                    "the security key provider \(path) has no function \(name)"
                )
            }
            return pointer
        }
        let versionFunction = unsafeBitCast(try symbol("sk_api_version"), to: keysmith_sk_api_version_fn.self)
        let version = versionFunction()
        // ssh-sk.c sshsk_open: only the major part (the high 16 bits) must match.
        guard version & KEYSMITH_SK_VERSION_MAJOR_MASK == Self.supportedVersion else {
            dlclose(handle)
            throw SecurityKeyError(
                .unsupportedVersion,
                "the security key provider \(path) implements API version \(Self.hex(version)), "
                    + "but keysmith supports only version \(Self.hex(Self.supportedVersion)) (OpenSSH 9.2's)"
            )
        }
        self.enrollFunction = unsafeBitCast(try symbol("sk_enroll"), to: keysmith_sk_enroll_fn.self)
        self.signFunction = unsafeBitCast(try symbol("sk_sign"), to: keysmith_sk_sign_fn.self)
        self.loadFunction = unsafeBitCast(
            try symbol("sk_load_resident_keys"),
            to: keysmith_sk_load_resident_keys_fn.self
        )
        self.libraryFree = unsafeBitCast(
            try symbol("free"),
            to: (@convention(c) (UnsafeMutableRawPointer?) -> Void).self
        )
        self.handle = handle
        self.path = path
        self.version = version
    }

    deinit { dlclose(self.handle) }

    public func enroll(
        algorithm: SecurityKeyAlgorithm,
        application: String,
        challenge: [UInt8],
        flags: SecurityKeyFlags,
        pin: SecureBytes?,
        options: SecurityKeyOptions
    ) throws(SecurityKeyError) -> SecurityKeyEnrollment {
        guard !challenge.isEmpty else { throw SecurityKeyError(.failed, "the enrolment challenge is empty") }
        var response: UnsafeMutablePointer<sk_enroll_response>? = nil
        defer { self.free(response) }
        let status = try self.call(pin: pin, options: options, user: true) { pin, options in
            challenge.withUnsafeBufferPointer { challenge in
                self.enrollFunction(
                    algorithm.middlewareValue,
                    challenge.baseAddress,
                    challenge.count,
                    application,
                    flags.rawValue,
                    pin,
                    options,
                    &response
                )
            }
        }
        try self.check(status, "make a key")
        guard let answer = response?.pointee else {
            throw SecurityKeyError(.invalidResponse, "the security key provider \(self.path) answered no key")
        }
        return try Self.checkedEnrollment(
            Self.enrollment(answer, algorithm: algorithm, flags: SecurityKeyFlags(rawValue: answer.flags))
        )
    }

    public func sign(
        algorithm: SecurityKeyAlgorithm,
        message: [UInt8],
        application: String,
        keyHandle: [UInt8],
        flags: SecurityKeyFlags,
        pin: SecureBytes?,
        options: SecurityKeyOptions
    ) throws(SecurityKeyError) -> SecurityKeySignature {
        var response: UnsafeMutablePointer<sk_sign_response>? = nil
        defer {
            if let response {
                self.wipe(response.pointee.sig_r, response.pointee.sig_r_len)
                self.wipe(response.pointee.sig_s, response.pointee.sig_s_len)
                self.libraryFree(response)
            }
        }
        let status = try self.call(pin: pin, options: options, user: false) { pin, options in
            message.withUnsafeBufferPointer { message in
                keyHandle.withUnsafeBufferPointer { keyHandle in
                    self.signFunction(
                        algorithm.middlewareValue,
                        message.baseAddress,
                        message.count,
                        application,
                        keyHandle.baseAddress,
                        keyHandle.count,
                        flags.rawValue,
                        pin,
                        options,
                        &response
                    )
                }
            }
        }
        try self.check(status, "sign")
        guard let answer = response?.pointee, answer.sig_r != nil else {
            throw SecurityKeyError(.invalidResponse, "the security key provider \(self.path) answered no signature")
        }
        let r = Self.bytes(answer.sig_r, answer.sig_r_len)
        let value: SecurityKeySignature.Value
        switch algorithm {
        case .ed25519:
            value = .ed25519(r)
        case .ecdsaP256:
            // ssh-sk.c sshsk_ecdsa_sig: both halves must be there.
            guard answer.sig_s != nil else {
                throw SecurityKeyError(.invalidResponse, "the security key provider \(self.path) answered no ECDSA s")
            }
            value = .ecdsa(r: r, s: Self.bytes(answer.sig_s, answer.sig_s_len))
        }
        return try Self.checkedSignature(
            SecurityKeySignature(value: value, flags: answer.flags, counter: answer.counter)
        )
    }

    public func loadResidentKeys(
        pin: SecureBytes?,
        options: SecurityKeyOptions
    ) throws(SecurityKeyError)
        -> [SecurityKeyResidentKey]
    {
        var keys: UnsafeMutablePointer<UnsafeMutablePointer<sk_resident_key>?>? = nil
        var count = 0
        defer {
            for index in 0..<(keys == nil ? 0 : count) {
                guard let key = keys?[index] else { continue }
                self.libraryFree(key.pointee.application)
                self.free(enrollment: &key.pointee.key)
                self.wipe(key.pointee.user_id, key.pointee.user_id_len)
                self.libraryFree(key)
            }
            self.libraryFree(keys)
        }
        let status = try self.call(pin: pin, options: options, user: false) { pin, options in
            self.loadFunction(pin, options, &keys, &count)
        }
        try self.check(status, "read resident keys")
        var result: [SecurityKeyResidentKey] = []
        for index in 0..<count {
            guard let key = keys?[index]?.pointee, let application = key.application else {
                throw SecurityKeyError(
                    .invalidResponse,
                    "the security key provider \(self.path) answered an empty resident key"
                )
            }
            // Keys of algorithms SSH does not use are skipped, as ssh-sk.c does.
            guard let algorithm = SecurityKeyAlgorithm(middlewareValue: key.alg) else { continue }
            // ssh-sk.c sshsk_load_resident: a resident key asks for a touch, and for
            // verification when the authenticator says it was made so.
            var flags: SecurityKeyFlags = [.userPresenceRequired, .residentKey]
            if key.flags & SecurityKeyFlags.userVerificationRequired.rawValue != 0 {
                flags.insert(.userVerificationRequired)
            }
            let enrollment = try Self.checkedEnrollment(Self.enrollment(key.key, algorithm: algorithm, flags: flags))
            result.append(
                SecurityKeyResidentKey(
                    application: String(cString: application),
                    enrollment: enrollment,
                    userID: Self.bytes(key.user_id, key.user_id_len),
                    slot: key.slot
                )
            )
        }
        return result
    }

    // MARK: - Calling the library

    /// Runs `body` under the lock with the PIN as a C string (in wiped storage) and the
    /// options as sk-api.h's NULL-terminated array, freed afterwards.
    private func call(
        pin: SecureBytes?,
        options: SecurityKeyOptions,
        user: Bool,
        _ body: (UnsafePointer<CChar>?, UnsafeMutablePointer<UnsafeMutablePointer<sk_option>?>) -> Int32
    ) throws(SecurityKeyError) -> Int32 {
        let cPIN = try pin.map { pin throws(SecurityKeyError) in try PINString(pin) }
        var pairs: [(String, String)] = []
        if let device = options.device { pairs.append(("device", device)) }
        if user, let name = options.user { pairs.append(("user", name)) }
        var array: [UnsafeMutablePointer<sk_option>?] = pairs.map { name, value in
            let option = UnsafeMutablePointer<sk_option>.allocate(capacity: 1)
            option.initialize(to: sk_option(name: strdup(name), value: strdup(value), required: 0))
            return option
        }
        array.append(nil)
        // The options are ours (the library only reads them): our strdup, our free.
        defer {
            for option in array {
                guard let option else { continue }
                Glibc.free(option.pointee.name)
                Glibc.free(option.pointee.value)
                option.deallocate()
            }
        }
        return self.lock.withLock { _ in
            array.withUnsafeMutableBufferPointer { options in
                if let cPIN {
                    cPIN.withCString { body($0, options.baseAddress!) }
                } else {
                    body(nil, options.baseAddress!)
                }
            }
        }
    }

    /// Turns a non-zero sk-api.h status into its error.
    private func check(_ status: Int32, _ operation: String) throws(SecurityKeyError) {
        switch status {
        case 0: return
        case -2:  // SSH_SK_ERR_UNSUPPORTED
            throw SecurityKeyError(
                .unsupported,
                "the security key provider \(self.path) cannot \(operation) with this algorithm, flag or option"
            )
        case -3:  // SSH_SK_ERR_PIN_REQUIRED
            throw SecurityKeyError(.pinRequired, "the security key needs its PIN to \(operation)")
        case -4:  // SSH_SK_ERR_DEVICE_NOT_FOUND
            throw SecurityKeyError(.deviceNotFound, "the security key provider \(self.path) found no authenticator")
        case -5:  // SSH_SK_ERR_CREDENTIAL_EXISTS
            throw SecurityKeyError(
                .credentialExists,
                "the authenticator already holds a resident key for this application and user"
            )
        default:
            throw SecurityKeyError(
                .failed,
                "the security key provider \(self.path) could not \(operation) (error \(status))"
            )
        }
    }

    private static func enrollment(
        _ answer: sk_enroll_response,
        algorithm: SecurityKeyAlgorithm,
        flags: SecurityKeyFlags
    ) throws(SecurityKeyError) -> SecurityKeyEnrollment {
        // ssh-sk.c sshsk_key_from_response: the public key and the key handle must be there.
        guard answer.public_key != nil, answer.key_handle != nil else {
            throw SecurityKeyError(.invalidResponse, "the security key provider answered no public key or key handle")
        }
        return SecurityKeyEnrollment(
            algorithm: algorithm,
            publicKey: Self.bytes(answer.public_key, answer.public_key_len),
            keyHandle: Self.bytes(answer.key_handle, answer.key_handle_len),
            flags: flags,
            attestationSignature: Self.bytes(answer.signature, answer.signature_len),
            attestationCertificate: Self.bytes(answer.attestation_cert, answer.attestation_cert_len),
            authenticatorData: Self.bytes(answer.authdata, answer.authdata_len)
        )
    }

    private static func bytes(_ pointer: UnsafeMutablePointer<UInt8>?, _ count: Int) -> [UInt8] {
        guard let pointer, count > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: pointer, count: count))
    }

    /// Wipes and frees what the library allocated, as ssh-sk.c's freezero does.
    private func wipe(_ pointer: UnsafeMutablePointer<UInt8>?, _ count: Int) {
        guard let pointer else { return }
        explicit_bzero(pointer, count)
        self.libraryFree(pointer)
    }

    private func free(enrollment: inout sk_enroll_response) {
        self.wipe(enrollment.public_key, enrollment.public_key_len)
        self.wipe(enrollment.key_handle, enrollment.key_handle_len)
        self.wipe(enrollment.signature, enrollment.signature_len)
        self.wipe(enrollment.attestation_cert, enrollment.attestation_cert_len)
        self.wipe(enrollment.authdata, enrollment.authdata_len)
    }

    private func free(_ response: UnsafeMutablePointer<sk_enroll_response>?) {
        guard let response else { return }
        self.free(enrollment: &response.pointee)
        self.libraryFree(response)
    }

    private static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }
}

/// A PIN as a NUL-terminated C string in storage wiped when it is released.
package struct PINString {
    private let storage: SecureBytes

    /// - Parameter release: Frees the storage after it was wiped (tests check the wipe
    ///   here); nil deallocates it.
    /// - Throws: ``SecurityKeyError/Code/failed`` when the PIN holds a NUL byte.
    package init(
        _ pin: SecureBytes,
        release: (@Sendable (UnsafeMutableRawBufferPointer) -> Void)? = nil
    ) throws(SecurityKeyError) {
        let hasNUL = pin.withUnsafeBytes { $0.contains(0) }
        guard !hasNUL else { throw SecurityKeyError(.failed, "the PIN contains a NUL byte") }
        let storage =
            release.map { SecureBytes(count: pin.count + 1, release: $0) } ?? SecureBytes(count: pin.count + 1)
        storage.withUnsafeMutableBytes { target in
            pin.withUnsafeBytes { target.copyMemory(from: $0) }
        }
        self.storage = storage
    }

    /// Calls `body` with the C string; the pointer must not escape.
    package func withCString<R>(_ body: (UnsafePointer<CChar>) -> R) -> R {
        self.storage.withUnsafeBytes { body($0.baseAddress!.assumingMemoryBound(to: CChar.self)) }
    }
}
