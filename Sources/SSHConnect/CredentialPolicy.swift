import SSHCrypto
public import SSHKeys
public import SSHProtocol
import Synchronization

/// Where passwords come from when a host asks.
public enum PasswordSource: Sendable {
    /// Asked (see ``Prompter``) at every prompt, as ssh does: one host.
    case ask
    /// One secret for every host, sent at most once per connection: from
    /// `--password-stdin`, or asked once for a run over several hosts.
    case shared(SharedSecret)

    /// The prompt of the password asked once for several hosts.
    public static let fleetPrompt = "Password (asked once, sent to every host that asks): "

    /// The password source of a run: the first line of standard input when `standardInput`
    /// is given (read now, before any host is contacted); else `.ask` for one host, and one
    /// password asked of `prompter` at most once for several.
    /// - Throws: `.unreadableInput` when standard input cannot be read.
    public static func forRun(
        hosts: Int,
        standardInput: (any Prompter)?,
        prompter: any Prompter,
        events: ConnectionEvents = ConnectionEvents()
    ) throws(SSHConnectError) -> PasswordSource {
        if let standardInput { return .shared(SharedSecret(try standardInput.askSecret(""))) }
        if hosts == 1 { return .ask }
        return .shared(
            SharedSecret(ask: { prompter.askSecret(Self.fleetPrompt, reportingFailureTo: events.diagnostic) })
        )
    }
}

/// What is asked, when and how often, to log in to one host: ssh's rules for passwords,
/// keyboard-interactive and BatchMode.
///
/// - A password asked at the prompt (`.ask`) is asked at every prompt, so a wrong one is
///   asked again, as ssh does; under BatchMode nothing is asked.
/// - A shared password (`.shared`) is sent at most once per connection, at the first
///   password or hidden keyboard-interactive prompt: it cannot be typed again, so a second
///   prompt means it was refused. Under BatchMode it is sent only when it was known before
///   the run (from standard input), never asked for.
/// - Keyboard-interactive: the server's name and instruction are shown (escaped) when
///   someone may be asked; echoing prompts are asked visibly, hidden ones as secrets; a
///   prompt that cannot be answered gives up the method.
public enum CredentialPolicy {
    /// The credentials for a connection to `config`'s host.
    ///
    /// - Parameters:
    ///   - keys: the private keys to offer, in order.
    ///   - useAgent: whether to offer the agent's keys.
    public static func credentials(
        for config: SSHResolvedConfig,
        password: PasswordSource,
        keys: [(label: String, key: SSHPrivateKey)],
        useAgent: Bool,
        prompter: any Prompter,
        events: ConnectionEvents
    ) -> SSHCredentials {
        let batch = config.batchMode
        let who = "\(config.user)@\(config.hostName)"
        let sentOnce = OnceFlag()
        let takeOnce: @Sendable () -> Bool = { sentOnce.take() }
        let fixed: SharedSecret?
        switch password {
        case .ask: fixed = nil
        case .shared(let secret): fixed = secret
        }
        let askPassword: @Sendable (String) -> SecureBytes? = { prompt in
            if let fixed {
                if batch && !fixed.wasAsked { return nil }
                return takeOnce() ? fixed.get() : nil
            }
            if batch { return nil }
            return prompter.askSecret(prompt, reportingFailureTo: events.diagnostic)
        }
        return SSHCredentials(
            keys: keys,
            useAgent: useAgent,
            password: { _ in askPassword("\(who)'s password: ") },
            keyboardInteractive: { name, instruction, prompts in
                if !batch && fixed == nil {
                    // The server's text, escaped as ssh's mprintf would (sshconnect2.c input_userauth_info_req).
                    if !name.isEmpty { events.diagnostic(events.escapePeerText(name)) }
                    if !instruction.isEmpty { events.diagnostic(events.escapePeerText(instruction)) }
                }
                var answers: [SecureBytes] = []
                for (prompt, echo) in prompts {
                    if let fixed, !echo {
                        guard !(batch && !fixed.wasAsked), takeOnce(), let password = fixed.get() else {
                            return nil
                        }
                        answers.append(password)
                    } else if batch || fixed != nil {
                        return nil
                    } else if echo {
                        guard let a = prompter.askVisible(events.escapePeerText(prompt)) else { return nil }
                        answers.append(SecureBytes(utf8: a))
                    } else {
                        guard
                            let a = prompter.askSecret(
                                events.escapePeerText(prompt),
                                reportingFailureTo: events.diagnostic
                            )
                        else { return nil }
                        answers.append(a)
                    }
                }
                return answers
            }
        )
    }
}

/// True the first time ``take()`` is called, false afterwards.
private final class OnceFlag: Sendable {
    private let taken = Mutex(false)

    func take() -> Bool {
        self.taken.withLock { taken in
            defer { taken = true }
            return !taken
        }
    }
}
