internal import SSHKeys

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// ssh_config(5)'s StrictHostKeyChecking.
public enum StrictHostKeyChecking: String, Sendable, Hashable, CaseIterable {
    /// Never add keys; refuse unknown hosts.
    case yes
    /// Add keys of unknown hosts without asking; refuse changed keys.
    case acceptNew = "accept-new"
    /// Add keys of unknown hosts without asking (keysmith still refuses changed keys).
    case no
    /// Ask on the terminal about unknown hosts (ssh's default).
    case ask
}

/// The settings for one connection after `-o` options and the ssh_config files are applied,
/// as ssh(1) computes them: for each keyword the first value obtained wins (`IdentityFile`
/// accumulates), command-line options come before the files, and a `Host` section applies when
/// one of its patterns matches the host as given and none of its negated (`!`) patterns does.
public struct SSHResolvedConfig: Sendable {
    /// The host as given on the command line (what `Host` patterns matched).
    public var host: String
    /// The name or address to connect to (`HostName`, else ``host``); also the known_hosts name.
    public var hostName: String
    public var port: Int
    public var user: String
    /// Private key files to authenticate with, `~` and `%` tokens expanded, in order.
    public var identityFiles: [String]
    /// Whether ``identityFiles`` are ssh's defaults (no `IdentityFile` was given); missing ones are then skipped quietly.
    public var identityFilesAreDefaults: Bool
    /// `CertificateFile`: user certificates to offer, `~` and `%` tokens expanded, in order.
    /// When none is given, `FILE-cert.pub` beside each identity file is offered (ssh.c
    /// `load_public_identity_files`).
    public var certificateFiles: [String] = []
    /// `HostKeyAlias`, lowercased as ssh.c does: the name host keys are looked up and
    /// recorded under, and the name a host certificate must be valid for.
    public var hostKeyAlias: String? = nil
    /// `CASignatureAlgorithms` as written (`+…`, `-…`, `^…` or a plain list), nil when not set.
    public var caSignatureAlgorithms: String? = nil
    /// `PubkeyAcceptedAlgorithms` (or its old name `PubkeyAcceptedKeyTypes`) as written
    /// (`+…`, `-…`, `^…` or a plain list), nil when not set.
    public var pubkeyAcceptedAlgorithms: String? = nil
    /// `RequiredRSASize`: the fewest bits an RSA host key or identity may have.
    public var requiredRSASize: Int = 1024
    /// `RevokedHostKeys`: a KRL or a file of public keys whose host keys are refused, the
    /// path as written (ssh 9.2 expands nothing in it); nil for none.
    public var revokedHostKeys: String? = nil
    /// `NoHostAuthenticationForLocalhost`: accept any host key when the connection goes to a
    /// loopback address and no HostKeyAlias is set (sshconnect.c `check_host_key`).
    public var noHostAuthenticationForLocalhost: Bool = false
    /// `KnownHostsCommand`: its words and this connection's `%` tokens; nil for none.
    public var knownHostsCommand: KnownHostsCommand? = nil
    /// `IdentitiesOnly`: offer only the identity files, not the agent's other keys.
    public var identitiesOnly: Bool
    /// `UserKnownHostsFile`; new host keys are added to the first.
    public var userKnownHostsFiles: [String]
    /// `GlobalKnownHostsFile`, read but never written.
    public var globalKnownHostsFiles: [String]
    public var strictHostKeyChecking: StrictHostKeyChecking
    /// `HashKnownHosts`: add new known_hosts entries with hashed names.
    public var hashKnownHosts: Bool
    /// `CheckHostIP`: check (and record) the connected address's host key in known_hosts
    /// too (``HostKeyPolicy``).
    public var checkHostIP: Bool = false
    /// The algorithm lists as written (`+…`, `-…`, `^…` or a plain list), nil when not set.
    public var kexAlgorithms: String?
    public var ciphers: String?
    public var macs: String?
    public var hostKeyAlgorithms: String?
    /// `PreferredAuthentications`, restricted to the methods keysmith implements.
    public var preferredAuthentications: [SSHAuthenticationMethod]
    /// `BatchMode`: never prompt (passwords, passphrases, host keys).
    public var batchMode: Bool
    /// `ConnectTimeout` in seconds, nil for the system's.
    public var connectTimeout: Double?
    /// `SecurityKeyProvider` as written (a library path, `internal`, or `$NAME` for an
    /// environment variable, which ssh.c resolves), nil when not set.
    public var securityKeyProvider: String?
    /// `ProxyJump` (or `-J`): the jump hosts to reach the host through, nil for none.
    /// Of ProxyJump and ProxyCommand the first one obtained wins (readconf.c).
    public var proxyJump: SSHProxyJump? = nil
    /// `ProxyCommand` with its `%h %p %r %n %k %%` tokens expanded (sshconnect.c
    /// `expand_proxy_command`), run as `exec COMMAND` by the user's shell; nil for none.
    public var proxyCommand: String? = nil
    /// `ProxyUseFdpass`: the ProxyCommand passes back a connected socket instead of
    /// relaying; never with a ProxyJump (ssh.c turns it off).
    public var proxyUseFdpass: Bool = false
    /// `IdentityAgent`: where the agent whose keys are offered listens.
    public var identityAgent: SSHIdentityAgent = .environment("SSH_AUTH_SOCK")
    /// `AddressFamily`: the addresses the host name resolves to.
    public var addressFamily: SSHAddressFamily = .any
    /// `BindAddress`: the local address connections come from, nil for any.
    public var bindAddress: String? = nil
    /// `BindInterface`: connections come from this interface's address of the remote
    /// address's family; BindAddress wins over it (sshconnect.c `ssh_create_socket`).
    public var bindInterface: String? = nil
    /// `ConnectionAttempts`: how many times each connection is tried, a second apart.
    public var connectionAttempts: Int = 1
    /// `ServerAliveInterval` in seconds: after this long without a packet from the server,
    /// keysmith sends a keepalive@openssh.com request; 0 sends none.
    public var serverAliveInterval: Int = 0
    /// `ServerAliveCountMax`: keepalives left unanswered before the connection is dropped.
    public var serverAliveCountMax: Int = 3
    /// `RekeyLimit`'s amount of data, in bytes, after which keys are renewed; nil (or 0) for the cipher's default.
    public var rekeyLimitBytes: UInt64? = nil
    /// `RekeyLimit`'s time, in seconds, after which keys are renewed; nil for none.
    public var rekeyLimitSeconds: Int? = nil
    /// `SetEnv`: `NAME=value` pairs sent as "env" requests before each command.
    public var setEnv: [String] = []
    /// `SendEnv`: patterns of local environment variables sent as "env" requests before each command.
    public var sendEnv: [String] = []

