package import SSHCrypto

/// What keysmith and `keysmith-sk-helper` say to each other over the helper's standard
/// input and output, one request and one answer per process (``HelperProvider``).
///
/// Each message is a uint32 length, then that many bytes in SSH wire encoding (RFC 4251 §5:
/// big-endian uint32s, strings as a uint32 length and the bytes).
///
/// A request: uint32 version (1), uint32 operation (1 enrol, 2 sign, 3 resident keys),
/// string provider library (empty for libfido2), an optional PIN, device and user (each a
/// uint32 0 or 1, then the string when 1), then for enrolment uint32 algorithm (sk-api.h),
/// string application, string challenge, uint32 flags; for a signature uint32 algorithm,
/// string message, string application, string key handle, uint32 flags.
///
/// An answer: uint32 status, 0 for success and then the result, 1 for a
/// ``SecurityKeyError`` and then string code (its description) and string message. An
/// enrolment: uint32 algorithm, string public key, string key handle, uint32 flags, string
/// attestation signature, certificate and authenticator data. A signature: uint32 kind (0
/// Ed25519, then one string; 1 ECDSA, then string r and string s), uint32 flags, uint32
/// counter. Resident keys: uint32 count, then each one's string application, its enrolment,
/// string user ID and uint32 slot.
package enum HelperMessage {
    /// The protocol's version, the first field of each request.
    static let version: UInt32 = 1
    /// The largest message either side accepts.
    static let maximumSize = 1 << 20

    /// One request.
    package enum Operation {
        case enroll(algorithm: SecurityKeyAlgorithm, application: String, challenge: [UInt8], flags: SecurityKeyFlags)
        case sign(
            algorithm: SecurityKeyAlgorithm,
            message: [UInt8],
            application: String,
            keyHandle: [UInt8],
            flags: SecurityKeyFlags
        )
        case loadResidentKeys
    }

    /// A decoded request; `pin` is wiped when released.
    package struct Request {
        package var provider: String?
        package var pin: SecureBytes?
        package var options: SecurityKeyOptions
        package var operation: Operation
    }

    /// What an operation answered.
    package enum Result {
        case enrollment(SecurityKeyEnrollment)
        case signature(SecurityKeySignature)
        case residentKeys([SecurityKeyResidentKey])
    }

    /// The request's bytes, length prefix included. They hold the PIN: wipe them after use.
    static func encode(_ request: Request) -> [UInt8] {
        var w = Writer()
        w.uint32(Self.version)
        switch request.operation {
        case .enroll: w.uint32(1)
        case .sign: w.uint32(2)
        case .loadResidentKeys: w.uint32(3)
        }
        w.string(Array((request.provider ?? "").utf8))
        if let pin = request.pin {
            w.uint32(1)
            pin.withUnsafeBytes { w.string($0) }
        } else {
            w.uint32(0)
        }
        w.optional(request.options.device)
        w.optional(request.options.user)
        switch request.operation {
        case .enroll(let algorithm, let application, let challenge, let flags):
            w.uint32(algorithm.middlewareValue)
            w.string(Array(application.utf8))
            w.string(challenge)
            w.uint32(UInt32(flags.rawValue))
        case .sign(let algorithm, let message, let application, let keyHandle, let flags):
            w.uint32(algorithm.middlewareValue)
            w.string(message)
            w.string(Array(application.utf8))
            w.string(keyHandle)
            w.uint32(UInt32(flags.rawValue))
        case .loadResidentKeys: break
        }
        return w.framed()
    }

    /// Decodes a request's body (without its length prefix).
    static func decodeRequest(_ body: [UInt8]) throws(SecurityKeyError) -> Request {
        var r = Reader(body)
        guard try r.uint32() == Self.version else {
            throw SecurityKeyError(.invalidResponse, "the security key helper was sent another protocol version")
        }
        let kind = try r.uint32()
        let providerPath = try r.text()
        var pin: SecureBytes? = nil
        if try r.bool() {
            var bytes = try r.string()
            pin = SecureBytes(bytes)
            secureWipe(&bytes)
        }
        let options = SecurityKeyOptions(device: try r.optional(), user: try r.optional())
        let operation: Operation
        switch kind {
        case 1:
            operation = .enroll(
                algorithm: try r.algorithm(),
                application: try r.text(),
                challenge: try r.string(),
                flags: try r.flags()
            )
        case 2:
            operation = .sign(
                algorithm: try r.algorithm(),
                message: try r.string(),
                application: try r.text(),
                keyHandle: try r.string(),
                flags: try r.flags()
            )
        case 3: operation = .loadResidentKeys
        default: throw SecurityKeyError(.invalidResponse, "the security key helper was sent an unknown operation")
        }
        try r.finish()
        return Request(
            provider: providerPath.isEmpty ? nil : providerPath,
            pin: pin,
            options: options,
            operation: operation
        )
    }

    /// An answer's bytes, length prefix included.
    static func encode(_ answer: Swift.Result<Result, SecurityKeyError>) -> [UInt8] {
        var w = Writer()
        switch answer {
        case .failure(let error):
            w.uint32(1)
            w.string(Array(error.code.description.utf8))
            w.string(Array(error.message.utf8))
        case .success(.enrollment(let enrollment)):
            w.uint32(0)
            w.enrollment(enrollment)
        case .success(.signature(let signature)):
            w.uint32(0)
            switch signature.value {
            case .ed25519(let bytes):
                w.uint32(0)
                w.string(bytes)
            case .ecdsa(let r, let s):
                w.uint32(1)
                w.string(r)
                w.string(s)
            }
            w.uint32(UInt32(signature.flags))
            w.uint32(signature.counter)
        case .success(.residentKeys(let keys)):
            w.uint32(0)
            w.uint32(UInt32(keys.count))
            for key in keys {
                w.string(Array(key.application.utf8))
                w.enrollment(key.enrollment)
                w.string(key.userID)
                w.uint32(UInt32(truncatingIfNeeded: key.slot))
            }
        }
        return w.framed()
    }

    /// Decodes the answer's body to `operation`, throwing the error it carries.
    static func decodeAnswer(_ body: [UInt8], to operation: Operation) throws(SecurityKeyError) -> Result {
        var r = Reader(body)
        switch try r.uint32() {
        case 0: break
        case 1:
            let name = try r.text()
            let message = try r.text()
            try r.finish()
            throw SecurityKeyError(SecurityKeyError.Code(named: name) ?? .failed, message)
        default: throw Reader.malformed
        }
        let result: Result
        switch operation {
        case .enroll: result = .enrollment(try r.enrollment())
        case .sign:
            let value: SecurityKeySignature.Value
            switch try r.uint32() {
            case 0: value = .ed25519(try r.string())
            case 1: value = .ecdsa(r: try r.string(), s: try r.string())
            default: throw Reader.malformed
            }
            let flags = try r.uint32()
            guard let flags = UInt8(exactly: flags) else { throw Reader.malformed }
            result = .signature(SecurityKeySignature(value: value, flags: flags, counter: try r.uint32()))
        case .loadResidentKeys:
            let count = try r.uint32()
            var keys: [SecurityKeyResidentKey] = []
            for _ in 0..<count {
                let application = try r.text()
                let enrollment = try r.enrollment()
                let userID = try r.string()
                guard let slot = Int(exactly: try r.uint32()) else { throw Reader.malformed }
                keys.append(
                    SecurityKeyResidentKey(application: application, enrollment: enrollment, userID: userID, slot: slot)
                )
            }
            result = .residentKeys(keys)
        }
        try r.finish()
        return result
    }

    /// RFC 4251 §5 encoding into one array.
    private struct Writer {
        var bytes: [UInt8] = []

        mutating func uint32(_ value: UInt32) {
            self.bytes += [
                UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff),
            ]
        }

        mutating func string(_ value: some Collection<UInt8>) {
            self.uint32(UInt32(value.count))
            self.bytes += value
        }

        mutating func optional(_ value: String?) {
            self.uint32(value == nil ? 0 : 1)
            if let value { self.string(Array(value.utf8)) }
        }

        mutating func enrollment(_ enrollment: SecurityKeyEnrollment) {
            self.uint32(enrollment.algorithm.middlewareValue)
            self.string(enrollment.publicKey)
            self.string(enrollment.keyHandle)
            self.uint32(UInt32(enrollment.flags.rawValue))
            self.string(enrollment.attestationSignature)
            self.string(enrollment.attestationCertificate)
            self.string(enrollment.authenticatorData)
        }

        /// The message with its uint32 length first; the body's storage is wiped.
        mutating func framed() -> [UInt8] {
            var framed = [UInt8]()
            framed.reserveCapacity(self.bytes.count + 4)
            let count = UInt32(self.bytes.count)
            framed += [UInt8(count >> 24), UInt8(count >> 16 & 0xff), UInt8(count >> 8 & 0xff), UInt8(count & 0xff)]
            framed += self.bytes
            secureWipe(&self.bytes)
            return framed
        }
    }

    /// RFC 4251 §5 decoding; every length is checked before it is used.
    private struct Reader {
        static let malformed = SecurityKeyError(.invalidResponse, "the security key helper's message is malformed")
        var bytes: ArraySlice<UInt8>

        init(_ bytes: [UInt8]) { self.bytes = bytes[...] }

        mutating func uint32() throws(SecurityKeyError) -> UInt32 {
            guard self.bytes.count >= 4 else { throw Self.malformed }
            defer { self.bytes = self.bytes.dropFirst(4) }
            return self.bytes.prefix(4).reduce(0) { $0 << 8 | UInt32($1) }
        }

        mutating func string() throws(SecurityKeyError) -> [UInt8] {
            guard let count = Int(exactly: try self.uint32()), count <= self.bytes.count else { throw Self.malformed }
            defer { self.bytes = self.bytes.dropFirst(count) }
            return Array(self.bytes.prefix(count))
        }

        mutating func text() throws(SecurityKeyError) -> String {
            guard let text = String(validating: try self.string(), as: UTF8.self) else { throw Self.malformed }
            return text
        }

        mutating func bool() throws(SecurityKeyError) -> Bool {
            switch try self.uint32() {
            case 0: false
            case 1: true
            default: throw Self.malformed
            }
        }

        mutating func optional() throws(SecurityKeyError) -> String? {
            try self.bool() ? try self.text() : nil
        }

        mutating func algorithm() throws(SecurityKeyError) -> SecurityKeyAlgorithm {
            guard let algorithm = SecurityKeyAlgorithm(middlewareValue: try self.uint32()) else { throw Self.malformed }
            return algorithm
        }

        mutating func flags() throws(SecurityKeyError) -> SecurityKeyFlags {
            guard let value = UInt8(exactly: try self.uint32()) else { throw Self.malformed }
            return SecurityKeyFlags(rawValue: value)
        }

        mutating func enrollment() throws(SecurityKeyError) -> SecurityKeyEnrollment {
            SecurityKeyEnrollment(
                algorithm: try self.algorithm(),
                publicKey: try self.string(),
                keyHandle: try self.string(),
                flags: try self.flags(),
                attestationSignature: try self.string(),
                attestationCertificate: try self.string(),
                authenticatorData: try self.string()
            )
        }

        /// Rejects trailing bytes.
        func finish() throws(SecurityKeyError) {
            guard self.bytes.isEmpty else { throw Self.malformed }
        }
    }
}
