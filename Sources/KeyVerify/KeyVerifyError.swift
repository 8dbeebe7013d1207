/// An error issuing or verifying a challenge.
///
/// Compare errors by ``code``; the ``message`` is one sentence fit for a user (without a
/// final period) and never contains secret material.
public struct KeyVerifyError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, as a stable, extensible code.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// The token is not a challenge token at all (bad encoding or length).
        public static let malformedToken = Code("malformed token")
        /// The token's MAC does not verify: another server issued it, or it was changed.
        public static let foreignToken = Code("foreign token")
        /// The token's lifetime is over.
        public static let expired = Code("expired")
        /// The token was already used for a successful verification.
        public static let replayed = Code("replayed")
        /// The response is not a readable SSH signature.
        public static let malformedResponse = Code("malformed response")
        /// The token is for another audience than the verifier's (or than the one the
        /// responder expected), or the state directory serves another audience.
        public static let wrongAudience = Code("wrong audience")
        /// The response was signed for another namespace than ``Challenge/namespace``.
        public static let wrongNamespace = Code("wrong namespace")
        /// The response's signature does not verify over this token.
        public static let badSignature = Code("bad signature")
        /// The signing key is not authorized (missing from authorized_keys, or refused by its options).
        public static let notAuthorized = Code("not authorized")
        /// The state directory or a file in it could not be used.
        public static let stateError = Code("state error")
        /// The store of secrets and used tokens (a database) cannot be reached or did not
        /// answer in time; nothing was accepted.
        public static let storeUnavailable = Code("store unavailable")
        /// A parameter (a lifetime, a key) is not usable.
        public static let invalidParameter = Code("invalid parameter")

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

    public static func == (lhs: KeyVerifyError, rhs: KeyVerifyError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(self.code) }
}
