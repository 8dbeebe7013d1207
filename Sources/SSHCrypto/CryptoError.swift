/// An error from a cryptographic operation.
///
/// Compare errors by ``code``; the reason is a human detail for messages and
/// never contains secret material.
public struct CryptoError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, as a stable, extensible code.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// A library call failed (OpenSSL or libsodium).
        public static let libraryFailure = Code("library failure")
        /// The key material is not valid for its algorithm.
        public static let invalidKey = Code("invalid key")
        /// The input is not in the expected format.
        public static let malformedInput = Code("malformed input")
        /// The algorithm, cipher or parameter is not supported.
        public static let unsupported = Code("unsupported")
        /// The data is encrypted and no passphrase was given.
        public static let passphraseRequired = Code("passphrase required")
        /// Decryption failed: the passphrase or key is wrong, or the data was altered.
        public static let decryptionFailed = Code("decryption failed")
        /// A parameter is out of its allowed range.
        public static let invalidParameter = Code("invalid parameter")

        public var description: String { self.name }
    }

    /// The error's code.
    public let code: Code
    private let reason: String

    package init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    /// A human sentence fragment saying what failed.
    public var message: String { self.reason }

    public var description: String { "\(self.code): \(self.reason)" }

    public static func == (lhs: CryptoError, rhs: CryptoError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(self.code) }
}
