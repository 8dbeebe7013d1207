/// An error talking to a security key or to the library that drives one.
///
/// Compare errors by ``code``. A ``Code/pinRequired`` error means the same call may
/// succeed when repeated with the authenticator's PIN. The message never holds a PIN.
public struct SecurityKeyError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, as a stable, extensible code.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// The middleware library, or libfido2 for ``FIDO2Provider``, cannot be loaded or
        /// lacks one of the functions used.
        public static let providerUnavailable = Code("provider unavailable")
        /// The middleware library implements another major version of the API.
        public static let unsupportedVersion = Code("unsupported version")
        /// The authenticator or library does not support the algorithm, flag or option
        /// (`SSH_SK_ERR_UNSUPPORTED`).
        public static let unsupported = Code("unsupported")
        /// The operation needs the authenticator's PIN, or the PIN given was wrong
        /// (`SSH_SK_ERR_PIN_REQUIRED`): ask for it and call again.
        public static let pinRequired = Code("PIN required")
        /// No authenticator was found (`SSH_SK_ERR_DEVICE_NOT_FOUND`).
        public static let deviceNotFound = Code("device not found")
        /// A resident key for this application and user exists already
        /// (`SSH_SK_ERR_CREDENTIAL_EXISTS`).
        public static let credentialExists = Code("credential exists")
        /// The authenticator or library refused or failed (`SSH_SK_ERR_GENERAL` and the rest).
        public static let failed = Code("failed")
        /// The answer does not have the shape the API promises (a missing public key, a
        /// signature of the wrong size).
        public static let invalidResponse = Code("invalid response")

        public var description: String { self.name }

        /// The code whose ``description`` is `name` (how the security key helper passes it).
        package init?(named name: String) {
            let every: [Code] = [
                .providerUnavailable, .unsupportedVersion, .unsupported, .pinRequired, .deviceNotFound,
                .credentialExists, .failed, .invalidResponse,
            ]
            guard let code = every.first(where: { $0.name == name }) else { return nil }
            self = code
        }
    }

    /// The error's code.
    public let code: Code
    /// One human sentence (without a final period) saying what went wrong.
    public let message: String

    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { self.message }

    public static func == (lhs: SecurityKeyError, rhs: SecurityKeyError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(self.code) }
}
