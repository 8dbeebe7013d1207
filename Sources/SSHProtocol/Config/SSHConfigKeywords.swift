internal import SSHKeys

/// What keysmith does with each ssh_config keyword (docs/ssh-config.md has the table
/// with the reasons).
enum SSHConfigKeyword: Sendable, Equatable {
    /// keysmith reads the value and acts on it as ssh does.
    case implemented
    /// It cannot change where or how a key deploy connects or logs in; read and ignored.
    case ignored
    /// It changes where or how ssh connects or authenticates in a way keysmith does not
    /// implement: a line that applies to the host with a value other than the harmless
    /// ones (lowercased) stops the run with one sentence naming the keyword, file and line.
    case refused(harmless: Set<String>)

    /// The keyword's class; nil for a keyword ssh does not know (ignored, as before).
    static func of(_ keyword: String) -> SSHConfigKeyword? { Self.table[keyword] }

    static let table: [String: SSHConfigKeyword] = {
        var t: [String: SSHConfigKeyword] = [:]
        for k in implementedKeywords { t[k.lowercased()] = .implemented }
        for k in ignoredKeywords { t[k] = .ignored }
        for (k, harmless) in refusedKeywords { t[k.lowercased()] = .refused(harmless: harmless) }
        return t
    }()

    /// Spelled as ssh_config(5) spells them (the table looks them up lowercased).
    static let implementedKeywords: [String] = [
        "HostName", "User", "Port", "IdentityFile", "IdentitiesOnly", "UserKnownHostsFile", "GlobalKnownHostsFile",
        "StrictHostKeyChecking", "KexAlgorithms", "Ciphers", "MACs", "HostKeyAlgorithms", "PreferredAuthentications",
        "BatchMode", "ConnectTimeout", "HashKnownHosts", "SecurityKeyProvider", "CertificateFile", "HostKeyAlias",
        "CASignatureAlgorithms", "AddressFamily", "BindAddress", "ServerAliveInterval", "ServerAliveCountMax",
        "RekeyLimit", "SetEnv", "SendEnv", "CanonicalizeHostname", "CanonicalDomains", "CanonicalizeMaxDots",
        "CanonicalizeFallbackLocal", "CanonicalizePermittedCNAMEs", "ConnectionAttempts", "PubkeyAuthentication",
        "PasswordAuthentication", "KbdInteractiveAuthentication", "ChallengeResponseAuthentication", "ProxyJump",
        "ProxyCommand", "IdentityAgent", "CheckHostIP", "ProxyUseFdpass", "BindInterface", "PubkeyAcceptedAlgorithms",
        "PubkeyAcceptedKeyTypes", "RequiredRSASize", "RevokedHostKeys", "NoHostAuthenticationForLocalhost",
        "KnownHostsCommand",
    ]

    static let ignoredKeywords: [String] = [
        // Forwardings, terminals and local commands: added on top of the connection.
        "forwardagent", "forwardx11", "forwardx11trusted", "forwardx11timeout", "xauthlocation",
        "localforward", "remoteforward", "dynamicforward", "clearallforwardings", "exitonforwardfailure",
        "gatewayports", "permitremoteopen", "streamlocalbindmask", "streamlocalbindunlink", "tunnel",
        "tunneldevice", "localcommand", "permitlocalcommand", "remotecommand", "requesttty", "sessiontype",
        "stdinnull", "forkafterauthentication", "escapechar", "enableescapecommandline",
        "obscurekeystroketiming", "channeltimeout",
        // Multiplexing reuses a connection to the same host, port and user.
        "controlmaster", "controlpath", "controlpersist",
        // Messages, logging, socket tuning.
        "loglevel", "logverbose", "syslogfacility", "visualhostkey", "fingerprinthash", "ipqos",
        "tcpkeepalive", "keepalive", "compression", "compressionlevel", "warnweakcrypto", "versionaddendum",
        "numberofpasswordprompts", "kbdinteractivedevices", "ignoreunknown", "tag",
        // What ssh does after logging in, or for methods it does not use here.
        "addkeystoagent", "updatehostkeys", "enablesshkeysign", "hostbasedacceptedalgorithms",
        "hostbasedkeytypes", "gssapidelegatecredentials", "gssapiclientidentity", "gssapiserveridentity",
        "gssapirenewalforcesrekey", "gssapitrustdns", "gssapikexalgorithms",
        // Obsolete: ssh itself ignores them.
        "protocol", "cipher", "fallbacktorsh", "globalknownhostsfile2", "rhostsauthentication",
        "userknownhostsfile2", "useroaming", "usersh", "useprivilegedport", "afstokenpassing",
        "kerberosauthentication", "kerberostgtpassing", "rsaauthentication", "rhostsrsaauthentication",
        "skeyauthentication", "tisauthentication", "dsaauthentication", "identityfile2", "smartcarddevice",
    ]

