import ArgumentParser
import KeyDeploy
import SSHCrypto
import SSHKeys
import SSHProtocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The options copy-id, remove-id and list-ids share: how to reach and log in to the hosts.
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
            discussion: """
                Understood: HostName, User, Port, IdentityFile, IdentitiesOnly, UserKnownHostsFile, \
                GlobalKnownHostsFile, StrictHostKeyChecking, HashKnownHosts, KexAlgorithms, Ciphers, MACs, \
                HostKeyAlgorithms, PreferredAuthentications, BatchMode, ConnectTimeout; others are ignored.
                """,
            valueName: "option"
        )
    )
    var options: [String] = []

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
        for o in self.options {
            do { try config.addOption(o) } catch { throw ValidationError(sentence(error.message.capitalizedFirst)) }
        }
    }

    /// The destinations from the command line, then those of --hosts-file, each once.
    /// - Throws: `Failure` when the hosts file cannot be read or a line is not a destination.
    func allDestinations() throws -> [String] {
        var all = self.destinations
        if let file = self.hostsFile {
            let path = expandTilde(file)
            let contents: [UInt8]
            do { contents = try KeyFileIO.readFile(path) } catch {
                throw Failure("cannot read the hosts file \(path): \(error.message)")
            }
            all += try hostsFileDestinations(String(decoding: contents, as: UTF8.self), path: path)
        }
        var seen = Set<String>()
        all = all.filter { seen.insert($0).inserted }
        guard !all.isEmpty else { throw Failure("the hosts file \(self.hostsFile ?? "") names no destination") }
        return all
    }

    /// The password from --password-stdin, read once before connecting.
    func readPasswordFromStdin() throws -> SecureBytes? {
        guard self.passwordStdin else { return nil }
        return firstLine(try readSecret(from: 0))
    }

    /// Resolves the configuration for `destination`.
    func resolve(_ destination: String) throws -> SSHResolvedConfig {
        let home = KeyFileIO.homeDirectory() ?? "/"
        var config = SSHConfig()
        for o in self.options { try config.addOption(o) }
        if let file = self.configFile {
            let path = expandTilde(file)
            guard KeyFileIO.fileExists(path) else { throw Failure("the ssh_config file \(path) does not exist") }
            try config.addFile(atPath: path, sshDirectory: home + "/.ssh")
        } else {
            try config.addFile(atPath: home + "/.ssh/config", sshDirectory: home + "/.ssh")
        }
        return try config.resolve(
            destination: try SSHDestination(parsing: destination),
            port: self.port,
            localUser: localUserName(),
            home: home
        )
    }

    /// Connects and authenticates to one destination.
    ///
    /// - Parameters:
    ///   - password: where passwords come from.
    ///   - shared: what the hosts of one run share (identity files read once, host key
    ///     decisions one at a time).
    ///   - onlyKey: log in with this key alone (publickey, no agent, no password): the proof
    ///     of a rotation.
    func connect(
        _ config: SSHResolvedConfig,
        password: PasswordSource,
        shared: ConnectionShared = ConnectionShared(),
        onlyKey: (label: String, key: SSHPrivateKey)? = nil
    ) throws -> SSHClient {
        let policy = HostKeyPolicy(config: config, log: { printError($0) }, ask: { askOnTerminal($0) })
        var algorithms = try config.algorithms()
        if config.hostKeyAlgorithms == nil {
            algorithms.hostKey = policy.orderingHostKeyAlgorithms(algorithms.hostKey)
        }
        let batch = config.batchMode
        let who = "\(config.user)@\(config.hostName)"
        let stdinUsed = OnceFlag()
        // A shared password (from stdin, or asked once for the whole run) is sent once per
        // connection: it cannot be typed again, so a second prompt means it was refused.
        let fixed: SharedSecret?
        switch password {
        case .ask: fixed = nil
        case .shared(let secret): fixed = secret
        }
        let askPassword: @Sendable (String) -> SecureBytes? = { prompt in
            if let fixed {
                if batch && !fixed.wasAsked { return nil }
                return stdinUsed.take() ? fixed.get() : nil
            }
            if batch { return nil }
            return askSecretReportingFailure(prompt: prompt)
        }
        var credentials = SSHCredentials(
            keys: onlyKey == nil ? shared.identities(config) : [],
            useAgent: !config.identitiesOnly && (getenv("SSH_AUTH_SOCK").map { $0.pointee != 0 } ?? false),
            password: { _ in askPassword("\(who)'s password: ") },
            keyboardInteractive: { name, instruction, prompts in
                if !batch && fixed == nil {
                    // The server's text, escaped as ssh's mprintf would (sshconnect2.c input_userauth_info_req).
                    if !name.isEmpty { printError(escapePeerText(name, multiline: true)) }
                    if !instruction.isEmpty { printError(escapePeerText(instruction, multiline: true)) }
                }
                var answers: [SecureBytes] = []
                for (prompt, echo) in prompts {
                    if let fixed, !echo {
                        guard !(batch && !fixed.wasAsked), stdinUsed.take(), let password = fixed.get() else {
                            return nil
                        }
                        answers.append(password)
                    } else if batch || fixed != nil {
                        return nil
                    } else if echo {
                        guard let a = askOnTerminal(escapePeerText(prompt, multiline: true)) else { return nil }
                        answers.append(SecureBytes(utf8: a))
                    } else {
                        guard let a = askSecretReportingFailure(prompt: escapePeerText(prompt, multiline: true)) else {
                            return nil
                        }
                        answers.append(a)
                    }
                }
                return answers
            }
        )
        var order = config.preferredAuthentications
        if let onlyKey {
            credentials = SSHCredentials(keys: [onlyKey])
            order = [.publicKey]
        }
        // known_hosts is read, asked about and rewritten by one host at a time.
        let verifier = policy.verifier
        let lock = shared.hostKeyLock
        let options = SSHClientOptions(
            host: config.hostName,
            port: config.port,
            user: config.user,
            algorithms: algorithms,
            credentials: credentials,
            authenticationOrder: order,
            connectTimeout: config.connectTimeout ?? 10,
            hostKeyVerifier: { (key: SSHPublicKey) throws(SSHProtocolError) -> Void in
                try lock.withLock { () throws(SSHProtocolError) -> Void in try verifier(key) }
            }
        )
        if self.verbose {
            printError(
                "keysmith: connecting to \(KnownHostsFormat.hostName(config.hostName, port: config.port)) as \(config.user)"
            )
        }
        let client = try SSHClient.connect(options)
        if self.verbose {
            if let negotiated = client.negotiatedAlgorithms {
                for line in negotiated.verboseLines { printError("keysmith: \(line)") }
            }
            printError(
                "keysmith: authenticated with \(client.authenticatedWith); host key \(client.hostKey.type.displayName) \(client.hostKey.fingerprint())"
            )
        }
        return client
    }

    /// Where the password comes from when a host asks: `.ask` at every prompt (one host,
    /// as ssh does), or one secret for every host (from --password-stdin, or asked once).
    func passwordSource(hosts: Int) throws -> PasswordSource {
        if let password = try self.readPasswordFromStdin() { return .shared(SharedSecret(password)) }
        if hosts == 1 { return .ask }
        return .shared(
            SharedSecret(ask: {
                askSecretReportingFailure(prompt: "Password (asked once, sent to every host that asks): ")
            })
        )
    }

    /// Connects to every destination, at most --parallel at a time, and runs `work` on each
    /// connection; one result per destination, in order. Progress goes to stderr when it is
    /// a terminal.
    func runFleet<Value: Sendable>(
        _ destinations: [String],
        password: PasswordSource,
        shared: ConnectionShared = ConnectionShared(),
        _ work: @escaping @Sendable (String, SSHResolvedConfig, SSHClient) throws -> Value
    ) -> [Fleet.HostResult<Value>] {
        let showProgress = isatty(2) == 1
        var progress: (@Sendable (Int, Int) -> Void)? = nil
        if showProgress {
            progress = { ended, all in writeError("\rkeysmith: \(ended)/\(all) hosts done\u{1B}[K") }
        }
        let options = self
        let job: @Sendable (String) throws -> Value = { destination in
            let config = try options.resolve(destination)
            let client = try options.connect(config, password: password, shared: shared)
            defer { client.close() }
            return try work(destination, config, client)
        }
        let results = Fleet.run(destinations, parallel: self.parallel, progress: progress, job)
        if showProgress { writeError("\r\u{1B}[K") }
        return results
    }

    /// Runs `body` for each destination, reporting failures as one sentence each; exit 1 if any failed.
    func forEachDestination(
        _ destinations: [String],
        _ body: (String, SSHResolvedConfig, SSHClient) throws -> Void
    ) throws {
        var failed = false
        let password: PasswordSource
        do {
            password = try self.passwordSource(hosts: 1)
        } catch let error as Failure {
            printError("keysmith: \(sentence(error.message))")
            throw ExitCode(1)
        }
        let shared = ConnectionShared()
        for destination in destinations {
            do {
                let config = try self.resolve(destination)
                let client = try self.connect(config, password: password, shared: shared)
                defer { client.close() }
                try body(destination, config, client)
            } catch {
                failed = true
                printError("keysmith: \(sentence(deployMessage(error, destination: destination)))")
            }
        }
        if failed { throw ExitCode(1) }
    }
}

