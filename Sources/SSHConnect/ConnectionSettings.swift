import SSHKeys
public import SSHProtocol

/// How to reach and log in to the hosts of one run: what keysmith's connection options
/// (`-p`, `-o`, `-F`, `--password-stdin`, `-v`, `--hosts-file`, `--parallel` and the
/// destinations) say, as a plain value.
public struct ConnectionSettings: Sendable {
    /// The default number of hosts worked on at the same time.
    public static let defaultParallelism = Fleet.defaultParallelism

    /// `-p`: wins over `-o Port` and ssh_config.
    public var port: Int?
    /// `-o`: ssh_config options, `Keyword=value`, in order.
    public var options: [String]
    /// `-F`: the ssh_config file read instead of `~/.ssh/config`.
    public var configFile: String?
    /// `--password-stdin`: the password is the first line of standard input.
    public var passwordStdin: Bool
    /// `-v`: say what happens on the connection.
    public var verbose: Bool
    /// `--hosts-file`: more destinations, one a line.
    public var hostsFile: String?
    /// `--parallel`: the most hosts worked on at the same time.
    public var parallel: Int
    /// The destinations on the command line, as written.
    public var destinations: [String]
    /// `-J`: jump hosts (a ProxyJump given on the command line, ahead of `-o` and the files).
    public var jump: String? = nil

    public init(
        port: Int? = nil,
        options: [String] = [],
        configFile: String? = nil,
        passwordStdin: Bool = false,
        verbose: Bool = false,
        hostsFile: String? = nil,
        parallel: Int = Fleet.defaultParallelism,
        destinations: [String] = [],
        jump: String? = nil
    ) {
        self.jump = jump
        self.port = port
        self.options = options
        self.configFile = configFile
        self.passwordStdin = passwordStdin
        self.verbose = verbose
        self.hostsFile = hostsFile
        self.parallel = parallel
        self.destinations = destinations
    }

    /// The destinations from the command line, then those of the hosts file, each once.
    /// - Throws: `.badFile` when the hosts file cannot be read, a line is not a
    ///   destination, or there is no destination at all.
    public func allDestinations() throws(SSHConnectError) -> [String] {
        var all = self.destinations
        if let file = self.hostsFile {
            let path = expandTilde(file)
            let contents: [UInt8]
            do { contents = try KeyFileIO.readFile(path) } catch {
                throw SSHConnectError(.badFile, "cannot read the hosts file \(path): \(error.message)")
            }
            all += try Self.hostsFileDestinations(String(decoding: contents, as: UTF8.self), path: path)
        }
        var seen = Set<String>()
        all = all.filter { seen.insert($0).inserted }
        guard !all.isEmpty else {
            throw SSHConnectError(.badFile, "the hosts file \(self.hostsFile ?? "") names no destination")
        }
        return all
    }

    /// The hosts of a hosts file: one `[user@]host` or `ssh://[user@]host[:port]` a line;
    /// blank lines and everything from a `#` that starts a word are ignored.
    /// - Throws: `.badFile` naming the file and line of anything else.
    public static func hostsFileDestinations(_ text: String, path: String) throws(SSHConnectError) -> [String] {
        var out: [String] = []
        // "\r\n" is one Character in Swift: split at it too, or a CR LF file is one line.
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        for (number, raw) in lines.enumerated() {
            var words: [Substring] = []
            for word in raw.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }) {
                if word.hasPrefix("#") { break }
                words.append(word)
            }
            guard let first = words.first else { continue }
            guard words.count == 1 else {
                throw SSHConnectError(
                    .badFile,
                    "\(path) line \(number + 1) holds more than one destination; give one a line"
                )
            }
            do { _ = try SSHDestination(parsing: String(first)) } catch {
                throw SSHConnectError(.badFile, "\(path) line \(number + 1): \(error.message)")
            }
            out.append(String(first))
        }
        return out
    }

    /// The configuration for `destination`: `-o` options first, then the `-F` file or
    /// `~/.ssh/config` (the first value of a keyword wins, as in ssh), `-p` over all.
    ///
    /// - Parameters:
    ///   - home: the home directory (`~`, the default files); default: the user's.
    ///   - localUser: the local login name (the default user); default: the user's.
    /// - Throws: `SSHConnectError` when the `-F` file does not exist; `SSHProtocolError`
    ///   for a bad option, file or destination.
    public func resolve(
        _ destination: String,
        home: String? = nil,
        localUser: String? = nil
    ) throws -> SSHResolvedConfig {
        let home = home ?? KeyFileIO.homeDirectory() ?? "/"
        var config = SSHConfig()
        if let jump = self.jump { try config.addJump(jump) }
        for o in self.options { try config.addOption(o) }
        return try self.resolve(
            try SSHDestination(parsing: destination),
            config: config,
            port: self.port,
            home: home,
            localUser: localUser
        )
    }

    /// The configuration of a jump host, as ssh resolves a hop (ssh.c runs it as
    /// `ssh -l USER -p PORT [-J LEADING] [-F FILE] HOST`): the user and port the hop names
    /// win, `jump` (the hops before it) is its `-J`, and the `-F` file or `~/.ssh/config`
    /// applies; `-o` options and `-p` apply to the destination alone, as in ssh.
    /// - Throws: as ``resolve(_:home:localUser:)``.
    public func resolveJumpHost(
        _ hop: SSHDestination,
        jump: String?,
        home: String? = nil,
        localUser: String? = nil
    ) throws -> SSHResolvedConfig {
        let home = home ?? KeyFileIO.homeDirectory() ?? "/"
        var config = SSHConfig()
        if let jump { try config.addJump(jump) }
        return try self.resolve(hop, config: config, port: nil, home: home, localUser: localUser)
    }

    private func resolve(
        _ destination: SSHDestination,
        config start: SSHConfig,
        port: Int?,
        home: String,
        localUser: String?
    ) throws -> SSHResolvedConfig {
        var config = start
        if let file = self.configFile {
            let path = expandTilde(file)
            guard KeyFileIO.fileExists(path) else {
                throw SSHConnectError(.badFile, "the ssh_config file \(path) does not exist")
            }
            try config.addFile(atPath: path, sshDirectory: home + "/.ssh")
        } else {
            try config.addFile(atPath: home + "/.ssh/config", sshDirectory: home + "/.ssh")
        }
        return try config.resolve(
            destination: destination,
            port: port,
            localUser: localUser ?? localUserName(),
            home: home
        )
    }
}