    /// Spelled as ssh_config(5) spells them, with the values that are harmless.
    static let refusedKeywords: [String: Set<String>] = [
        "GSSAPIAuthentication": ["no", "false"],
        "GSSAPIKeyExchange": ["no", "false"],
        "HostbasedAuthentication": ["no", "false"],
        "PKCS11Provider": ["none"],
        "VerifyHostKeyDNS": ["no", "false"],
        "RefuseConnection": ["no", "false"],
    ]
}

extension SSHConfig {
    /// What `-o` does with each keyword, from ``SSHConfigKeyword``'s table, for the help of
    /// the commands that connect.
    package static var optionKeywordsHelp: String {
        let refused = SSHConfigKeyword.refusedKeywords.sorted { $0.key < $1.key }.map { name, harmless in
            "\(name) (unless \(harmless.contains("no") ? "no" : harmless.sorted().joined(separator: " or ")))"
        }
        return """
            Acted on as ssh does: \(SSHConfigKeyword.implementedKeywords.joined(separator: ", ")). \
            Refused where they apply: \(refused.joined(separator: ", ")). Any other keyword is \
            ignored. docs/ssh-config.md says why for each.
            """
    }

    /// The refusal of a line whose keyword changes where or how ssh connects and that
    /// keysmith does not implement, or nil when keysmith may go on.
    static func refusal(_ line: Line) -> SSHProtocolError? {
        guard case .refused(let harmless) = SSHConfigKeyword.of(line.keyword) else { return nil }
        if line.arguments.count == 1, harmless.contains(line.arguments[0].lowercased()) { return nil }
        return SSHProtocolError(
            .invalidConfiguration,
            "\(line.source): keysmith does not implement \(line.name) \(line.arguments.joined(separator: " ")), which changes how ssh connects; remove it or set it for ssh alone (docs/ssh-config.md)"
        )
    }
}

// MARK: Values of the keywords the evaluation and the connection read

extension SSHConfig {
    /// One CanonicalizePermittedCNAMEs rule: names matching `source` may follow a CNAME to `target`.
    struct CNAMERule: Sendable, Equatable {
        var source: String
        var target: String
    }

    static func parseAddressFamily(_ line: Line) throws(SSHProtocolError) -> SSHAddressFamily {
        guard let family = SSHAddressFamily(rawValue: line.arguments[0].lowercased()) else {
            throw badValue(line, "any, inet or inet6")
        }
        return family
    }

    /// readconf.c `parse_int`, never negative; ConnectionAttempts at least 1.
    static func parseCount(_ line: Line) throws(SSHProtocolError) -> Int {
        let least = line.keyword == "connectionattempts" ? 1 : 0
        guard let n = Int(line.arguments[0]), n >= least, n <= Int(Int32.max) else {
            throw badValue(line, least == 1 ? "a positive number" : "a number")
        }
        return n
    }

    /// readconf.c `parse_time`: misc.c `convtime`, 0 allowed.
    static func parseInterval(_ line: Line) throws(SSHProtocolError) -> Int {
        guard let total = OpenSSHDuration.seconds(line.arguments[0].lowercased()), total >= 0, total <= Int(Int32.max)
        else { throw badValue(line, "a number of seconds") }
        return Int(total)
    }

    /// `RekeyLimit bytes [time]`: bytes as misc.c `scan_scaled` reads them (a number with
    /// an optional K, M, G, T suffix, powers of 1024) or `default` (0); at least 16 unless 0;
    /// the time as `convtime`, or `none` (nil).
    static func parseRekeyLimit(_ line: Line) throws(SSHProtocolError) -> (bytes: UInt64, seconds: Int?) {
        guard line.arguments.count <= 2 else { throw badValue(line, "an amount of data and an optional time") }
        var bytes: UInt64 = 0
        let amount = line.arguments[0]
        if amount != "default" {
            var digits = Substring(amount)
            var scale: UInt64 = 1
            if let last = digits.last, let power = ["b": 0, "k": 1, "m": 2, "g": 3, "t": 4][last.lowercased()] {
                scale = 1 << (10 * UInt64(power))
                digits = digits.dropLast()
            }
            guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let n = UInt64(digits) else {
                throw badValue(line, "an amount of data such as 1G or default")
            }
            let (product, overflow) = n.multipliedReportingOverflow(by: scale)
            guard !overflow else { throw badValue(line, "an amount of data such as 1G or default") }
            guard product == 0 || product >= 16 else { throw badValue(line, "at least 16 bytes") }
            bytes = product
        }
        guard line.arguments.count == 2, line.arguments[1] != "none" else { return (bytes, nil) }
        guard let total = OpenSSHDuration.seconds(line.arguments[1].lowercased()), total >= 0, total <= Int(Int32.max)
        else { throw badValue(line, "an amount of data and a time such as 1h") }
        return (bytes, Int(total))
    }