/// Where passwords come from (see ``ConnectionOptions/passwordSource(hosts:)``).
enum PasswordSource: Sendable {
    /// Asked on the terminal or with SSH_ASKPASS at every prompt.
    case ask
    /// One secret for every host, sent at most once per connection.
    case shared(SharedSecret)
}

/// What the hosts of one run share: each identity file read (and its passphrase asked) once,
/// and a lock so that host keys are checked, confirmed and recorded one host at a time.
final class ConnectionShared: @unchecked Sendable {  // @unchecked: `loaded` is only touched under `lock`
    let hostKeyLock = Mutex()
    private let lock = Mutex()
    private var loaded: [String: SSHPrivateKey?] = [:]
    /// Keys offered before the configured identity files (rotate's old key).
    let extraKeys: [(label: String, key: SSHPrivateKey)]

    init(extraKeys: [(label: String, key: SSHPrivateKey)] = []) {
        self.extraKeys = extraKeys
    }

    /// The identity files' private keys: unencrypted ones always; encrypted ones that were
    /// named explicitly after asking for the passphrase (never in batch mode); ssh's default
    /// files that are missing or encrypted are skipped. Each file is read once per run.
    func identities(_ config: SSHResolvedConfig) -> [(label: String, key: SSHPrivateKey)] {
        self.extraKeys
            + config.identityFiles.compactMap { path in
                let slot = "\(config.identityFilesAreDefaults) \(config.batchMode) \(path)"
                let key = self.lock.withLock {
                    if let known = self.loaded[slot] { return known }
                    let key = Self.load(path, defaults: config.identityFilesAreDefaults, batch: config.batchMode)
                    self.loaded[slot] = key
                    return key
                }
                return key.map { (path, $0) }
            }
    }

