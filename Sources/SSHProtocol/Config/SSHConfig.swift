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
    /// `IdentitiesOnly`: offer only the identity files, not the agent's other keys.
    public var identitiesOnly: Bool
    /// `UserKnownHostsFile`; new host keys are added to the first.
    public var userKnownHostsFiles: [String]
    /// `GlobalKnownHostsFile`, read but never written.
    public var globalKnownHostsFiles: [String]
    public var strictHostKeyChecking: StrictHostKeyChecking
    /// `HashKnownHosts`: add new known_hosts entries with hashed names.
    public var hashKnownHosts: Bool
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

    /// The signature algorithms a certificate's CA may have used (ssh's CASignatureAlgorithms).
    /// - Throws: `.invalidConfiguration` when the list leaves nothing keysmith supports.
    public func certificateSignatureAlgorithms() throws(SSHProtocolError) -> [String] {
        let defaults = SSHCertificate.defaultCASignatureAlgorithms
        guard let spec = self.caSignatureAlgorithms else { return defaults }
        return try SSHAlgorithms.applying(spec, to: defaults, supported: defaults + ["ssh-rsa"])
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

/// ssh_config(5) text: `-o` options and configuration files, parsed and resolved for one host.
///
/// Keywords keysmith does not use are ignored; a bad value for one it uses is an error
/// naming the file and line (or the `-o` option). `Match` sections other than `Match all`
/// are skipped (keysmith does not evaluate their criteria).
public struct SSHConfig: Sendable {
    /// One `keyword args` line with the `Host` condition it sits under.
    struct Line: Sendable {
        var keyword: String
        /// The keyword as written, for messages.
        var name: String = ""
        var arguments: [String]
        var source: String
        /// The rest of the line after the keyword as written (readconf.c hands it whole to
        /// ProxyCommand and ProxyJump).
        var raw: String = ""
        /// The `Host` patterns in force, nil for lines outside any section.
        var patterns: [String]?
        /// A section that never applies (an unsupported `Match`).
        var never: Bool
    }

    private(set) var lines: [Line] = []

    public init() {}

    /// The keywords whose values keysmith reads (lowercased).
    public static let knownKeywords: Set<String> = [
        "hostname", "user", "port", "identityfile", "identitiesonly", "userknownhostsfile",
        "globalknownhostsfile", "stricthostkeychecking", "kexalgorithms", "ciphers", "macs",
        "hostkeyalgorithms", "preferredauthentications", "batchmode", "connecttimeout", "hashknownhosts",
        "securitykeyprovider", "certificatefile", "hostkeyalias", "casignaturealgorithms", "proxyjump",
        "proxycommand",
    ]

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
        var line = Line(keyword: k, arguments: arguments, source: "-o '\(text)'", patterns: nil, never: false)
        line.name = keyword
        line.raw = Self.rawValue(text)
        try Self.validate(line)
        self.lines.append(line)
    }

    /// Adds `-J`'s jump hosts: a `ProxyJump` given on the command line, so before any file.
    /// - Throws: `.invalidConfiguration` for a value that is not a ProxyJump.
    public mutating func addJump(_ text: String) throws(SSHProtocolError) {
        var line = Line(keyword: "proxyjump", arguments: [text], source: "-J '\(text)'", patterns: nil, never: false)
        line.name = "ProxyJump"
        line.raw = text
        try Self.validate(line)
        self.lines.append(line)
    }

    /// Adds a configuration file's text. `Include` reads further files (globs allowed,
    /// relative paths under `sshDirectory`), at most 16 levels deep.
    /// - Throws: `.invalidConfiguration` naming `path` and the line.
    public mutating func addFile(contents: String, path: String, sshDirectory: String) throws(SSHProtocolError) {
        try self.addFile(contents: contents, path: path, sshDirectory: sshDirectory, patterns: nil, depth: 0)
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
        patterns outer: [String]?,
        depth: Int
    ) throws(SSHProtocolError) {
        var patterns = outer
        var never = false
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
                patterns = arguments
                never = false
            case "match":
                // Only `Match all` is understood; any other criteria disable the section.
                let isAll = arguments.count == 1 && arguments[0].lowercased() == "all"
                patterns = ["*"]
                never = !isAll
            case "include":
                guard depth < 16 else {
                    throw SSHProtocolError(.invalidConfiguration, "\(source): Include nested too deeply")
                }
                if never { continue }
                for pattern in arguments {
                    let expanded = pattern.hasPrefix("~/") ? Self.home(sshDirectory) + pattern.dropFirst() : pattern
                    let full = expanded.hasPrefix("/") ? expanded : sshDirectory + "/" + expanded
                    for file in Self.expandGlob(full) {
                        guard let text = Self.readText(file) else { continue }
                        try self.addFile(
                            contents: text,
                            path: file,
                            sshDirectory: sshDirectory,
                            patterns: patterns,
                            depth: depth + 1
                        )
                    }
                }
            case let k:
                var line = Line(keyword: k, arguments: arguments, source: source, patterns: patterns, never: never)
                line.name = keyword
                line.raw = Self.rawValue(String(raw))
                try Self.validate(line)
                self.lines.append(line)
            }
        }
    }

    /// Whether a `Host` pattern list applies to `host` (readconf.c: any positive match and no negated one).
    static func hostMatches(_ host: String, patterns: [String]) -> Bool {
        let name = Array(host.lowercased().utf8)
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

    /// Resolves the settings for `destination`.
    ///
    /// - Parameters:
    ///   - destination: the host (and possibly user and port) from the command line.
    ///   - port: a port given on the command line (`-p`), which wins over every other.
    ///   - localUser: the local login name (default user, `%u`).
    ///   - home: the local home directory (`~`, `%d`, default files).
    /// - Throws: `.invalidConfiguration` when a value is bad.
    public func resolve(
        destination: SSHDestination,
        port explicitPort: Int? = nil,
        localUser: String,
        home: String
    ) throws(SSHProtocolError) -> SSHResolvedConfig {
        var first: [String: Line] = [:]
        var identityLines: [Line] = []
        var certificateLines: [Line] = []
        // readconf.c: a ProxyJump (even `none`) is taken only while no ProxyJump was, and
        // a ProxyJump other than none only while no ProxyCommand was either, and it sets
        // ProxyCommand to none; a ProxyCommand only while no ProxyCommand was.
        var jumpLine: Line? = nil
        var jumpIsNone = false
        var commandLine: Line? = nil
        var commandIsNone = false
        for line in self.lines where !line.never {
            if let patterns = line.patterns, !Self.hostMatches(destination.host, patterns: patterns) { continue }
            if line.keyword == "proxyjump" {
                let none = line.raw.lowercased() == "none"
                if none && jumpLine == nil && !jumpIsNone {
                    jumpIsNone = true
                } else if !none && jumpLine == nil && !jumpIsNone && commandLine == nil && !commandIsNone {
                    jumpLine = line
                    commandIsNone = true
                }
            } else if line.keyword == "proxycommand" {
                if commandLine == nil && !commandIsNone {
                    if line.raw.lowercased() == "none" { commandIsNone = true } else { commandLine = line }
                }
            } else if line.keyword == "identityfile" {
                identityLines.append(line)
            } else if line.keyword == "certificatefile" {
                certificateLines.append(line)
            } else if first[line.keyword] == nil {
                first[line.keyword] = line
            }
        }
        func value(_ k: String) -> Line? { first[k] }

        let hostName: String
        if let line = value("hostname") {
            hostName = try Self.expand(
                line.arguments[0],
                tokens: ["h": destination.host],
                source: line.source,
                home: home
            )
        } else {
            hostName = destination.host
        }
        var port = 22
        if let explicitPort {
            port = explicitPort
        } else if let p = destination.port {
            port = p
        } else if let line = value("port") {
            port = try Self.parsePort(line)
        }
        var user = localUser
        if let u = destination.user {
            user = u
        } else if let line = value("user") {
            user = try Self.expand(line.arguments[0], tokens: ["u": localUser], source: line.source, home: home)
        }
        let tokens: [Character: String] = [
            "d": home, "u": localUser, "h": hostName, "r": user, "p": String(port), "n": destination.host,
            "l": Self.localHostName(),
        ]
        var identities: [String] = []
        for line in identityLines {
            let file = try Self.expand(line.arguments[0], tokens: tokens, source: line.source, home: home)
            if file.lowercased() == "none" { continue }
            if !identities.contains(file) { identities.append(file) }
        }
        var certificates: [String] = []
        for line in certificateLines {
            let file = try Self.expand(line.arguments[0], tokens: tokens, source: line.source, home: home)
            if file.lowercased() == "none" { continue }
            if !certificates.contains(file) { certificates.append(file) }
        }
        let defaults = identityLines.isEmpty
        if defaults {
            // readconf.c fill_default_options: the security keys after their software kin.
            let names = ["id_rsa", "id_ecdsa", "id_ecdsa_sk", "id_ed25519", "id_ed25519_sk"]
            identities = names.map { home + "/.ssh/" + $0 }
        }
        var userKnown = [home + "/.ssh/known_hosts", home + "/.ssh/known_hosts2"]
        if let line = value("userknownhostsfile") {
            userKnown = []
            for a in line.arguments {
                userKnown.append(try Self.expand(a, tokens: tokens, source: line.source, home: home))
            }
        }
        var globalKnown = ["/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"]
        if let line = value("globalknownhostsfile") {
            globalKnown = []
            for a in line.arguments {
                globalKnown.append(try Self.expand(a, tokens: tokens, source: line.source, home: home))
            }
        }
        var methods: [SSHAuthenticationMethod] = [.publicKey, .keyboardInteractive, .password]
        if let line = value("preferredauthentications") {
            methods = try Self.parseMethods(line)
        }
        var resolved = SSHResolvedConfig(
            host: destination.host,
            hostName: hostName,
            port: port,
            user: user,
            identityFiles: identities,
            identityFilesAreDefaults: defaults,
            identitiesOnly: try value("identitiesonly").map(Self.parseYesNo) ?? false,
            userKnownHostsFiles: userKnown,
            globalKnownHostsFiles: globalKnown,
            strictHostKeyChecking: try value("stricthostkeychecking").map(Self.parseStrict) ?? .ask,
            hashKnownHosts: try value("hashknownhosts").map(Self.parseYesNo) ?? false,
            kexAlgorithms: value("kexalgorithms")?.arguments[0],
            ciphers: value("ciphers")?.arguments[0],
            macs: value("macs")?.arguments[0],
            hostKeyAlgorithms: value("hostkeyalgorithms")?.arguments[0],
            preferredAuthentications: methods,
            batchMode: try value("batchmode").map(Self.parseYesNo) ?? false,
            connectTimeout: try value("connecttimeout").map(Self.parseTimeout) ?? nil,
            securityKeyProvider: value("securitykeyprovider")?.arguments[0]
        )
        resolved.certificateFiles = certificates
        resolved.hostKeyAlias = value("hostkeyalias")?.arguments[0].lowercased()
        resolved.caSignatureAlgorithms = value("casignaturealgorithms")?.arguments[0]
        if let line = jumpLine {
            resolved.proxyJump = try Self.parseJump(line)
        } else if let line = commandLine {
            let tokens: [Character: String] = [
                "h": hostName, "n": destination.host, "p": String(port), "r": user,
                "k": resolved.hostKeyAlias ?? destination.host,
            ]
            // "exec " first, as ssh expands it, so a leading '~' stays the shell's to expand.
            resolved.proxyCommand = String(
                try Self.expand("exec " + line.raw, tokens: tokens, source: line.source, home: home).dropFirst(5)
            )
        }
        return resolved
    }

    // MARK: Values

    /// Checks a line's value early, so a bad value is reported even for hosts it does not apply to.
    static func validate(_ line: Line) throws(SSHProtocolError) {
        guard knownKeywords.contains(line.keyword) else { return }
        guard !line.arguments.isEmpty else {
            throw SSHProtocolError(.invalidConfiguration, "\(line.source): \(line.name) needs a value")
        }
        switch line.keyword {
        case "port": _ = try parsePort(line)
        case "identitiesonly", "batchmode", "hashknownhosts": _ = try parseYesNo(line)
        case "stricthostkeychecking": _ = try parseStrict(line)
        case "preferredauthentications": _ = try parseMethods(line)
        case "connecttimeout": _ = try parseTimeout(line)
        case "userknownhostsfile", "globalknownhostsfile", "proxycommand": break
        case "proxyjump": if line.raw.lowercased() != "none" { _ = try parseJump(line) }
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
            return try SSHProxyJump(parsing: line.raw, strict: line.patterns == nil && line.source.hasPrefix("-"))
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
        home: String
    ) throws(SSHProtocolError) -> String {
        var s = text
        if s == "~" {
            s = home
        } else if s.hasPrefix("~/") {
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