    static func parseCanonicalize(_ line: Line) throws(SSHProtocolError) -> SSHCanonicalizeHostname {
        switch line.arguments[0].lowercased() {
        case "yes", "true": return .yes
        case "no", "false": return .no
        case "always": return .always
        default: throw badValue(line, "yes, no or always")
        }
    }

    /// `none`, or `source-list:target-list` rules.
    static func parsePermittedCNAMEs(_ line: Line) throws(SSHProtocolError) -> [CNAMERule] {
        if line.arguments.count == 1 && line.arguments[0].lowercased() == "none" { return [] }
        var rules: [CNAMERule] = []
        for rule in line.arguments {
            let parts = rule.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw badValue(line, "none or rules of the form source-names:target-names")
            }
            rules.append(CNAMERule(source: String(parts[0]).lowercased(), target: String(parts[1]).lowercased()))
        }
        return rules
    }

    static func checkDomains(_ line: Line) throws(SSHProtocolError) {
        if line.arguments.count > 1 && line.arguments.contains(where: { $0.lowercased() == "none" }) {
            throw badValue(line, "domains, or none alone")
        }
        for domain in line.arguments where domain.isEmpty || domain.hasPrefix(".") || domain.hasSuffix(".") {
            throw badValue(line, "domain names without leading or trailing dots")
        }
    }

    /// SetEnv takes `NAME=value` words; SendEnv takes names or patterns (`-` removes).
    static func checkEnvironment(_ line: Line) throws(SSHProtocolError) {
        for word in line.arguments {
            if line.keyword == "setenv" {
                guard let eq = word.firstIndex(of: "="), eq != word.startIndex else {
                    throw badValue(line, "NAME=value words")
                }
            } else if word.isEmpty || word.contains("=") {
                throw badValue(line, "names of environment variables")
            }
        }
    }

    static func envName(_ assignment: String) -> Substring {
        assignment.prefix { $0 != "=" }
    }

    /// readconf.c `parse_pubkey_algos`: unless the list removes (`-`), each name after an
    /// optional `+` or `^` is a key algorithm ssh knows, or a pattern that matches one
    /// (sshkey.c `sshkey_names_valid2`); ssh stops looking at the first empty name.
    static func checkKeyAlgorithms(_ line: Line) throws(SSHProtocolError) {
        var list = Substring(line.arguments[0])
        guard let first = list.first, first != "-" else { return }
        if first == "+" || first == "^" { list = list.dropFirst() }
        let known =
            SSHAlgorithms.supportedPublicKey + [
                "ssh-dss", "ssh-dss-cert-v01@openssh.com", "webauthn-sk-ecdsa-sha2-nistp256@openssh.com",
            ]
        let names = list.split(separator: ",", omittingEmptySubsequences: false)
        guard !list.isEmpty else { throw badValue(line, "key algorithm names") }
        for name in names {
            if name.isEmpty { break }
            let glob = Array((name.hasPrefix("!") ? name.dropFirst() : name).utf8)
            guard known.contains(where: { HostPattern.matches(Array($0.utf8), glob: glob) }) else {
                throw SSHProtocolError(
                    .invalidConfiguration,
                    "\(line.source): bad key types '\(line.arguments[0])' for \(line.name)"
                )
            }
        }
    }

    /// yes or no; PubkeyAuthentication's `unbound` and `host-bound` are kinds of yes.
    static func parseAuthenticationSwitch(_ line: Line) throws(SSHProtocolError) -> Bool {
        switch line.arguments[0].lowercased() {
        case "yes", "true": return true
        case "unbound" where line.keyword == "pubkeyauthentication": return true
        case "host-bound" where line.keyword == "pubkeyauthentication": return true
        case "no", "false": return false
        default: throw badValue(line, "yes or no")
        }
    }
}
