/// An error reading, writing or using an SSH key or key file.
///
/// Compare errors by ``code``. The message never contains secret material.
public struct SSHKeyError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, as a stable, extensible code.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// The data is not in any format we recognise, or is damaged.
        public static let invalidFormat = Code("invalid format")
        /// The data ended early.
        public static let truncated = Code("truncated")
        /// The key type, cipher or KDF is not supported.
        public static let unsupported = Code("unsupported")
        /// The key is encrypted and no passphrase was given.
        public static let passphraseRequired = Code("passphrase required")
        /// The passphrase is wrong.
        public static let wrongPassphrase = Code("wrong passphrase")
        /// The private key's public half does not match.
        public static let keyMismatch = Code("key mismatch")
        /// A public key was given where a private one was expected.
        public static let notAPrivateKey = Code("not a private key")
        /// A parameter (size, rounds, cipher) is not allowed.
        public static let invalidParameter = Code("invalid parameter")
        /// A cryptographic operation failed.
        public static let cryptoFailure = Code("crypto failure")
        /// A file could not be read or written.
        public static let fileError = Code("file error")
        /// A private key file is readable by others.
        public static let badPermissions = Code("bad permissions")
        /// A file that would be written already exists.
        public static let fileExists = Code("file exists")
        /// A signature does not verify: wrong key, message, namespace or algorithm.
        public static let signatureInvalid = Code("signature invalid")
        /// A valid signature whose signer is not allowed (allowed_signers refused it).
        public static let notAllowed = Code("not allowed")

        public var description: String { self.name }
    }

    /// The error's code.
    public let code: Code
    /// A human sentence (without a final period) saying what went wrong.
    public let message: String

    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { self.message }

    public static func == (lhs: SSHKeyError, rhs: SSHKeyError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(self.code) }
}