    /// The signature algorithms a certificate's CA may have used (ssh's CASignatureAlgorithms).
    /// - Throws: `.invalidConfiguration` when the list leaves nothing keysmith supports.
    public func certificateSignatureAlgorithms() throws(SSHProtocolError) -> [String] {
        let defaults = SSHCertificate.defaultCASignatureAlgorithms
        guard let spec = self.caSignatureAlgorithms else { return defaults }
        return try SSHAlgorithms.applying(spec, to: defaults, supported: defaults + ["ssh-rsa"])
    }

    /// The algorithms keys may be offered under (ssh's PubkeyAcceptedAlgorithms, readconf.c
    /// `kex_assemble_names` over myproposal.h `KEX_DEFAULT_PK_ALG`), in order.
    /// - Throws: `.invalidConfiguration` when the list leaves nothing keysmith supports.
    public func publicKeyAlgorithms() throws(SSHProtocolError) -> [String] {
        guard let spec = self.pubkeyAcceptedAlgorithms else { return SSHAlgorithms.defaultPublicKey }
        do {
            return try SSHAlgorithms.applying(
                spec,
                to: SSHAlgorithms.defaultPublicKey,
                supported: SSHAlgorithms.supportedPublicKey
            )
        } catch {
            throw SSHProtocolError(.invalidConfiguration, "PubkeyAcceptedAlgorithms \(error.message)")
        }
    }

    /// The algorithm preferences: `base` narrowed by the four algorithm keywords.
    /// - Throws: `.invalidConfiguration` when a list leaves nothing keysmith supports.
    public func algorithms(base: SSHAlgorithms = .clientDefaults) throws(SSHProtocolError) -> SSHAlgorithms {
        var a = base
        if let spec = self.kexAlgorithms {
            a.keyExchange = try SSHAlgorithms.applying(spec, to: base.keyExchange, supported: base.keyExchange)
        }
        if let spec = self.hostKeyAlgorithms {
            // Host certificate algorithms may be named, as in ssh's own list.
            let supported = SSHAlgorithms.supportedHostCertificate + base.hostKey
            a.hostKey = try SSHAlgorithms.applying(spec, to: base.hostKey, supported: supported)
        }
        if let spec = self.ciphers {
            a.ciphers = try SSHAlgorithms.applying(spec, to: base.ciphers, supported: base.ciphers)
        }
        if let spec = self.macs {
            a.macs = try SSHAlgorithms.applying(spec, to: base.macs, supported: base.macs)
        }
        return a
    }
}

