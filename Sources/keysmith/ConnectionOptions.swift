import ArgumentParser
import CommandLineText
import KeyDeploy
import SSHConnect
import SSHCrypto
import SSHKeys
import SSHProtocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The options copy-id, remove-id, list-ids and rotate share: how to reach and log in to the
/// hosts. SSHConnect decides everything; this declares the arguments and prints.
struct ConnectionOptions: ParsableArguments {
    @Option(
        name: .customShort("p", allowingJoined: true),
        help: ArgumentHelp("Port to connect to (wins over -o Port and ssh_config).", valueName: "port")
    )
    var port: Int?

    @Option(
        name: .customShort("o", allowingJoined: true),
        help: ArgumentHelp(
            "An ssh_config option, as 'Keyword=value' (may be repeated).",
            discussion: SSHConfig.optionKeywordsHelp,
            valueName: "option"
        )
    )
    var options: [String] = []

    @Option(
        name: [.customShort("J", allowingJoined: true), .customLong("jump")],
        help: ArgumentHelp(
            "Reach the hosts through these jump hosts, [user@]host[:port] or ssh://[user@]host[:port], comma-separated (as ssh -J).",
            discussion: """
                Each jump host is connected as a destination of its own (its ssh_config Host section \
                applies; -o and -p do not), its host key checked against known_hosts, and asked for a \
                direct-tcpip tunnel to the next. 'none' turns off a ProxyJump of ssh_config.
                """,
            valueName: "destination"
        )
    )
    var jump: String?

    @Option(
        name: .customShort("F", allowingJoined: true),
        help: ArgumentHelp("ssh_config file to read instead of ~/.ssh/config.", valueName: "file")
    )
    var configFile: String?

    @Option(
        name: .customShort("t", allowingJoined: true),
        help: ArgumentHelp(
            "The remote authorized_keys path (relative paths are under the home directory).",
            valueName: "path"
        )
    )
    var target: String = KeyDeploy.defaultTarget

    @Flag(
        name: .customShort("s"),
        help: "Use SFTP instead of a remote shell (for servers or accounts without a POSIX shell)."
    )
    var sftp = false

    @Flag(name: .long, help: "Read the password from the first line of standard input.")
    var passwordStdin = false

    @Flag(name: [.customShort("v"), .customShort("x")], help: "Say what happens on the connection.")
    var verbose = false

    @Flag(help: "Print the result as JSON.")
    var json = false

    @Option(
        help: ArgumentHelp(
            "A file of destinations, one [user@]host or ssh://[user@]host[:port] a line ('#' starts a comment).",
            valueName: "file"
        )
    )
    var hostsFile: String?

    @Option(help: ArgumentHelp("How many hosts to work on at the same time.", valueName: "n"))
    var parallel: Int = Fleet.defaultParallelism

    @Argument(help: ArgumentHelp("[user@]host or ssh://[user@]host[:port]", valueName: "destination"))
    var destinations: [String] = []

    func validate() throws {
        if let port, !(1...65535).contains(port) {
            throw ValidationError("The port must be from 1 to 65535, not \(port).")
        }
        guard !self.destinations.isEmpty || self.hostsFile != nil else {
            throw ValidationError("Give at least one destination (or --hosts-file).")
        }
        guard self.parallel >= 1 else { throw ValidationError("--parallel must be at least 1, not \(self.parallel).") }
        if self.target.isEmpty { throw ValidationError("The target path (-t) must not be empty.") }
        for d in self.destinations {
            do { _ = try SSHDestination(parsing: d) } catch {
                throw ValidationError(sentence(error.message.capitalizedFirst))
            }
        }
        var config = SSHConfig()
        if let jump = self.jump {
            do { try config.addJump(jump) } catch { throw ValidationError(sentence(error.message.capitalizedFirst)) }
            // ssh.c: "Cannot specify -J with ProxyCommand".
            if self.options.contains(where: { $0.lowercased().hasPrefix("proxycommand") }) {
                throw ValidationError("-J cannot be given with -o ProxyCommand.")
            }
        }
        for o in self.options {
            do { try config.addOption(o) } catch { throw ValidationError(sentence(error.message.capitalizedFirst)) }
        }
    }

