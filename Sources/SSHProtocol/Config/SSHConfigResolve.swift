internal import SSHCrypto
internal import SSHKeys

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// ssh_config(5)'s AddressFamily: which addresses a name resolves to.
public enum SSHAddressFamily: String, Sendable, Hashable, CaseIterable {
    case any, inet, inet6

    var systemValue: Int32 {
        switch self {
        case .any: AF_UNSPEC
        case .inet: AF_INET
        case .inet6: AF_INET6
        }
    }
}

/// ssh_config(5)'s CanonicalizeHostname.
public enum SSHCanonicalizeHostname: String, Sendable, Hashable {
    case no, yes, always
}

/// Looks names up for CanonicalizeHostname, as ssh.c `resolve_host` does with getaddrinfo.
public struct SSHNameResolver: Sendable {
    /// nil when `name` does not resolve in `family`; else the canonical name the resolver
    /// gives (a CNAME's target), or `name` itself.
    public var lookup: @Sendable (_ name: String, _ family: SSHAddressFamily) -> String?

    public init(lookup: @escaping @Sendable (_ name: String, _ family: SSHAddressFamily) -> String?) {
        self.lookup = lookup
    }

    /// getaddrinfo(3) with AI_CANONNAME.
    public static let system = SSHNameResolver { name, family in
        var hints = streamHints(family: family, flags: AI_CANONNAME)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(name, "22", &hints, &list) == 0, let list else { return nil }
        defer { freeaddrinfo(list) }
        return list.pointee.ai_canonname.map { String(cString: $0) } ?? name
    }

    /// A numeric address in its canonical form (ssh.c `resolve_addr`), nil for a name.
    static func numericAddress(_ name: String, family: SSHAddressFamily) -> String? {
        var hints = streamHints(family: family, flags: AI_NUMERICHOST | AI_NUMERICSERV)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(name, "22", &hints, &list) == 0, let list else { return nil }
        defer { freeaddrinfo(list) }
        guard list.pointee.ai_next == nil else { return nil }
        var text = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        guard
            getnameinfo(
                list.pointee.ai_addr,
                list.pointee.ai_addrlen,
                &text,
                socklen_t(text.count),
                nil,
                0,
                NI_NUMERICHOST
            )
                == 0
        else { return nil }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// ssh.c `is_addr_fast`: a name that can only be an address.
    static func looksLikeAddress(_ name: String) -> Bool {
        name.contains("%") || name.contains(":") || name.allSatisfy { $0 == "." || $0.isASCII && $0.isNumber }
    }
}

/// One evaluation of the configuration for a host: readconf.c's options as its passes fill
/// them, in the order of the lines.
struct SSHConfigEvaluation {
    let config: SSHConfig
    let destination: SSHDestination
    let explicitPort: Int?
    let localUser: String
    let home: String
    /// The lines that applied, in order over both passes.
    var applied: [SSHConfig.Line] = []
    var first: [String: SSHConfig.Line] = [:]
    /// Whether a `Match final` (not negated) asked for the second pass.
    var wantsFinalPass = false
    /// The host name of the final pass (canonicalised), nil during the first.
    var finalHost: String? = nil

    mutating func apply(_ line: SSHConfig.Line) {
        self.applied.append(line)
        if self.first[line.keyword] == nil { self.first[line.keyword] = line }
    }

    /// One pass over the lines in order. `host` is what `Host` patterns match: the host as
    /// given in the first pass, the canonical name in the final one (ssh.c main).
    mutating func pass(final: Bool) throws(SSHProtocolError) {
        let host = self.finalHost ?? self.destination.host
        var results = [Bool?](repeating: nil, count: self.config.sections.count)
        for entry in self.config.entries {
            switch entry {
            case .section(let index):
                let section = self.config.sections[index]
                // A section inside a file included where nothing applied never applies
                // (readconf.c SSHCONF_NEVERMATCH), but a Match is still checked.
                let enclosingApplies = section.enclosing.allSatisfy { results[$0] == true }
                switch section.condition {
                case .host(let patterns):
                    results[index] = enclosingApplies && SSHConfig.hostMatches(host, patterns: patterns)
                case .match(let criteria):
                    let value = try self.evaluate(criteria, source: section.source, final: final)
                    results[index] = enclosingApplies && value
                }
            case .line(let line):
                guard line.conditions.allSatisfy({ results[$0] == true }) else { continue }
                self.apply(line)
            }
        }
    }

