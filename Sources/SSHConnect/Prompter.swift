public import SSHCrypto
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where passwords, passphrases and answers to a server's questions come from.
///
/// The connection code decides *what* to ask and how often (``CredentialPolicy``,
/// ``IdentityStore``); a prompter only asks. ``SystemPrompter`` is what keysmith uses;
/// ``ScriptedPrompter`` answers from a list, for tests.
public protocol Prompter: Sendable {
    /// A secret typed without echo (a password, a passphrase, a hidden keyboard-interactive answer).
    /// - Returns: nil when there is no way to ask (no terminal, no askpass program that may run).
    /// - Throws: `.askpassFailed` when an askpass program ran and gave no answer.
    func askSecret(_ prompt: String) throws(SSHConnectError) -> SecureBytes?

    /// An answer typed with echo on (ssh's RP_ECHO: a keyboard-interactive prompt that echoes,
    /// a host key question). nil when nobody can be asked.
    func askVisible(_ prompt: String) -> String?
}

extension Prompter {
    /// ``askSecret(_:)`` for a prompt that cannot fail the command (a server asking for a
    /// password): a failing askpass program is one sentence through `report` and counts as no answer.
    public func askSecret(_ prompt: String, reportingFailureTo report: (String) -> Void) -> SecureBytes? {
        do { return try self.askSecret(prompt) } catch {
            report("keysmith: \(sentence(error.message))")
            return nil
        }
    }
}

/// Asks on the controlling terminal (`/dev/tty`): secrets without echo, answers with echo.
public struct TerminalPrompter: Prompter {
    public init() {}

    public func askSecret(_ prompt: String) throws(SSHConnectError) -> SecureBytes? {
        SecretInput.readHidden(prompt: prompt)
    }

    public func askVisible(_ prompt: String) -> String? { SecretInput.readVisible(prompt: prompt) }
}

/// Runs an askpass program as ssh does (execlp: looked up in PATH, no shell) with the
/// prompt as its one argument, and takes the first line it prints.
public struct AskpassPrompter: Prompter {
    /// The program, as SSH_ASKPASS names it.
    public var program: String

    public init(program: String) { self.program = program }

    /// - Throws: `.askpassFailed` when the program cannot be run or exits with a non-zero
    ///   status. (ssh takes an empty answer then; keysmith takes none, so a cancelled dialog
    ///   never becomes an empty passphrase.)
    public func askSecret(_ prompt: String) throws(SSHConnectError) -> SecureBytes? {
        let program = self.program
        func failure(_ why: String) -> SSHConnectError { SSHConnectError(.askpassFailed, why) }
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else {
            throw failure("cannot run the askpass program \(program): \(String(cString: strerror(errno)))")
        }
        // Neither end may stay open in the program (it must see end of file when we close ours),
        // nor in anything else started meanwhile; dup2 gives the program its stdout without the flag.
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup(program), strdup(prompt), nil]
        defer { for argument in argv { free(argument) } }
        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, program, &actions, nil, argv, environ)
        close(fds[1])
        defer { close(fds[0]) }
        guard spawned == 0 else {
            throw failure("cannot run the askpass program \(program): \(String(cString: strerror(spawned)))")
        }
        // Read with read(2), not stdio, so no FILE buffer keeps a copy of the secret.
        let output = Result { () throws(SSHConnectError) in
            try SecretInput.readAll(from: fds[0], limit: 1 << 20, what: "the askpass program's output")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        // <sys/wait.h>: the low 7 bits are the signal that ended it, the next 8 its exit status.
        if status & 0x7f != 0 {
            throw failure("the askpass program \(program) was killed by signal \(status & 0x7f) and gave no answer")
        }
        if status != 0 {
            throw failure(
                "the askpass program \(program) exited with status \((status >> 8) & 0xff) and gave no answer"
            )
        }
        return SecretInput.firstLine(try output.get())
    }

    public func askVisible(_ prompt: String) -> String? {
        guard let answer = try? self.askSecret(prompt) else { return nil }
        return answer.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
    }
}

/// The password of `--password-stdin`: the first line of standard input, read at the
/// first question and given again at every later one. Nothing is ever asked.
public final class StandardInputPrompter: Prompter {
    private let state = Mutex<SecureBytes?>(nil)
    private let descriptor: Int32

    /// - Parameter descriptor: where the secret is read from (standard input unless a test says otherwise).
    public init(descriptor: Int32 = 0) { self.descriptor = descriptor }

    /// - Throws: `.unreadableInput` when the descriptor cannot be read.
    public func askSecret(_ prompt: String) throws(SSHConnectError) -> SecureBytes? {
        try self.state.withLock { (value: inout SecureBytes?) throws(SSHConnectError) -> SecureBytes? in
            if let value { return value }
            let line = SecretInput.firstLine(try SecretInput.readAll(from: self.descriptor))
            value = line
            return line
        }
    }

    public func askVisible(_ prompt: String) -> String? { nil }
}