/// ssh_config(5)'s IdentityAgent, as readconf.c `parse_agent_path` keeps it.
public enum SSHIdentityAgent: Sendable, Hashable {
    /// The socket an environment variable names (`SSH_AUTH_SOCK`, the default, or `$NAME`).
    case environment(String)
    /// `none`: no agent.
    case none
    /// A socket path, `~` and the `%` tokens expanded.
    case socket(String)
}

/// ssh_config(5) text: `-o` options and configuration files, parsed and resolved for one host.
///
/// Keywords are implemented, ignored because they cannot change a key deploy, refused
/// when they would change where or how ssh connects and keysmith does not implement them
/// (``SSHConfigKeyword``, docs/ssh-config.md). A bad value
/// for one keysmith reads is an error naming the file and line (or the `-o` option).
/// `Host` and `Match` sections are evaluated as ssh does (``resolve(destination:port:localUser:home:resolver:)``).
public struct SSHConfig: Sendable {
    /// One `keyword args` line with the sections it sits under.
    struct Line: Sendable {
        var keyword: String
        /// The keyword as written, for messages.
        var name: String = ""
        var arguments: [String]
        var source: String
        /// The rest of the line after the keyword as written (readconf.c hands it whole to
        /// ProxyCommand and ProxyJump).
        var raw: String = ""
        /// The `Host` or `Match` sections (indices into ``sections``) that must all apply
        /// for this line to: its own, and those in force where each enclosing `Include` was.
        var conditions: [Int] = []
    }

    /// A `Host` or `Match` line, evaluated in its place in the order of the files.
    struct Section: Sendable {
        enum Condition: Sendable {
            case host([String])
            case match([MatchCriterion])
        }
        var condition: Condition
        var source: String
        /// The sections in force where the file holding this one was included.
        var enclosing: [Int]
    }

    /// Lines and section headers in file order (readconf.c evaluates both as it reads).
    enum Entry: Sendable {
        case line(Line)
        case section(Int)
    }

    private(set) var entries: [Entry] = []
    private(set) var sections: [Section] = []
    var lines: [Line] {
        self.entries.compactMap {
            if case .line(let line) = $0 { return line }
            return nil
        }
    }

    public init() {}

    /// The keywords whose values keysmith reads and acts on (lowercased).
    public static let knownKeywords: Set<String> = Set(SSHConfigKeyword.implementedKeywords.map { $0.lowercased() })

    /// Adds one `-o` option, `Keyword=value` or `Keyword value`.
    /// - Throws: `.invalidConfiguration` for a malformed option or a bad value.
    public mutating func addOption(_ text: String) throws(SSHProtocolError) {
        guard let (keyword, arguments) = try Self.split(line: text, source: "-o '\(text)'") else {
            throw SSHProtocolError(.invalidConfiguration, "the option -o '\(text)' is empty")
        }
        let k = keyword.lowercased()
        if k == "host" || k == "match" || k == "include" {
            throw SSHProtocolError(.invalidConfiguration, "-o '\(text)': \(keyword) is not allowed on the command line")
        }
        var line = Line(keyword: k, arguments: arguments, source: "-o '\(text)'")
        line.name = keyword
        line.raw = Self.rawValue(text)
        try Self.validate(line)
        self.entries.append(.line(line))
    }

    /// Adds `-J`'s jump hosts: a `ProxyJump` given on the command line, so before any file.
    /// - Throws: `.invalidConfiguration` for a value that is not a ProxyJump.
    public mutating func addJump(_ text: String) throws(SSHProtocolError) {
        var line = Line(keyword: "proxyjump", arguments: [text], source: "-J '\(text)'")
        line.name = "ProxyJump"
        line.raw = text
        try Self.validate(line)
        self.entries.append(.line(line))
    }

    /// Adds a configuration file's text. `Include` reads further files (globs allowed,
    /// relative paths under `sshDirectory`), at most 16 levels deep.
    /// - Throws: `.invalidConfiguration` naming `path` and the line.
    public mutating func addFile(contents: String, path: String, sshDirectory: String) throws(SSHProtocolError) {
        try self.addFile(contents: contents, path: path, sshDirectory: sshDirectory, enclosing: [], depth: 0)
    }