    /// readconf.c `match_cfg_line`: every criterion must hold; `exec` runs only while the
    /// ones before it hold.
    mutating func evaluate(_ criteria: [MatchCriterion], source: String, final: Bool) throws(SSHProtocolError) -> Bool {
        var result = true
        for criterion in criteria {
            let holds: Bool
            switch criterion.kind {
            case .all:
                holds = true
            case .canonical:
                holds = final
            case .final:
                if !criterion.negated { self.wantsFinalPass = true }
                holds = final
            case .host:
                holds = MatchCriterion.matches(
                    self.matchHost(final: final),
                    list: criterion.argument!,
                    lowercasingPattern: true
                )
            case .originalhost:
                holds = MatchCriterion.matches(
                    self.destination.host,
                    list: criterion.argument!,
                    lowercasingPattern: true
                )
            case .user:
                holds = MatchCriterion.matches(self.currentUser, list: criterion.argument!, lowercasingPattern: false)
            case .localuser:
                holds = MatchCriterion.matches(self.localUser, list: criterion.argument!, lowercasingPattern: false)
            case .exec:
                guard result else { continue }
                let command = try SSHConfig.expand(
                    criterion.argument!,
                    tokens: self.execTokens(final: final),
                    source: source,
                    home: self.home,
                    tilde: false
                )
                let timeout = try self.first["connecttimeout"].map(SSHConfig.parseTimeout) ?? nil
                holds = try MatchExec.run(command, timeout: timeout ?? 10, source: source)
            }
            if holds == criterion.negated { result = false }
        }
        return result
    }

    /// The host `Match host` sees: HostName so far with `%h` expanded, else the host given
    /// (readconf.c `match_cfg_line`); in the final pass the canonical name.
    func matchHost(final: Bool) -> String {
        if final, let host = self.finalHost { return host }
        if let line = self.first["hostname"] {
            return
                (try? SSHConfig.expand(
                    line.arguments[0],
                    tokens: ["h": self.destination.host],
                    source: "",
                    home: self.home
                ))
                ?? self.destination.host
        }
        return self.destination.host
    }

    var currentUser: String {
        if let user = self.destination.user { return user }
        if let line = self.first["user"] { return line.arguments[0] }
        return self.localUser
    }

    var currentPort: Int {
        if let p = self.explicitPort ?? self.destination.port { return p }
        if let line = self.first["port"], let p = try? SSHConfig.parsePort(line) { return p }
        return 22
    }

    /// readconf.c `expand_match_exec_or_include_path`'s tokens.
    func execTokens(final: Bool) -> [Character: String] {
        let host = self.matchHost(final: final)
        let local = SSHConfig.localHostName()
        let short = String(local.prefix { $0 != "." })
        let port = String(self.currentPort)
        let user = self.currentUser
        // ssh.c: %j (and so %C) is the host of ProxyJump's last hop, as set by then.
        let jump =
            self.first["proxyjump"].flatMap { line in
                line.raw.lowercased() == "none" ? nil : (try? SSHConfig.parseJump(line))?.hops.last?.host
            } ?? ""
        let hash = Digest.hash(.sha1, Array((local + host + port + user + jump).utf8))
        return [
            "C": hash.map { String($0, radix: 16).leftPadded(to: 2) }.joined(),
            "L": short, "d": self.home, "h": host,
            "k": self.first["hostkeyalias"]?.arguments[0] ?? host,
            "l": local, "n": self.destination.host, "p": port, "r": user, "u": self.localUser,
            "i": String(getuid()), "j": jump,
        ]
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        self.count >= width ? self : String(repeating: "0", count: width - self.count) + self
    }
}

extension SSHConfig {
    /// Resolves the settings for `destination`, as ssh evaluates its configuration: the
    /// lines in order, `Host` and `Match` sections as they come (a `Match` sees what the
    /// lines before it set), then, when CanonicalizeHostname is on or a `Match final` asks
    /// for it, the host name canonicalised and a second pass in which `Match canonical`
    /// and `Match final` hold (ssh.c main).
    ///
    /// - Parameters:
    ///   - destination: the host (and possibly user and port) from the command line.
    ///   - port: a port given on the command line (`-p`), which wins over every other.
    ///   - localUser: the local login name (default user, `%u`).
    ///   - home: the local home directory (`~`, `%d`, default files).
    ///   - resolver: how CanonicalizeHostname looks names up.
    /// - Throws: `.invalidConfiguration` when a value is bad, a keyword keysmith refuses
    ///   applies, or a `Match exec` fails; `.timeout` when a `Match exec` hangs;
    ///   `.connectionFailed` when canonicalisation cannot resolve the host.
    public func resolve(
        destination: SSHDestination,
        port explicitPort: Int? = nil,
        localUser: String,
        home: String,
        resolver: SSHNameResolver = .system
    ) throws(SSHProtocolError) -> SSHResolvedConfig {
        var e = SSHConfigEvaluation(
            config: self,
            destination: destination,
            explicitPort: explicitPort,
            localUser: localUser,
            home: home
        )
        try e.pass(final: false)
        let canonicalize = try e.first["canonicalizehostname"].map(Self.parseCanonicalize) ?? .no
        var host = e.matchHost(final: false)
        let wasAddress =
            SSHNameResolver.numericAddress(host, family: .any) != nil
            || SSHNameResolver.looksLikeAddress(host)
        if !wasAddress { host = host.lowercased() }
        host = try self.canonicalize(host, evaluation: e, mode: canonicalize, resolver: resolver)
        if canonicalize != .no || e.wantsFinalPass {
            e.finalHost = host
            try e.pass(final: true)
        }
        for line in e.applied {
            if let refusal = Self.refusal(line) { throw refusal }
        }
        return try self.resolved(e, hostName: host)
    }

