public import SSHKeys
import SSHProtocol

/// An error whose message already names what failed (a file, a program), so a line about
/// one host does not put the host's name before it.
public protocol SelfNamingError: Error {
    /// One sentence without its period.
    var message: String { get }
}

extension SSHConnectError: SelfNamingError {}
extension SSHKeyError: SelfNamingError {}

/// Turns what a connection or the work on it threw into the words keysmith prints.
public enum FailureText {
    /// Why one host failed, without naming the host (for a line that names it already).
    public static func reason(_ error: any Error) -> String {
        switch error {
        case let e as SSHProtocolError where e.code == .authenticationFailed:
            return "\(e.message) (the password or keys were refused; nothing was changed)"
        case let e as SSHProtocolError: return e.message
        case let e as any SelfNamingError: return e.message
        default: return "\(error)"
        }
    }

    /// One line for a failure on `destination`: the host's name first, unless the error
    /// names its own subject (a file, a key, a program).
    public static func line(_ error: any Error, destination: String) -> String {
        if error is any SelfNamingError { return Self.reason(error) }
        return "\(destination): \(Self.reason(error))"
    }
}

/// Ends a message with a period, once.
public func sentence(_ s: String) -> String {
    s.hasSuffix(".") || s.hasSuffix("?") ? s : s + "."
}