    /// The connection options as SSHConnect takes them.
    var settings: ConnectionSettings {
        ConnectionSettings(
            port: self.port,
            options: self.options,
            configFile: self.configFile,
            passwordStdin: self.passwordStdin,
            verbose: self.verbose,
            hostsFile: self.hostsFile,
            parallel: self.parallel,
            destinations: self.destinations,
            jump: self.jump
        )
    }

    /// The destinations from the command line, then those of --hosts-file, each once.
    /// - Throws: `Failure` when the hosts file cannot be read or a line is not a destination.
    func allDestinations() throws -> [String] {
        do { return try self.settings.allDestinations() } catch { throw Failure(error.message) }
    }

    /// A connector for one run, asking on the terminal or with SSH_ASKPASS and writing to stderr.
    func connector(extraKeys: [(label: String, key: SSHPrivateKey)] = []) -> Connector {
        Connector(settings: self.settings, prompter: SystemPrompter(), events: .terminal, extraKeys: extraKeys)
    }

    /// The connector of a run over `hosts` hosts and where its password comes from
    /// (--password-stdin is read here, before any host is contacted).
    /// - Throws: `Failure` when standard input cannot be read.
    func prepareRun(hosts: Int, extraKeys: [(label: String, key: SSHPrivateKey)] = []) throws -> FleetRun {
        let connector = self.connector(extraKeys: extraKeys)
        do { return FleetRun(connector: connector, password: try connector.passwordSource(hosts: hosts)) } catch {
            throw Failure(error.message)
        }
    }

    /// Connects to every destination, at most --parallel at a time, and runs `work` on each
    /// connection; one result per destination, in order. Progress goes to stderr when it is
    /// a terminal.
    func runFleet<Value: Sendable>(
        _ destinations: [String],
        _ run: FleetRun,
        _ work: @escaping @Sendable (String, SSHResolvedConfig, SSHClient) throws -> Value
    ) -> [Fleet.HostResult<Value>] {
        run.connector.run(destinations, password: run.password, reporter: isatty(2) == 1 ? ProgressLine() : nil, work)
    }

    /// Runs `body` for each destination, reporting failures as one sentence each; exit 1 if any failed.
    func forEachDestination(
        _ destinations: [String],
        _ body: (String, SSHResolvedConfig, SSHClient) throws -> Void
    ) throws {
        var failed = false
        let run: FleetRun
        do { run = try self.prepareRun(hosts: 1) } catch let error as Failure {
            printError("keysmith: \(sentence(error.message))")
            throw ExitCode(1)
        }
        for destination in destinations {
            do {
                try run.connector.withConnection(to: destination, password: run.password) {
                    try body(destination, $0, $1)
                }
            } catch {
                failed = true
                printError("keysmith: \(sentence(FailureText.line(error, destination: destination)))")
            }
        }
        if failed { throw ExitCode(1) }
    }
}

/// What the hosts of one run share: the connector (identities, host key lock) and the password.
struct FleetRun {
    let connector: Connector
    let password: PasswordSource
}

extension ConnectionEvents {
    /// keysmith's: lines on stderr, a server's text escaped as ssh's mprintf would, and a
    /// progress line for a slow passphrase derivation.
    static let terminal = ConnectionEvents(
        diagnostic: { printError($0) },
        escapePeerText: { escapeServerText($0) },
        slowStep: { message, body in withProgress(message, body) }
    )
}

/// A server's text (keyboard-interactive), escaped as ssh's mprintf would.
private func escapeServerText(_ text: String) -> String { escapePeerText(text, multiline: true) }

/// The fleet's progress line on a terminal stderr: `N/M hosts done`, rewritten in place,
/// erased at the end.
struct ProgressLine: FleetReporter {
    func hostEnded(_ ended: Int, of total: Int) {
        writeError("\rkeysmith: \(ended)/\(total) hosts done\u{1B}[K")
    }

    func runEnded() { writeError("\r\u{1B}[K") }
}

extension Failure: SelfNamingError {}

