/// An error from the SSH protocol layer: transport, authentication, channels, or the connection.
///
/// Compare errors by ``code``; ``message`` is one human sentence (no final period),
/// naming the host where it helps, and never contains secret material.
public struct SSHProtocolError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// The peer broke the protocol (bad packet, bad MAC, unexpected message, bad signature).
        public static let protocolViolation = Code("protocol violation")
        /// No algorithm in common for some negotiation slot.
        public static let noCommonAlgorithm = Code("no common algorithm")
        /// The host key was refused (changed, revoked, unknown under strict checking).
        public static let hostKeyRejected = Code("host key rejected")
        /// Every authentication method failed.
        public static let authenticationFailed = Code("authentication failed")
        /// The peer disconnected (SSH_MSG_DISCONNECT or EOF).
        public static let disconnected = Code("disconnected")
        /// A time limit ran out.
        public static let timeout = Code("timeout")
        /// The TCP connection could not be made or broke.
        public static let connectionFailed = Code("connection failed")
        /// A channel request or open was refused.
        public static let channelFailure = Code("channel failure")
        /// A configuration value or option is invalid.
        public static let invalidConfiguration = Code("invalid configuration")
        /// A cryptographic operation failed locally.
        public static let cryptoFailure = Code("crypto failure")
        /// ssh-agent answered SSH_AGENT_FAILURE: it refused the request.
        public static let agentRefused = Code("agent refused operation")

        public var description: String { self.name }
    }

    public let code: Code
    public let message: String

    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { self.message }

    public static func == (lhs: SSHProtocolError, rhs: SSHProtocolError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(self.code) }
}