    /// ssh.c `resolve_canonicalize` and `check_follow_cname`: the name ssh connects to.
    func canonicalize(
        _ name: String,
        evaluation e: SSHConfigEvaluation,
        mode: SSHCanonicalizeHostname,
        resolver: SSHNameResolver
    ) throws(SSHProtocolError) -> String {
        let family = try e.first["addressfamily"].map(Self.parseAddressFamily) ?? .any
        // Addresses are put in their canonical form whether or not canonicalisation is on.
        if let address = SSHNameResolver.numericAddress(name, family: family) { return address }
        if SSHNameResolver.looksLikeAddress(name) { return name }
        let cnames = try e.first["canonicalizepermittedcnames"].map(Self.parsePermittedCNAMEs) ?? []
        // The proxy support decides whether the name is reached directly; a ProxyJump or
        // ProxyCommand other than "none" means it is not.
        let direct = ["proxycommand", "proxyjump"].allSatisfy {
            e.first[$0].map { $0.arguments.first?.lowercased() == "none" } ?? true
        }
        func follow(_ name: String, _ cname: String) -> String {
            guard !cname.isEmpty, cname != name, mode != .no, direct || mode == .always else { return name }
            for rule in cnames
            where MatchCriterion.matches(name, list: rule.source, lowercasingPattern: true)
                && MatchCriterion.matches(cname, list: rule.target, lowercasingPattern: true)
            {
                return cname.lowercased()
            }
            return name
        }
        var found: String? = nil
        if mode != .no && (direct || mode == .always) {
            let maxDots = try e.first["canonicalizemaxdots"].map(Self.parseCount) ?? 1
            let fallback = try e.first["canonicalizefallbacklocal"].map(Self.parseYesNo) ?? true
            // nil: the name has more dots than CanonicalizeMaxDots and is left alone.
            var candidates: [String]? = nil
            if name.hasSuffix(".") {
                candidates = [name]
            } else if name.filter({ $0 == "." }).count <= maxDots {
                candidates = []
                for domain in e.first["canonicaldomains"]?.arguments ?? [] {
                    if domain.lowercased() == "none" { break }
                    candidates?.append(name + "." + domain + ".")
                }
            }
            for candidate in candidates ?? [] {
                guard let cname = resolver.lookup(candidate, family) else { continue }
                found = follow(String(candidate.dropLast()), cname)
                break
            }
            if found == nil && candidates != nil && !fallback {
                throw SSHProtocolError(.connectionFailed, "keysmith: Could not resolve host \"\(name)\"")
            }
        }
        if let found { return found }
        if !cnames.isEmpty && (direct || mode == .always) {
            guard let cname = resolver.lookup(name, family) else {
                if direct { throw SSHProtocolError(.connectionFailed, "cannot resolve \(name)") }
                return name
            }
            return follow(name, cname)
        }
        return name
    }

