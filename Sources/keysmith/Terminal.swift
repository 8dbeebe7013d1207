import ArgumentParser
import CommandLineText
import Dispatch
import SSHConnect
import SSHCrypto
import SSHKeys
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs `body`, turning any failure into one sentence on stderr and exit status 1.
func reportingFailures(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as Failure {
        printError("keysmith: \(sentence(error.message))")
        throw ExitCode(1)
    } catch let error as SSHKeyError {
        printError("keysmith: \(sentence(error.message))")
        throw ExitCode(1)
    } catch let error as CryptoError {
        printError("keysmith: \(sentence(error.message))")
        throw ExitCode(1)
    }
}

/// A passphrase from an option, or asked (askpass or terminal, see ``askSecret(prompt:)``),
/// or a failure saying which option to use.
func askExistingPassphrase(option: String?, optionName: String, file: String) throws -> SecureBytes {
    if let option { return SecureBytes(utf8: option) }
    guard let typed = try askSecret(prompt: "Enter passphrase for \(file): ") else {
        throw Failure(
            "\(file) is protected by a passphrase and there is no terminal to ask for it; give it with \(optionName)"
        )
    }
    return typed
}

/// A new passphrase from an option, or asked twice (askpass or terminal, see ``askSecret(prompt:)``).
func askNewPassphrase(option: String?, optionName: String) throws -> SecureBytes {
    if let option { return SecureBytes(utf8: option) }
    guard let first = try askSecret(prompt: "Enter passphrase (empty for no passphrase): ") else {
        throw Failure(
            "there is no terminal to ask for a passphrase; give one with \(optionName) (\(optionName) '' for none)"
        )
    }
    guard let second = try askSecret(prompt: "Enter same passphrase again: ") else {
        throw Failure("could not read the passphrase again")
    }
    guard first.constantTimeEquals(second) else { throw Failure("the passphrases do not match; nothing was written") }
    return first
}

/// The login name and host name, as ssh-keygen's default comment `user@host`.
func defaultComment() -> String {
    var host = [CChar](repeating: 0, count: 256)
    _ = gethostname(&host, host.count - 1)
    let hostName = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    var user = "user"
    if let pw = getpwuid(getuid()), let name = pw.pointee.pw_name { user = String(cString: name) }
    return "\(user)@\(hostName)"
}

/// A command that only groups subcommands. Run without one it is a usage error (exit 64,
/// the usage on stderr), not help on stdout with exit 0 as ArgumentParser's default.
protocol CommandGroup: ParsableCommand {}

extension CommandGroup {
    func run() throws {
        let path = commandPath(to: Self.self).joined(separator: " ")
        printError("Error: Missing subcommand.")
        printError("Usage: \(path) <subcommand>")
        printError("  See '\(path) --help' for more information.")
        throw ExitCode.validationFailure
    }
}

/// The words that name `target` on the command line, e.g. ["keysmith", "known-hosts"].
func commandPath(to target: any ParsableCommand.Type, from root: any ParsableCommand.Type = Keysmith.self) -> [String] {
    if target == root { return [root._commandName] }
    for sub in root.configuration.subcommands {
        let path = commandPath(to: target, from: sub)
        if !path.isEmpty { return [root._commandName] + path }
    }
    return []
}

extension Keysmith: CommandGroup {}
extension KnownHosts: CommandGroup {}
extension Challenge: CommandGroup {}

/// Runs `body`; if it is still running after half a second and standard error is a
/// terminal, shows `keysmith: MESSAGE…` there until it ends, then clears that line.
/// Scripts and pipes see nothing. (KEYSMITH_PROGRESS_DELAY_MS changes the half second,
/// so tests need not depend on how fast the machine is.)
func withProgress<T, E: Error>(_ message: String, _ body: () throws(E) -> T) throws(E) -> T {
    guard isatty(2) == 1 else { return try body() }
    let delay = getenv("KEYSMITH_PROGRESS_DELAY_MS").flatMap { Int(String(cString: $0)) } ?? 500
    let indicator = ProgressIndicator(message: "keysmith: \(message)\u{2026}", delayMilliseconds: max(0, delay))
    defer { indicator.finish() }
    return try body()
}

/// The one-line indicator of ``withProgress(_:_:)``.
private final class ProgressIndicator: Sendable {
    private enum State { case waiting, shown, finished }
    private let state = Mutex(State.waiting)

    init(message: String, delayMilliseconds: Int) {
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(delayMilliseconds)) { [self] in
            self.state.withLock { state in
                guard state == .waiting else { return }
                writeAll(2, message)
                state = .shown
            }
        }
    }

    func finish() {
        self.state.withLock { state in
            // Back to the start of the line and erase it, so the next output starts clean.
            if state == .shown { writeAll(2, "\r\u{1B}[K") }
            state = .finished
        }
    }
}

/// Writes all of `text` to `fd`, as is, retrying short writes.
func writeAll(_ fd: Int32, _ text: String) {
    let bytes = Array(text.utf8)
    bytes.withUnsafeBytes { p in
        var offset = 0
        while offset < p.count {
            let n = write(fd, p.baseAddress! + offset, p.count - offset)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            offset += n
        }
    }
}