/// The public key lines to deploy: from `-i` (FILE.pub when FILE is a private key), else the
/// newest `~/.ssh/id_*.pub` as ssh-copy-id picks it (also for `-i` without a file, given as "").
func keysToDeploy(identity: String?) throws -> (source: String, keys: [(key: SSHPublicKey, comment: String?)]) {
    var path: String
    if let identity, !identity.isEmpty {
        path = expandTilde(identity)
        if !path.hasSuffix(".pub") && KeyFileIO.fileExists(path + ".pub") { path += ".pub" }
    } else {
        guard let newest = newestDefaultPublicKey() else {
            throw Failure("no ~/.ssh/id_*.pub key found; make one with keysmith generate or name one with -i")
        }
        path = newest
    }
    let contents: [UInt8]
    do { contents = try KeyFileIO.readFile(path) } catch { throw Failure(error.message) }
    if KeyFileKind(contents: contents) == .openSSHPrivateKey, let key = SSHPublicKey.fromPrivateKeyFile(contents) {
        return (path, [(key, nil)])
    }
    guard let lines = try? SSHPublicKey.keys(inFile: contents), !lines.isEmpty else {
        throw Failure("\(path) holds no public key keysmith can read")
    }
    return (path, lines.map { ($0.key, $0.comment) })
}

/// The keys of the agent SSH_AUTH_SOCK names, with their comments, as ssh-copy-id installs
/// `ssh-add -L`'s lines when no `-i` is given; nil when there is no agent, it cannot be
/// reached, or it holds no key (then the default key file is used, as ssh-copy-id does).
func agentKeysToDeploy() -> (socket: String, keys: [(key: SSHPublicKey, comment: String?)])? {
    guard let variable = getenv("SSH_AUTH_SOCK"), variable.pointee != 0 else { return nil }
    let socket = String(cString: variable)
    guard let agent = try? SSHAgentClient(socketPath: socket), let held = try? agent.identities(), !held.isEmpty
    else { return nil }
    return (socket, held.map { ($0.publicKey, $0.comment.isEmpty ? nil : $0.comment) })
}

/// The command line with a bare `-i` of copy-id and remove-id given the value "" (the default
/// key file), as ssh-copy-id reads `-i` followed by nothing or by another option.
func bareIdentityOption(_ arguments: [String]) -> [String] {
    guard let command = arguments.first, command == "copy-id" || command == "remove-id" else { return arguments }
    var out: [String] = []
    var rest = arguments[...]
    while let argument = rest.popFirst() {
        out.append(argument)
        if argument == "--" {
            out += rest
            break
        }
        if argument == "-i" && (rest.first.map { $0.hasPrefix("-") } ?? true) { out.append("") }
    }
    return out
}

/// Says on stderr, in one sentence naming the host, why its deploy went over SFTP.
func sftpFallbackNote(_ destination: String) -> (String) -> Void {
    { reason in printError("keysmith: INFO: \(escapePeerText(destination)): \(escapePeerText(reason))") }
}

/// ssh-copy-id: `ls -t ~/.ssh/id*.pub | grep -v -- '-cert.pub$' | head -n 1`.
func newestDefaultPublicKey() -> String? {
    let dir = sshDirectory()
    guard let d = opendir(dir) else { return nil }
    defer { closedir(d) }
    var best: (String, Int)? = nil
    while let entry = readdir(d) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        guard name.hasPrefix("id"), name.hasSuffix(".pub"), !name.hasSuffix("-cert.pub") else { continue }
        var st = stat()
        let path = dir + "/" + name
        guard stat(path, &st) == 0 else { continue }
        let mtime = Int(st.st_mtim.tv_sec) * 1_000_000_000 + Int(st.st_mtim.tv_nsec)
        if best == nil || mtime > best!.1 { best = (path, mtime) }
    }
    return best?.0
}

/// A password or passphrase, from the askpass program or the terminal by ssh's rules
/// (SSHConnect's ``SystemPrompter``).
/// - Returns: nil when there is no way to ask.
/// - Throws: `Failure` when the askpass program cannot be run or gives no answer.
func askSecret(prompt: String) throws -> SecureBytes? {
    do { return try SystemPrompter().askSecret(prompt) } catch { throw Failure(error.message) }
}

extension String {
    /// The string with its first letter in upper case (for ArgumentParser's sentences).
    var capitalizedFirst: String {
        guard let f = self.first else { return self }
        return f.uppercased() + self.dropFirst()
    }
}

/// Writes text to standard error as is (a progress line rewritten in place).
private func writeError(_ text: String) {
    var bytes = Array(text.utf8)
    bytes.withUnsafeMutableBytes { p in _ = write(2, p.baseAddress, p.count) }
}