    /// The resolved settings from an evaluation's lines; `hostName` is the name to connect to.
    func resolved(_ e: SSHConfigEvaluation, hostName: String) throws(SSHProtocolError) -> SSHResolvedConfig {
        let destination = e.destination
        let explicitPort = e.explicitPort
        let localUser = e.localUser
        let home = e.home
        func first(_ k: String) -> Line? { e.first[k] }
        let identityLines = e.applied.filter { $0.keyword == "identityfile" }
        let certificateLines = e.applied.filter { $0.keyword == "certificatefile" }
        var port = 22
        if let explicitPort {
            port = explicitPort
        } else if let p = destination.port {
            port = p
        } else if let line = first("port") {
            port = try Self.parsePort(line)
        }
        var user = localUser
        if let u = destination.user {
            user = u
        } else if let line = first("user") {
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
        if let line = first("userknownhostsfile") {
            userKnown = []
            for a in line.arguments {
                userKnown.append(try Self.expand(a, tokens: tokens, source: line.source, home: home))
            }
        }
        var globalKnown = ["/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"]
        if let line = first("globalknownhostsfile") {
            globalKnown = []
            for a in line.arguments {
                globalKnown.append(try Self.expand(a, tokens: tokens, source: line.source, home: home))
            }
        }
        var methods: [SSHAuthenticationMethod] = [.publicKey, .keyboardInteractive, .password]
        if let line = first("preferredauthentications") {
            methods = try Self.parseMethods(line)
        }
        var resolved = SSHResolvedConfig(
            host: destination.host,
            hostName: hostName,
            port: port,
            user: user,
            identityFiles: identities,
            identityFilesAreDefaults: defaults,
            identitiesOnly: try first("identitiesonly").map(Self.parseYesNo) ?? false,
            userKnownHostsFiles: userKnown,
            globalKnownHostsFiles: globalKnown,
            strictHostKeyChecking: try first("stricthostkeychecking").map(Self.parseStrict) ?? .ask,
            hashKnownHosts: try first("hashknownhosts").map(Self.parseYesNo) ?? false,
            kexAlgorithms: first("kexalgorithms")?.arguments[0],
            ciphers: first("ciphers")?.arguments[0],
            macs: first("macs")?.arguments[0],
            hostKeyAlgorithms: first("hostkeyalgorithms")?.arguments[0],
            preferredAuthentications: methods,
            batchMode: try first("batchmode").map(Self.parseYesNo) ?? false,
            connectTimeout: try first("connecttimeout").map(Self.parseTimeout) ?? nil,
            securityKeyProvider: first("securitykeyprovider")?.arguments[0]
        )
        resolved.certificateFiles = certificates
        resolved.hostKeyAlias = first("hostkeyalias")?.arguments[0].lowercased()
        resolved.checkHostIP = try first("checkhostip").map(Self.parseYesNo) ?? false
        resolved.caSignatureAlgorithms = first("casignaturealgorithms")?.arguments[0]
        // readconf.c: PubkeyAcceptedKeyTypes is the old name of the same option.
        resolved.pubkeyAcceptedAlgorithms =
            e.applied.first { $0.keyword == "pubkeyacceptedalgorithms" || $0.keyword == "pubkeyacceptedkeytypes" }?
            .arguments[0]
        resolved.requiredRSASize = try first("requiredrsasize").map(Self.parseCount) ?? 1024
        // readconf.c CLEAR_ON_NONE: `none` means no file.
        resolved.revokedHostKeys = first("revokedhostkeys").map { $0.arguments[0] }.flatMap {
            $0.lowercased() == "none" ? nil : $0
        }
        resolved.noHostAuthenticationForLocalhost =
            try first("nohostauthenticationforlocalhost").map(Self.parseYesNo) ?? false
        if let line = first("knownhostscommand"), line.raw.lowercased() != "none" {
            // ssh.c: the connection's tokens (sshconnect.h DEFAULT_CLIENT_PERCENT_EXPAND_ARGS);
            // %C hashes this host's name, the host, the port and the user (ssh_connection_hash).
            let local = Self.localHostName()
            let hash = Digest.hash(.sha1, Array((local + hostName + String(port) + user).utf8))
            // ssh.c: %d is the account's home directory from the password database, not $HOME.
            let accountHome = getpwuid(getuid()).flatMap { $0.pointee.pw_dir.map { String(cString: $0) } } ?? home
            let tokens: [Character: String] = [
                "C": hash.map { String($0, radix: 16).leftPadded(to: 2) }.joined(),
                "L": String(local.prefix { $0 != "." }), "i": String(getuid()),
                "k": resolved.hostKeyAlias ?? destination.host, "l": local, "n": destination.host,
                "p": String(port), "d": accountHome, "h": hostName, "r": user, "u": localUser,
            ]
            resolved.knownHostsCommand = KnownHostsCommand(words: line.arguments, tokens: tokens)
        }
        if let line = first("identityagent") {
            let value = line.arguments[0]
            if value.lowercased() == "none" {
                resolved.identityAgent = .none
            } else if value == "SSH_AUTH_SOCK" {
                resolved.identityAgent = .environment(value)
            } else if value.hasPrefix("$") {
                resolved.identityAgent = .environment(String(value.dropFirst()))
            } else {
                let path = try Self.expand(value, tokens: tokens, source: line.source, home: home)
                resolved.identityAgent = .socket(path)
            }
        }
        resolved.addressFamily = try first("addressfamily").map(Self.parseAddressFamily) ?? .any
        resolved.bindAddress = first("bindaddress").map { $0.arguments[0] }.flatMap {
            $0.lowercased() == "none" ? nil : $0
        }
        resolved.bindInterface = first("bindinterface")?.arguments[0]
        resolved.connectionAttempts = try first("connectionattempts").map(Self.parseCount) ?? 1
        resolved.serverAliveInterval = try first("serveraliveinterval").map(Self.parseInterval) ?? 0
        resolved.serverAliveCountMax = try first("serveralivecountmax").map(Self.parseCount) ?? 3
        for line in e.applied where line.keyword == "rekeylimit" {
            let (bytes, interval) = try Self.parseRekeyLimit(line)
            if resolved.rekeyLimitBytes == nil { resolved.rekeyLimitBytes = bytes }
            if resolved.rekeyLimitSeconds == nil, let interval { resolved.rekeyLimitSeconds = interval }
        }
        if let line = first("setenv") {
            for assignment in line.arguments
            where !resolved.setEnv.contains(where: { Self.envName($0) == Self.envName(assignment) }) {
                resolved.setEnv.append(assignment)
            }
        }
        for line in e.applied where line.keyword == "sendenv" {
            for pattern in line.arguments {
                if pattern.hasPrefix("-") {
                    let glob = Array(pattern.dropFirst().utf8)
                    resolved.sendEnv.removeAll { HostPattern.matches(Array($0.utf8), glob: glob) }
                } else if !resolved.sendEnv.contains(pattern) {
                    resolved.sendEnv.append(pattern)
                }
            }
        }
        // readconf.c: a ProxyJump (even `none`) is taken only while no ProxyJump was, and
        // a ProxyJump other than none only while no ProxyCommand was either, and it sets
        // ProxyCommand to none; a ProxyCommand only while no ProxyCommand was.
        var jumpLine: Line? = nil
        var jumpIsNone = false
        var commandLine: Line? = nil
        var commandIsNone = false
        for line in e.applied {
            if line.keyword == "proxyjump" {
                let none = line.raw.lowercased() == "none"
                if none && jumpLine == nil && !jumpIsNone {
                    jumpIsNone = true
                } else if !none && jumpLine == nil && !jumpIsNone && commandLine == nil && !commandIsNone {
                    jumpLine = line
                    commandIsNone = true
                }
            } else if line.keyword == "proxycommand", commandLine == nil && !commandIsNone {
                if line.raw.lowercased() == "none" { commandIsNone = true } else { commandLine = line }
            }
        }
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
            // ssh.c: a ProxyJump never passes descriptors; ProxyCommand - cannot.
            if let fdpass = first("proxyusefdpass"), try Self.parseYesNo(fdpass) {
                guard line.raw != "-" else {
                    throw SSHProtocolError(
                        .invalidConfiguration,
                        "\(fdpass.source): ProxyCommand=- and ProxyUseFdpass are incompatible"
                    )
                }
                resolved.proxyUseFdpass = true
            }
        }
        // PubkeyAuthentication, PasswordAuthentication and KbdInteractiveAuthentication
        // (ChallengeResponseAuthentication is its old name) take methods out of the order.
        let switches: [(String, SSHAuthenticationMethod)] = [
            ("pubkeyauthentication", .publicKey), ("passwordauthentication", .password),
            ("kbdinteractiveauthentication", .keyboardInteractive),
            ("challengeresponseauthentication", .keyboardInteractive),
        ]
        for (keyword, method) in switches {
            if let line = first(keyword), try !Self.parseAuthenticationSwitch(line) {
                resolved.preferredAuthentications.removeAll { $0 == method }
            }
        }
        return resolved
    }
}