    static func load(_ path: String, defaults: Bool, batch: Bool) -> SSHPrivateKey? {
        guard KeyFileIO.fileExists(path) else {
            if !defaults { printError("keysmith: no identity file \(path); skipping it") }
            return nil
        }
        guard var contents = try? KeyFileIO.readPrivateKeyFile(path) else {
            printError(
                "keysmith: cannot read the identity file \(path) (check that it exists and is chmod 600); skipping it"
            )
            return nil
        }
        // The file's bytes are the key when it is not encrypted; zero them once it is decoded.
        defer { secureWipe(&contents) }
        if !SSHPrivateKey.isEncrypted(fileContents: contents) { return try? SSHPrivateKey(fileContents: contents) }
        if defaults || batch { return nil }
        guard let pass = askSecretReportingFailure(prompt: "Enter passphrase for key '\(path)': "),
            let key = try? withProgress(
                "deriving the key from the passphrase",
                { try SSHPrivateKey(fileContents: contents, passphrase: pass) }
            )
        else {
            printError("keysmith: could not decrypt \(path); skipping it")
            return nil
        }
        return key
    }
}

/// The hosts of a --hosts-file: one `[user@]host` or `ssh://[user@]host[:port]` a line;
/// blank lines and everything from a `#` that starts a word are ignored.
/// - Throws: `Failure` naming the file and line of anything else.
func hostsFileDestinations(_ text: String, path: String) throws -> [String] {
    var out: [String] = []
    for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
        var words: [Substring] = []
        for word in raw.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }) {
            if word.hasPrefix("#") { break }
            words.append(word)
        }
        guard let first = words.first else { continue }
        guard words.count == 1 else {
            throw Failure("\(path) line \(number + 1) holds more than one destination; give one a line")
        }
        do { _ = try SSHDestination(parsing: String(first)) } catch {
            throw Failure("\(path) line \(number + 1): \(error.message)")
        }
        out.append(String(first))
    }
    return out
}

/// Why one host failed, without naming the host (for a per-host line that names it).
func failureReason(_ error: any Error) -> String {
    switch error {
    case let e as SSHProtocolError:
        if e.code == .authenticationFailed {
            return "\(e.message) (the password or keys were refused; nothing was changed)"
        }
        return e.message
    case let e as KeyDeployError: return e.message
    case let e as Failure: return e.message
    case let e as SSHKeyError: return e.message
    default: return "\(error)"
    }
}

/// One sentence for any failure of a deploy.
func deployMessage(_ error: any Error, destination: String) -> String {
    switch error {
    case let e as SSHProtocolError:
        switch e.code {
        case .authenticationFailed:
            return "\(destination): \(e.message) (the password or keys were refused; nothing was changed)"
        default:
            return "\(destination): \(e.message)"
        }
    case let e as KeyDeployError: return "\(destination): \(e.message)"
    case let e as Failure: return e.message
    case let e as SSHKeyError: return e.message
    default: return "\(destination): \(error)"
    }
}