    /// Reads the file at `path` if it exists (a missing file is no error, as for ssh's ~/.ssh/config).
    public mutating func addFile(atPath path: String, sshDirectory: String) throws(SSHProtocolError) {
        guard let text = Self.readText(path) else { return }
        try self.addFile(contents: text, path: path, sshDirectory: sshDirectory)
    }

    private mutating func addFile(
        contents: String,
        path: String,
        sshDirectory: String,
        enclosing: [Int],
        depth: Int
    ) throws(SSHProtocolError) {
        // readconf.c: lines before the first Host or Match of a file apply wherever the
        // Include that read it did; a section ends at the next one or at the file's end.
        var conditions = enclosing
        var number = 0
        // "\r\n" is one Character in Swift, so splitting at "\n" alone would leave a CR LF
        // file one long line; readconf.c reads it line by line and strips the CR.
        for raw in contents.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            number += 1
            let source = "\(path) line \(number)"
            guard let (keyword, arguments) = try Self.split(line: String(raw), source: source) else { continue }
            switch keyword.lowercased() {
            case "host":
                guard !arguments.isEmpty else {
                    throw SSHProtocolError(.invalidConfiguration, "\(source): Host needs at least one pattern")
                }
                conditions = enclosing + [self.addSection(.host(arguments), source: source, enclosing: enclosing)]
            case "match":
                let criteria = try MatchCriterion.parse(arguments, source: source)
                conditions = enclosing + [self.addSection(.match(criteria), source: source, enclosing: enclosing)]
            case "include":
                guard depth < 16 else {
                    throw SSHProtocolError(.invalidConfiguration, "\(source): Include nested too deeply")
                }
                for pattern in arguments {
                    let expanded = pattern.hasPrefix("~/") ? Self.home(sshDirectory) + pattern.dropFirst() : pattern
                    let full = expanded.hasPrefix("/") ? expanded : sshDirectory + "/" + expanded
                    for file in Self.expandGlob(full) {
                        guard let text = Self.readText(file) else { continue }
                        try self.addFile(
                            contents: text,
                            path: file,
                            sshDirectory: sshDirectory,
                            enclosing: conditions,
                            depth: depth + 1
                        )
                    }
                }
            case let k:
                var line = Line(keyword: k, arguments: arguments, source: source, conditions: conditions)
                line.name = keyword
                line.raw = Self.rawValue(String(raw))
                try Self.validate(line)
                self.entries.append(.line(line))
            }
        }
    }

    private mutating func addSection(_ condition: Section.Condition, source: String, enclosing: [Int]) -> Int {
        self.sections.append(Section(condition: condition, source: source, enclosing: enclosing))
        self.entries.append(.section(self.sections.count - 1))
        return self.sections.count - 1
    }

    /// Whether a `Host` pattern list applies to `host` (readconf.c: any positive match and
    /// no negated one; match.c `match_pattern` compares bytes, so case counts).
    static func hostMatches(_ host: String, patterns: [String]) -> Bool {
        let name = Array(host.utf8)
        var matched = false
        for pattern in patterns {
            let negated = pattern.hasPrefix("!")
            let glob = Array((negated ? String(pattern.dropFirst()) : pattern).utf8)
            if HostPattern.matches(name, glob: glob) {
                if negated { return false }
                matched = true
            }
        }
        return matched
    }

    // MARK: Values

    /// Checks a line's value early, so a bad value is reported even for hosts it does not apply to.
    static func validate(_ line: Line) throws(SSHProtocolError) {
        guard SSHConfigKeyword.of(line.keyword) == .implemented else { return }
        guard !line.arguments.isEmpty else {
            throw SSHProtocolError(.invalidConfiguration, "\(line.source): \(line.name) needs a value")
        }
        switch line.keyword {
        case "port": _ = try parsePort(line)
        case "identitiesonly", "batchmode", "hashknownhosts", "checkhostip", "proxyusefdpass",
            "nohostauthenticationforlocalhost":
            _ = try parseYesNo(line)
        case "stricthostkeychecking": _ = try parseStrict(line)
        case "preferredauthentications": _ = try parseMethods(line)
        case "connecttimeout": _ = try parseTimeout(line)
        case "userknownhostsfile", "globalknownhostsfile", "proxycommand", "knownhostscommand": break
        case "proxyjump": if line.raw.lowercased() != "none" { _ = try parseJump(line) }
        case "addressfamily": _ = try parseAddressFamily(line)
        case "connectionattempts", "serveralivecountmax", "canonicalizemaxdots": _ = try parseCount(line)
        case "serveraliveinterval": _ = try parseInterval(line)
        case "rekeylimit": _ = try parseRekeyLimit(line)
        case "canonicalizehostname": _ = try parseCanonicalize(line)
        case "canonicalizefallbacklocal": _ = try parseYesNo(line)
        case "canonicalizepermittedcnames": _ = try parsePermittedCNAMEs(line)
        case "canonicaldomains": try checkDomains(line)
        case "setenv", "sendenv": try checkEnvironment(line)
        case "pubkeyacceptedalgorithms", "pubkeyacceptedkeytypes": try checkKeyAlgorithms(line)
        case "requiredrsasize": _ = try parseCount(line)
        case "pubkeyauthentication", "passwordauthentication", "kbdinteractiveauthentication",
            "challengeresponseauthentication":
            _ = try parseAuthenticationSwitch(line)
        default:
            if line.arguments.count > 1 {
                throw SSHProtocolError(
                    .invalidConfiguration,
                    "\(line.source): \(line.name) takes one value, not \(line.arguments.count)"
                )
            }
        }
    }

    static func badValue(_ line: Line, _ expected: String) -> SSHProtocolError {
        SSHProtocolError(
            .invalidConfiguration,
            "\(line.source): '\(line.arguments.joined(separator: " "))' is not a valid value for \(line.name) (expected \(expected))"
        )
    }

    /// readconf.c: ProxyJump is checked strictly on the command line (`-o`, `-J`), not in files.
    static func parseJump(_ line: Line) throws(SSHProtocolError) -> SSHProxyJump {
        do {
            return try SSHProxyJump(parsing: line.raw, strict: line.conditions.isEmpty && line.source.hasPrefix("-"))
        } catch {
            throw SSHProtocolError(
                .invalidConfiguration,
                "\(line.source): invalid ProxyJump '\(line.raw)': \(error.message)"
            )
        }
    }

    /// readconf.c: the rest of a line after its keyword, the blanks and `=` that follow it
    /// and trailing blanks removed.
    static func rawValue(_ line: String) -> String {
        var chars = Substring(line)
        if chars.hasSuffix("\r") { chars = chars.dropLast() }
        chars = chars.drop { $0 == " " || $0 == "\t" }
        chars = chars.drop { $0 != " " && $0 != "\t" && $0 != "=" }
        chars = chars.drop { $0 == " " || $0 == "\t" || $0 == "=" }
        while let last = chars.last, last == " " || last == "\t" || last == "\u{0C}" { chars = chars.dropLast() }
        return String(chars)
    }

    static func parsePort(_ line: Line) throws(SSHProtocolError) -> Int {
        guard let p = Int(line.arguments[0]), (1...65535).contains(p) else {
            throw badValue(line, "a port from 1 to 65535")
        }
        return p
    }

    static func parseYesNo(_ line: Line) throws(SSHProtocolError) -> Bool {
        switch line.arguments[0].lowercased() {
        case "yes", "true": return true
        case "no", "false": return false
        default: throw badValue(line, "yes or no")
        }
    }

    /// readconf.c `multistate_strict_hostkey`.
    static func parseStrict(_ line: Line) throws(SSHProtocolError) -> StrictHostKeyChecking {
        switch line.arguments[0].lowercased() {
        case "yes", "true": return .yes
        case "no", "false", "off": return .no
        case "ask": return .ask
        case "accept-new": return .acceptNew
        default: throw badValue(line, "yes, accept-new, no, off or ask")
        }
    }

    static func parseMethods(_ line: Line) throws(SSHProtocolError) -> [SSHAuthenticationMethod] {
        var methods: [SSHAuthenticationMethod] = []
        for name in line.arguments[0].split(separator: ",") {
            if let m = SSHAuthenticationMethod(rawValue: String(name)), !methods.contains(m) { methods.append(m) }
        }
        guard !methods.isEmpty else { throw badValue(line, "a list with publickey, keyboard-interactive or password") }
        return methods
    }

    /// misc.c `convtime`: a number of seconds, or a sum of numbers with s, m, h, d, w suffixes.
    static func parseTimeout(_ line: Line) throws(SSHProtocolError) -> Double? {
        let text = line.arguments[0].lowercased()
        if text == "none" { return nil }
        guard let total = OpenSSHDuration.seconds(text) else { throw badValue(line, "a number of seconds") }
        guard total > 0 && total <= 86400 * 365 else { throw badValue(line, "a positive number of seconds") }
        return Double(total)
    }

    /// Expands a leading `~` and `%` tokens (`%%` is a percent sign).
    static func expand(
        _ text: String,
        tokens: [Character: String],
        source: String,
        home: String,
        tilde: Bool = true
    ) throws(SSHProtocolError) -> String {
        var s = text
        if tilde && s == "~" {
            s = home
        } else if tilde && s.hasPrefix("~/") {
            s = home + s.dropFirst()
        }
        var out = ""
        var it = s.makeIterator()
        while let c = it.next() {
            guard c == "%" else {
                out.append(c)
                continue
            }
            guard let t = it.next() else {
                throw SSHProtocolError(.invalidConfiguration, "\(source): '\(text)' ends with a lone '%'")
            }
            if t == "%" {
                out.append("%")
            } else if let v = tokens[t] {
                out += v
            } else {
                throw SSHProtocolError(.invalidConfiguration, "\(source): '\(text)' uses the unknown token %\(t)")
            }
        }
        return out
    }

    // MARK: Lines

    /// readconf.c: the keyword ends at a blank or `=`; then blanks, at most one `=`, blanks;
    /// the arguments are split like misc.c `argv_split` (double or single quotes, `\` escapes,
    /// a `#` starting a word ends the line). Returns nil for blank and comment lines.
    static func split(line raw: String, source: String) throws(SSHProtocolError) -> (String, [String])? {
        var chars = Substring(raw)
        if chars.hasSuffix("\r") { chars = chars.dropLast() }
        chars = chars.drop { $0 == " " || $0 == "\t" }
        if chars.isEmpty || chars.hasPrefix("#") { return nil }
        let keyEnd = chars.firstIndex { $0 == " " || $0 == "\t" || $0 == "=" } ?? chars.endIndex
        let keyword = String(chars[..<keyEnd])
        var rest = chars[keyEnd...].drop { $0 == " " || $0 == "\t" }
        if rest.hasPrefix("=") { rest = rest.dropFirst().drop { $0 == " " || $0 == "\t" } }
        var args: [String] = []
        var i = rest.startIndex
        while i < rest.endIndex {
            while i < rest.endIndex && (rest[i] == " " || rest[i] == "\t") { i = rest.index(after: i) }
            if i == rest.endIndex || rest[i] == "#" { break }
            var word = ""
            var quote: Character? = nil
            while i < rest.endIndex {
                let c = rest[i]
                if quote == nil && (c == " " || c == "\t") { break }
                if c == "\\" {
                    let next = rest.index(after: i)
                    if next < rest.endIndex,
                        rest[next] == "\\" || rest[next] == "\"" || rest[next] == "'" || rest[next] == " "
                    {
                        word.append(rest[next])
                        i = rest.index(after: next)
                        continue
                    }
                } else if c == "\"" || c == "'" {
                    if quote == nil {
                        quote = c
                        i = rest.index(after: i)
                        continue
                    } else if quote == c {
                        quote = nil
                        i = rest.index(after: i)
                        continue
                    }
                }
                word.append(c)
                i = rest.index(after: i)
            }
            if quote != nil {
                throw SSHProtocolError(.invalidConfiguration, "\(source): a quote is not closed")
            }
            args.append(word)
        }
        return (keyword, args)
    }

    // MARK: System

    static func readText(_ path: String) -> String? {
        guard let f = fopen(path, "r") else { return nil }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&buffer, 1, buffer.count, f)
            if n <= 0 { break }
            bytes += buffer[0..<n]
            if bytes.count > 1 << 22 { return nil }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func expandGlob(_ pattern: String) -> [String] {
        var g = glob_t()
        defer { globfree(&g) }
        guard glob(pattern, 0, nil, &g) == 0 else { return [] }
        var out: [String] = []
        for i in 0..<Int(g.gl_pathc) {
            if let p = g.gl_pathv[i] { out.append(String(cString: p)) }
        }
        return out.sorted()
    }

    static func home(_ sshDirectory: String) -> String {
        sshDirectory.hasSuffix("/.ssh") ? String(sshDirectory.dropLast(5)) : sshDirectory
    }

    static func localHostName() -> String {
        var host = [CChar](repeating: 0, count: 256)
        _ = gethostname(&host, host.count - 1)
        return String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
