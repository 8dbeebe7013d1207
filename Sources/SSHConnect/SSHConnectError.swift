/// Why connecting could not even start: a hosts file or ssh_config file that cannot be
/// read, an askpass program that failed, standard input that could not be read.
///
/// The message names the file or program and reads as one sentence without its period;
/// it never holds a secret.
public struct SSHConnectError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// A hosts file or ssh_config file is missing, unreadable or malformed.
        public static let badFile = Code("bad file")
        /// The askpass program could not be run or gave no answer.
        public static let askpassFailed = Code("askpass failed")
        /// A secret could not be read (standard input, a pipe).
        public static let unreadableInput = Code("unreadable input")

        public var description: String { self.name }
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { self.message }
    public static func == (lhs: SSHConnectError, rhs: SSHConnectError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(self.code) }
}