/// The public key lines to deploy: from `-i` (FILE.pub when FILE is a private key), else the
/// newest `~/.ssh/id_*.pub` as ssh-copy-id picks it.
func keysToDeploy(identity: String?) throws -> (source: String, keys: [(key: SSHPublicKey, comment: String?)]) {
    var path: String
    if let identity {
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

/// The local login name.
func localUserName() -> String {
    if let pw = getpwuid(getuid()), let name = pw.pointee.pw_name { return String(cString: name) }
    if let u = getenv("USER") { return String(cString: u) }
    return "root"
}

/// Asks a question on /dev/tty with echo on (ssh's RP_ECHO), nil without a terminal.
func askOnTerminal(_ prompt: String) -> String? {
    let fd = open("/dev/tty", O_RDWR | O_NOCTTY)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    _ = Array(prompt.utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    var line: [UInt8] = []
    var byte: UInt8 = 0
    while true {
        let n = read(fd, &byte, 1)
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { return line.isEmpty ? nil : String(decoding: line, as: UTF8.self) }
        if byte == UInt8(ascii: "\n") { break }
        line.append(byte)
    }
    return String(decoding: line, as: UTF8.self)
}

/// A password or passphrase, from the askpass program or the terminal, by ssh's rules
/// (readpass.c, read_passphrase):
/// - the program named by SSH_ASKPASS may run only when DISPLAY or WAYLAND_DISPLAY is set,
///   or when SSH_ASKPASS_REQUIRE is `force`; `never` forbids it (in any letter case);
/// - it runs under `force`, under `prefer` when it may, and when there is no terminal and it may;
/// - otherwise the terminal is asked, without echo.
///
/// - Returns: nil when there is no way to ask: no terminal, and no askpass program that may run.
/// - Throws: `Failure` when the askpass program cannot be run or exits with a non-zero
///   status. (ssh takes an empty answer then; keysmith takes none, so a cancelled dialog
///   never becomes an empty passphrase.)
func askSecret(prompt: String) throws -> SecureBytes? {
    func variable(_ name: String) -> String? {
        guard let value = getenv(name), value.pointee != 0 else { return nil }
        return String(cString: value)
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
    if !wanted {
        let tty = open("/dev/tty", O_RDWR | O_NOCTTY)
        if tty >= 0 { close(tty) } else { wanted = true }
    }
    if wanted && mayRun, let program = variable("SSH_ASKPASS") {
        return try runAskpass(program, prompt: prompt)
    }
    if require == "force" { return nil }
    return readPassphrase(prompt: prompt)
}

/// ``askSecret(prompt:)`` for a prompt that cannot fail the command (a server asking for a
/// password): a failing askpass program is reported on stderr and counts as no answer.
func askSecretReportingFailure(prompt: String) -> SecureBytes? {
    do { return try askSecret(prompt: prompt) } catch let error as Failure {
        printError("keysmith: \(sentence(error.message))")
        return nil
    } catch {
        printError("keysmith: \(error)")
        return nil
    }
}

/// Runs the askpass program as ssh does (execlp: looked up in PATH, no shell) with the
/// prompt as its one argument, and takes the first line it prints.
private func runAskpass(_ program: String, prompt: String) throws -> SecureBytes {
    var fds: [Int32] = [-1, -1]
    guard pipe(&fds) == 0 else {
        throw Failure("cannot run the askpass program \(program): \(String(cString: strerror(errno)))")
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
        throw Failure("cannot run the askpass program \(program): \(String(cString: strerror(spawned)))")
    }
    // Read with read(2), not stdio, so no FILE buffer keeps a copy of the secret.
    let output = Result { try readSecret(from: fds[0], limit: 1 << 20, what: "the askpass program's output") }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    // <sys/wait.h>: the low 7 bits are the signal that ended it, the next 8 its exit status.
    if status & 0x7f != 0 {
        throw Failure("the askpass program \(program) was killed by signal \(status & 0x7f) and gave no answer")
    }
    if status != 0 {
        throw Failure("the askpass program \(program) exited with status \((status >> 8) & 0xff) and gave no answer")
    }
    return firstLine(try output.get())
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

/// True the first time ``take()`` is called, false afterwards.
final class OnceFlag: @unchecked Sendable {  // @unchecked: `taken` is only touched under `lock`
    private var lock = pthread_mutex_t()
    private var taken = false

    init() { pthread_mutex_init(&self.lock, nil) }
    deinit { pthread_mutex_destroy(&self.lock) }

    func take() -> Bool {
        pthread_mutex_lock(&self.lock)
        defer { pthread_mutex_unlock(&self.lock) }
        if self.taken { return false }
        self.taken = true
        return true
    }
}
