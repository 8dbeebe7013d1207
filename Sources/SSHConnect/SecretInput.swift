public import SSHCrypto

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading secrets from descriptors and the terminal without leaving copies behind.
public enum SecretInput {
    /// Reads everything from `fd`, up to `limit` bytes, into secure storage: it grows by copies
    /// into new `SecureBytes`, so every buffer that held part of the secret is wiped.
    /// - Throws: `.unreadableInput` naming `what`.
    public static func readAll(
        from fd: Int32,
        limit: Int = 16 << 20,
        what: String = "standard input"
    ) throws(SSHConnectError) -> SecureBytes {
        var storage = SecureBytes(count: 4096)
        var length = 0
        while true {
            if length == storage.count {
                guard storage.count < limit else {
                    throw SSHConnectError(.unreadableInput, "\(what) is larger than \(limit >> 20) MiB")
                }
                let bigger = SecureBytes(count: min(storage.count * 2, limit))
                bigger.withUnsafeMutableBytes { dst in storage.withUnsafeBytes { dst.copyMemory(from: $0) } }
                storage = bigger
            }
            let n = storage.withUnsafeMutableBytes { p in read(fd, p.baseAddress! + length, p.count - length) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 {
                throw SSHConnectError(.unreadableInput, "cannot read \(what): \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            length += n
        }
        return storage.slice(0..<length)
    }

    /// The bytes of `secret` before its first line break (LF, CR LF or CR).
    public static func firstLine(_ secret: SecureBytes) -> SecureBytes {
        let end = secret.withUnsafeBytes { p in
            p.firstIndex { $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") } ?? p.count
        }
        return secret.slice(0..<end)
    }

    /// Whether this process has a controlling terminal to ask on.
    public static func haveTerminal() -> Bool {
        let tty = open("/dev/tty", O_RDWR | O_NOCTTY)
        guard tty >= 0 else { return false }
        close(tty)
        return true
    }

    /// Reads a secret from the controlling terminal with echo off (``TerminalLine``: the
    /// terminal is left as it was, whatever signal arrives).
    /// - Returns: nil when there is no terminal to ask.
    public static func readHidden(prompt: String) -> SecureBytes? {
        TerminalLine.ask(prompt: prompt, echo: false)?.line
    }

    /// Asks a question on /dev/tty with echo on (ssh's RP_ECHO), nil without a terminal or
    /// when the terminal's input ended before anything was typed.
    public static func readVisible(prompt: String) -> String? {
        guard let (line, endOfFile) = TerminalLine.ask(prompt: prompt, echo: true), !(endOfFile && line.isEmpty)
        else { return nil }
        return line.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
    }
}
