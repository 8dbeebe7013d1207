import ArgumentParser
import Dispatch
import SSHCrypto
import SSHKeys

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a line to standard error.
func printError(_ message: String) {
    var line = Array(escapeControlCharacters(message).utf8)
    line.append(UInt8(ascii: "\n"))
    line.withUnsafeBytes { p in _ = write(2, p.baseAddress, p.count) }
}

/// Writes text to standard output as is.
func writeOut(_ text: String) {
    var text = text
    text.withUTF8 { p in
        var offset = 0
        while offset < p.count {
            let n = write(1, p.baseAddress! + offset, p.count - offset)
            if n <= 0 { break }
            offset += n
        }
    }
}

/// A failure the CLI reports as one sentence on stderr and exit status 1.
struct Failure: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

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

/// Ends a message with a period, once.
func sentence(_ s: String) -> String {
    s.hasSuffix(".") || s.hasSuffix("?") ? s : s + "."
}

/// Reads a passphrase from the controlling terminal with echo off.
/// - Returns: nil when there is no terminal to ask.
func readPassphrase(prompt: String) -> SecureBytes? {
    let fd = open("/dev/tty", O_RDWR | O_NOCTTY)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var old = termios()
    let haveTermios = tcgetattr(fd, &old) == 0
    if haveTermios {
        var quiet = old
        quiet.c_lflag &= ~tcflag_t(ECHO | ECHONL)
        quiet.c_lflag |= tcflag_t(ICANON)
        _ = tcsetattr(fd, TCSAFLUSH, &quiet)
    }
    defer {
        if haveTermios { _ = tcsetattr(fd, TCSAFLUSH, &old) }
    }
    let promptBytes = Array(prompt.utf8)
    _ = promptBytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    let buffer = SecureBytes(count: 1024)
    var length = 0
    let ok = buffer.withUnsafeMutableBytes { p -> Bool in
        var byte: UInt8 = 0
        while true {
            let n = read(fd, &byte, 1)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return length > 0 }
            if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") { return true }
            if length < p.count {
                p[length] = byte
                length += 1
            }
        }
    }
    writeNewline(fd)
    guard ok || length == 0 else { return nil }
    return buffer.slice(0..<length)
}

private func writeNewline(_ fd: Int32) {
    let nl: [UInt8] = [UInt8(ascii: "\n")]
    _ = nl.withUnsafeBytes { write(fd, $0.baseAddress, 1) }
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

/// `~/.ssh`, from HOME or the password database.
func sshDirectory() -> String {
    if let home = getenv("HOME"), home.pointee != 0 { return String(cString: home) + "/.ssh" }
    if let pw = getpwuid(getuid()), let dir = pw.pointee.pw_dir { return String(cString: dir) + "/.ssh" }
    return ".ssh"
}

/// Expands a leading `~/`.
func expandTilde(_ path: String) -> String {
    guard path == "~" || path.hasPrefix("~/") else { return path }
    let ssh = sshDirectory()
    let home = String(ssh.dropLast(5))
    return home + path.dropFirst()
}

/// Reads all of standard input, up to 16 MiB.
func readStandardInput() throws -> [UInt8] {
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n < 0 { throw Failure("cannot read standard input: \(String(cString: strerror(errno)))") }
        if n == 0 { break }
        out += chunk[0..<n]
        if out.count > 16 << 20 { throw Failure("standard input is larger than 16 MiB") }
    }
    return out
}

/// Reads everything from `fd`, up to `limit` bytes, into secure storage: it grows by copies
/// into new `SecureBytes`, so every buffer that held part of the secret is wiped.
func readSecret(from fd: Int32, limit: Int = 16 << 20, what: String = "standard input") throws -> SecureBytes {
    var storage = SecureBytes(count: 4096)
    var length = 0
    while true {
        if length == storage.count {
            guard storage.count < limit else { throw Failure("\(what) is larger than \(limit >> 20) MiB") }
            let bigger = SecureBytes(count: min(storage.count * 2, limit))
            bigger.withUnsafeMutableBytes { dst in storage.withUnsafeBytes { dst.copyMemory(from: $0) } }
            storage = bigger
        }
        let n = storage.withUnsafeMutableBytes { p in read(fd, p.baseAddress! + length, p.count - length) }
        if n < 0 && errno == EINTR { continue }
        if n < 0 { throw Failure("cannot read \(what): \(String(cString: strerror(errno)))") }
        if n == 0 { break }
        length += n
    }
    return storage.slice(0..<length)
}

/// The bytes of `secret` before its first line break (LF, CR LF or CR).
func firstLine(_ secret: SecureBytes) -> SecureBytes {
    let end = secret.withUnsafeBytes { p in
        p.firstIndex { $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") } ?? p.count
    }
    return secret.slice(0..<end)
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
private final class ProgressIndicator: @unchecked Sendable {  // @unchecked: `state` is only touched under `lock`
    private var lock = pthread_mutex_t()
    private var state = 0  // 0 waiting, 1 shown, 2 finished

    init(message: String, delayMilliseconds: Int) {
        pthread_mutex_init(&self.lock, nil)
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(delayMilliseconds)) { [self] in
            pthread_mutex_lock(&self.lock)
            defer { pthread_mutex_unlock(&self.lock) }
            guard self.state == 0 else { return }
            writeAll(2, message)
            self.state = 1
        }
    }

    deinit { pthread_mutex_destroy(&self.lock) }

    func finish() {
        pthread_mutex_lock(&self.lock)
        defer { pthread_mutex_unlock(&self.lock) }
        // Back to the start of the line and erase it, so the next output starts clean.
        if self.state == 1 { writeAll(2, "\r\u{1B}[K") }
        self.state = 2
    }
}

private func writeAll(_ fd: Int32, _ text: String) {
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