/// What keysmith uses: the askpass program or the terminal, by ssh's rules (readpass.c,
/// read_passphrase), decided here and nowhere else, for passwords and passphrases alike.
public struct SystemPrompter: Prompter {
    /// Where one secret is asked.
    public enum Route: Sendable, Hashable {
        /// Run this askpass program.
        case askpass(String)
        /// Ask on the terminal (which gives no answer when there is none).
        case terminal
        /// Nobody may be asked (SSH_ASKPASS_REQUIRE=force without a program).
        case nowhere
    }

    private let environment: @Sendable (String) -> String?
    private let haveTerminal: @Sendable () -> Bool

    /// - Parameters:
    ///   - environment: looks up an environment variable (the process's own by default).
    ///   - haveTerminal: whether a controlling terminal can be opened.
    public init(
        environment: @escaping @Sendable (String) -> String? = SystemPrompter.processEnvironment,
        haveTerminal: @escaping @Sendable () -> Bool = SecretInput.haveTerminal
    ) {
        self.environment = environment
        self.haveTerminal = haveTerminal
    }

    /// The process's environment variable, nil when unset.
    public static func processEnvironment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        return String(cString: value)
    }

    /// ssh's rules (readpass.c, read_passphrase), variables that are empty counting as unset:
    /// - the program named by SSH_ASKPASS may run only when DISPLAY or WAYLAND_DISPLAY is set,
    ///   or when SSH_ASKPASS_REQUIRE is `force`; `never` forbids it (in any letter case);
    /// - it runs under `force`, under `prefer` when it may, and when there is no terminal and it may;
    /// - otherwise the terminal is asked, without echo; under `force` with no program, nothing is.
    public static func route(
        environment: (String) -> String?,
        haveTerminal: () -> Bool
    ) -> Route {
        func variable(_ name: String) -> String? {
            guard let value = environment(name), !value.isEmpty else { return nil }
            return value
        }
        let require = variable("SSH_ASKPASS_REQUIRE")?.lowercased()
        var mayRun = variable("DISPLAY") != nil || variable("WAYLAND_DISPLAY") != nil
        var wanted = false
        switch require {
        case "force":
            mayRun = true
            wanted = true
        case "prefer": wanted = mayRun
        case "never": mayRun = false
        default: break
        }
        if !wanted && !haveTerminal() { wanted = true }
        if wanted && mayRun, let program = variable("SSH_ASKPASS") { return .askpass(program) }
        if require == "force" { return .nowhere }
        return .terminal
    }

    /// Where a secret asked now would be asked.
    public var route: Route { Self.route(environment: self.environment, haveTerminal: self.haveTerminal) }

    public func askSecret(_ prompt: String) throws(SSHConnectError) -> SecureBytes? {
        switch self.route {
        case .askpass(let program): return try AskpassPrompter(program: program).askSecret(prompt)
        case .terminal: return try TerminalPrompter().askSecret(prompt)
        case .nowhere: return nil
        }
    }

    /// The same route, with echo: ssh's questions (sshconnect.c `confirm`, read_passphrase
    /// with RP_ECHO) go to the askpass program by the same rules as its secrets.
    public func askVisible(_ prompt: String) -> String? {
        switch self.route {
        case .askpass(let program): return AskpassPrompter(program: program).askVisible(prompt)
        case .terminal: return TerminalPrompter().askVisible(prompt)
        case .nowhere: return nil
        }
    }
}

/// A prompter that answers from a script and records what it was asked, for tests.
public final class ScriptedPrompter: Prompter {
    /// One scripted answer.
    public enum Answer: Sendable {
        /// This text.
        case text(String)
        /// No answer (no terminal, the user gave up).
        case none
        /// The askpass program failed with this message.
        case failure(String)
    }

    private struct State {
        var secrets: [Answer]
        var visible: [Answer]
        var asked: [String] = []
    }

    private let state: Mutex<State>

    /// - Parameters:
    ///   - secrets: the answers to ``askSecret(_:)``, in order; once used up, no answer.
    ///   - visible: the answers to ``askVisible(_:)``, in order; once used up, no answer.
    public init(secrets: [Answer] = [], visible: [Answer] = []) {
        self.state = Mutex(State(secrets: secrets, visible: visible))
    }

    /// Every prompt shown so far, secret and visible, in order.
    public var prompts: [String] { self.state.withLock { $0.asked } }

    public func askSecret(_ prompt: String) throws(SSHConnectError) -> SecureBytes? {
        let answer = self.state.withLock { state -> Answer in
            state.asked.append(prompt)
            return state.secrets.isEmpty ? .none : state.secrets.removeFirst()
        }
        switch answer {
        case .text(let text): return SecureBytes(utf8: text)
        case .none: return nil
        case .failure(let message): throw SSHConnectError(.askpassFailed, message)
        }
    }

    public func askVisible(_ prompt: String) -> String? {
        self.state.withLock { state -> String? in
            state.asked.append(prompt)
            guard !state.visible.isEmpty, case .text(let text) = state.visible.removeFirst() else { return nil }
            return text
        }
    }
}
