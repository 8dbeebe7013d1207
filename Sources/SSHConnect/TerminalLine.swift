import SSHCrypto
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One line read from the controlling terminal, as OpenBSD's readpassphrase(3) (which ssh,
/// ssh-add and ssh-keygen ask through) reads it. Every question keysmith asks on a terminal
/// goes through here: passphrases, passwords, PINs, host key questions.
///
/// The terminal's settings are saved first and echo is turned off (for a secret). While the
/// line is read, SIGALRM, SIGHUP, SIGINT, SIGPIPE, SIGQUIT, SIGTERM, SIGTSTP, SIGTTIN and
/// SIGTTOU are caught; one of them ends the read, the saved settings are put back and the
/// previous dispositions restored, and the signal is raised again, so the process dies or
/// stops as it would have, leaving the terminal as it found it. After a stop (SIGTSTP,
/// SIGTTIN, SIGTTOU) and SIGCONT the settings are saved again, echo turned off again, and
/// the prompt shown again for a fresh line, as readpassphrase restarts.
enum TerminalLine {
    /// The signals readpassphrase catches while it reads.
    static let caughtSignals: [Int32] = [SIGALRM, SIGHUP, SIGINT, SIGPIPE, SIGQUIT, SIGTERM, SIGTSTP, SIGTTIN, SIGTTOU]

    /// The signals that stop the process; after them the read starts again.
    private static let stopSignals: Set<Int32> = [SIGTSTP, SIGTTIN, SIGTTOU]

    /// Reads one line (up to 1,023 bytes are kept) after writing `prompt` to the terminal.
    /// - Returns: nil when there is no controlling terminal, or when a caught signal did not
    ///   end the process (its previous disposition ignored it); else the line, and whether
    ///   it ended at end of file rather than at a line break.
    static func ask(prompt: String, echo: Bool) -> (line: SecureBytes, endOfFile: Bool)? {
        let fd = open("/dev/tty", O_RDWR | O_NOCTTY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        while true {
            let attempt = Self.attempt(fd: fd, prompt: prompt, echo: echo)
            let signals = pendingSignals.exchange(0, ordering: .sequentiallyConsistent)
            guard signals != 0 else { return attempt }
            var restart = false
            for signal in Self.caughtSignals where signals & (1 << UInt64(signal)) != 0 {
                // The previous disposition is back in place: the default one kills or stops here.
                if signal == SIGQUIT { Self.quitByDefault() }
                kill(getpid(), signal)
                if Self.stopSignals.contains(signal) { restart = true }
            }
            guard restart else { return nil }
        }
    }

    /// Swift's runtime takes SIGQUIT as a crash and prints a backtrace; a SIGQUIT at a prompt
    /// is the user's Ctrl-\, which ends keysmith as it ends ssh (status 131), unless it was ignored.
    private static func quitByDefault() {
        var current = sigaction()
        guard sigaction(SIGQUIT, nil, &current) == 0 else { return }
        let ignored =
            unsafeBitCast(current.__sigaction_handler.sa_handler, to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self)
        if !ignored { signal(SIGQUIT, SIG_DFL) }
    }

    /// One prompt and one line: settings saved, handlers in, echo off, read, all put back.
    private static func attempt(fd: Int32, prompt: String, echo: Bool) -> (line: SecureBytes, endOfFile: Bool)? {
        var saved = termios()
        let haveSettings = tcgetattr(fd, &saved) == 0
        let previous = Self.installHandlers()
        var changed = false
        if haveSettings && !echo {
            var quiet = saved
            quiet.c_lflag &= ~tcflag_t(ECHO | ECHONL)
            quiet.c_lflag |= tcflag_t(ICANON)
            // A SIGTTOU here (keysmith in the background) is caught like any other and ends the read.
            changed = Self.setSettings(fd, &quiet)
        }
        writeAll(fd, Array(prompt.utf8))
        let line = Self.readBytes(fd)
        if changed {
            // The Enter typed without echo did not move the cursor.
            writeAll(fd, [UInt8(ascii: "\n")])
            _ = Self.setSettings(fd, &saved)
        }
        Self.restoreHandlers(previous)
        return line
    }

    /// tcsetattr, tried again when a signal interrupts it, but not after a SIGTTOU (which
    /// says keysmith is not in the foreground and would be told so again).
    private static func setSettings(_ fd: Int32, _ settings: inout termios) -> Bool {
        while true {
            if tcsetattr(fd, TCSAFLUSH, &settings) == 0 { return true }
            let stopped = pendingSignals.load(ordering: .sequentiallyConsistent) & (1 << UInt64(SIGTTOU)) != 0
            guard errno == EINTR, !stopped else { return false }
        }
    }

    /// Bytes up to a line feed or carriage return or end of file; nil when a caught signal
    /// arrived first.
    private static func readBytes(_ fd: Int32) -> (line: SecureBytes, endOfFile: Bool)? {
        let buffer = SecureBytes(count: 1024)
        var length = 0
        var endOfFile = false
        let finished = buffer.withUnsafeMutableBytes { p -> Bool in
            var byte: UInt8 = 0
            while true {
                // The signal may be delivered to another thread, which leaves this read
                // uninterrupted: look at the flag between short waits.
                if pendingSignals.load(ordering: .sequentiallyConsistent) != 0 { return false }
                var ready = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                let polled = poll(&ready, 1, 100)
                if polled < 0 && errno == EINTR { continue }
                if polled == 0 { continue }
                let n = read(fd, &byte, 1)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 {
                    endOfFile = true
                    return true
                }
                if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") { return true }
                // Kept up to the buffer's size less one, as readpassphrase's bufsiz - 1.
                if length < p.count - 1 {
                    p[length] = byte
                    length += 1
                }
            }
        }
        return finished ? (buffer.slice(0..<length), endOfFile) : nil
    }

    /// Puts keysmith's handler on every caught signal; returns the dispositions it replaced.
    private static func installHandlers() -> [Int32: sigaction] {
        var previous: [Int32: sigaction] = [:]
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { signal in
            pendingSignals.bitwiseOr(1 << UInt64(signal), ordering: .sequentiallyConsistent)
        }
        sigemptyset(&action.sa_mask)
        // No SA_RESTART: the read must return EINTR.
        action.sa_flags = 0
        for signal in Self.caughtSignals {
            var old = sigaction()
            if sigaction(signal, &action, &old) == 0 { previous[signal] = old }
        }
        return previous
    }

    private static func restoreHandlers(_ previous: [Int32: sigaction]) {
        for (signal, old) in previous {
            var old = old
            sigaction(signal, &old, nil)
        }
    }
}

/// The signals caught while a line is read, one bit per signal number; set by the handler
/// (an atomic, so async-signal-safe), taken by ``TerminalLine/ask(prompt:echo:)``.
private let pendingSignals = Atomic<UInt64>(0)

private func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
    bytes.withUnsafeBytes { p in
        var offset = 0
        while offset < p.count {
            let n = write(fd, p.baseAddress! + offset, p.count - offset)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            offset += n
        }
    }
}
