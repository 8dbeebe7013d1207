public import SSHKeys

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Decides whether to trust a server's host key, as ssh(1)'s `check_host_key` (sshconnect.c)
/// does, against known_hosts files read with ``KnownHostsFile``.
///
/// - A known key for the host (plain or hashed entry, `[host]:port` for ports other than 22) is accepted.
/// - A key marked `@revoked` is refused.
/// - A different key of the same type for the host is refused with ssh's
///   "REMOTE HOST IDENTIFICATION HAS CHANGED" warning naming the offending file and line,
///   whatever StrictHostKeyChecking says (ssh would go on with password authentication disabled;
///   keysmith deploys with passwords, so it stops).
/// - An unknown host is refused under `yes`, added to the first user known_hosts file under
///   `accept-new` and `no`, and under `ask` the user is asked with the key's fingerprint;
///   without a terminal or in batch mode, it is refused.
/// - A host certificate whose CA key is on a `@cert-authority` line matching the host is
///   accepted when SSHKeys' `checkHost` accepts it for the host name (or HostKeyAlias), without
///   a question and without writing known_hosts; one it refuses is refused in one sentence
///   (unless its plain key is itself known), and so is one whose key or CA key is `@revoked`.
///   With no matching CA, the certified key is checked as a plain host key, as ssh retries.
/// - With CheckHostIP, the key is also looked up under the address connected to (see
///   ``check(_:address:)``): recorded there when missing, and a different key there is
///   reported as ssh reports it.
public struct HostKeyPolicy: Sendable {
    /// The name the server is known by (HostName).
    public var hostName: String
    public var port: Int
    /// Files searched and (the first) written.
    public var userKnownHostsFiles: [String]
    /// Files searched, never written.
    public var globalKnownHostsFiles: [String]
    public var strictHostKeyChecking: StrictHostKeyChecking
    public var batchMode: Bool
    /// Whether new entries get a hashed host name (HashKnownHosts).
    public var hashNewEntries: Bool
    /// `HostKeyAlias`: the name to look host keys up and record them under, instead of
    /// ``hostName`` and the port, and the name a host certificate must be valid for.
    public var hostKeyAlias: String? = nil
    /// `CheckHostIP`: look the key up under the connected address too, and record it there.
    public var checkHostIP: Bool = false
    /// `RevokedHostKeys`: a KRL or a file of public keys (read by SSHKeys' ``RevokedKeys``,
    /// as sshd reads its RevokedKeys); a host key it revokes is refused before known_hosts
    /// is read, and so is every key when the file cannot be used. nil for none.
    public var revokedHostKeys: String? = nil
    /// `KnownHostsCommand`: a command whose output is read as more known_hosts lines for this
    /// host (never written to), after the files; nil for none.
    public var knownHostsCommand: KnownHostsCommand? = nil
    /// `CASignatureAlgorithms`: the signature algorithms a host certificate's CA may have used.
    public var caSignatureAlgorithms: [String] = SSHCertificate.defaultCASignatureAlgorithms
    /// The time certificates are checked at, in seconds since the epoch (the clock by default).
    public var now: @Sendable () -> UInt64 = { UInt64(max(0, time(nil))) }
    /// Receives the warnings ssh prints (one line per call, no newline).
    public var log: @Sendable (String) -> Void
    /// Asks a question on the terminal and returns the answer line, or nil when there is no terminal.
    public var ask: (@Sendable (String) -> String?)?

    public init(
        hostName: String,
        port: Int,
        userKnownHostsFiles: [String],
        globalKnownHostsFiles: [String] = [],
        strictHostKeyChecking: StrictHostKeyChecking,
        batchMode: Bool = false,
        hashNewEntries: Bool = false,
        log: @escaping @Sendable (String) -> Void,
        ask: (@Sendable (String) -> String?)? = nil
    ) {
        self.hostName = hostName
        self.port = port
        self.userKnownHostsFiles = userKnownHostsFiles
        self.globalKnownHostsFiles = globalKnownHostsFiles
        self.strictHostKeyChecking = strictHostKeyChecking
        self.batchMode = batchMode
        self.hashNewEntries = hashNewEntries
        self.log = log
        self.ask = ask
    }

    /// The policy a resolved configuration describes.
    public init(
        config: SSHResolvedConfig,
        log: @escaping @Sendable (String) -> Void,
        ask: (@Sendable (String) -> String?)? = nil
    ) {
        self.init(
            hostName: config.hostName,
            port: config.port,
            userKnownHostsFiles: config.userKnownHostsFiles,
            globalKnownHostsFiles: config.globalKnownHostsFiles,
            strictHostKeyChecking: config.strictHostKeyChecking,
            batchMode: config.batchMode,
            hashNewEntries: config.hashKnownHosts,
            log: log,
            ask: ask
        )
        self.hostKeyAlias = config.hostKeyAlias
        self.checkHostIP = config.checkHostIP
        self.revokedHostKeys = config.revokedHostKeys
        self.knownHostsCommand = config.knownHostsCommand
    }

    /// The host's name in known_hosts: the HostKeyAlias, else `host`, or `[host]:port` for a
    /// port other than 22.
    public var knownHostsName: String {
        self.hostKeyAlias ?? KnownHostsFormat.hostName(self.hostName, port: self.port)
    }

    /// The names a host certificate's CA is looked up under: ``knownHostsName``, and for a
    /// port other than 22 the bare host name too (sshconnect.c checks again "without port
    /// identifier", so `@cert-authority *.example.com` covers every port).
    var certificateAuthorityNames: [String] {
        let name = self.knownHostsName
        return self.hostKeyAlias == nil && name != self.hostName ? [name, self.hostName] : [name]
    }

    /// The closure for ``SSHClientOptions/hostKeyVerifier``: ``checkRevocation(_:)``, then ``check(_:)``.
    public var verifier: @Sendable (SSHPublicKey) throws(SSHProtocolError) -> Void {
        let policy = self
        return { (key: SSHPublicKey) throws(SSHProtocolError) -> Void in
            try policy.checkRevocation(key)
            try policy.check(key)
        }
    }

    /// The closure for ``SSHClientOptions/loopbackHostKeyVerifier`` under
    /// NoHostAuthenticationForLocalhost: ``checkRevocation(_:)`` alone, for sshconnect.c
    /// checks RevokedHostKeys in `verify_host_key` before `check_host_key` forces
    /// acceptance "for loopback/localhost"; nil when a HostKeyAlias is set, which turns
    /// that off.
    public var loopbackVerifier: (@Sendable (SSHPublicKey) throws(SSHProtocolError) -> Void)? {
        guard self.hostKeyAlias == nil else { return nil }
        let policy = self
        return { (key: SSHPublicKey) throws(SSHProtocolError) -> Void in try policy.checkRevocation(key) }
    }

    /// RevokedHostKeys (sshconnect.c `verify_host_key`, authfile.c `sshkey_check_revoked`):
    /// refuses `key` when the file revokes it, and any key when the file cannot be read or
    /// is not a KRL or a list of public keys, with ssh's words.
    public func checkRevocation(_ key: SSHPublicKey) throws(SSHProtocolError) {
        guard let path = self.revokedHostKeys else { return }
        let described = "\(key.type.displayName) \(key.fingerprint())"
        let revoked: RevokedKeys
        do {
            revoked = try RevokedKeys(path: path)
        } catch {
            throw SSHProtocolError(
                .hostKeyRejected,
                "Error checking host key \(described) in revoked keys file \(path): \(error.message); host key verification failed"
            )
        }
        if revoked.isRevoked(key) {
            throw SSHProtocolError(
                .hostKeyRejected,
                "Host key \(described) revoked by file \(path); host key verification failed"
            )
        }
    }

    /// The closure for ``SSHClientOptions/addressedHostKeyVerifier``: ``checkRevocation(_:)``,
    /// then ``check(_:address:)``.
    public var addressedVerifier: @Sendable (SSHPublicKey, String?) throws(SSHProtocolError) -> Void {
        let policy = self
        return { (key: SSHPublicKey, address: String?) throws(SSHProtocolError) -> Void in
            try policy.checkRevocation(key)
            try policy.check(key, address: address)
        }
    }

    /// The name the connected address is looked up and recorded under (`address`, or
    /// `[address]:port`), or nil when CheckHostIP does not apply. sshconnect.c
    /// `check_host_key` turns it off for a loopback address (127.0.0.0/8, ::1), for a
    /// connection through a ProxyCommand or ProxyJump (no address), and when the host name
    /// is that same text.
    package func addressName(_ address: String?) -> String? {
        guard self.checkHostIP, let address, !address.hasPrefix("127."), address != "::1" else { return nil }
        let name = KnownHostsFormat.hostName(address, port: self.port)
        return name == self.hostName ? nil : name
    }

    /// A known_hosts entry for this host.
    struct Known {
        var file: String
        var line: Int
        var key: SSHPublicKey
        var marker: KnownHostsMarker?
        var revoked: Bool { self.marker == .revoked }
    }

    /// Every entry for one of `names` whose key keysmith can read, markers included, in file
    /// order (user files first).
    func entries(for names: [String], command: [Known] = []) -> [Known] {
        var out: [Known] = []
        for file in self.userKnownHostsFiles + self.globalKnownHostsFiles {
            guard let contents = try? KeyFileIO.readFile(file) else { continue }
            let known = KnownHostsFile(contents: contents)
            var seen = Set<Int>()
            for name in names {
                for match in known.find(host: name) where seen.insert(match.lineNumber).inserted {
                    let raw = String(decoding: match.entry.rawKey, as: UTF8.self)
                    guard let parsed = SSHPublicKey.parseLine(Substring(raw)) else { continue }
                    out.append(Known(file: file, line: match.lineNumber, key: parsed.key, marker: match.marker))
                }
            }
        }
        return out + command
    }

    /// Every host key entry (plain or `@revoked`) for this host, in file order, then
    /// KnownHostsCommand's (`command`).
    func knownEntries(command: [Known] = []) -> [Known] {
        self.entries(for: [self.knownHostsName], command: command).filter { $0.marker != .certAuthority }
    }

    /// KnownHostsCommand's lines for ``knownHostsName`` (sshconnect.c `load_hostkeys_command`),
    /// named `KnownHostsCommand-INVOCATION` and the line number in messages, as ssh names them.
    ///
    /// For `ORDER` ssh hands the command, and matches its lines against, the bare host name
    /// (sshconnect2.c `order_hostkeyalgs` passes `host`, not the known_hosts name with the
    /// port or HostKeyAlias); keysmith does the same.
    func commandEntries(_ invocation: String, key: SSHPublicKey?) throws(SSHProtocolError) -> [Known] {
        guard let command = self.knownHostsCommand else { return [] }
        let name = invocation == "ORDER" ? self.hostName : self.knownHostsName
        let output = try command.run(invocation: invocation, hostName: name, key: key)
        var out: [Known] = []
        for match in KnownHostsFile(contents: output).find(host: name) {
            let raw = String(decoding: match.entry.rawKey, as: UTF8.self)
            guard let parsed = SSHPublicKey.parseLine(Substring(raw)) else { continue }
            out.append(
                Known(
                    file: "KnownHostsCommand-\(invocation)",
                    line: match.lineNumber,
                    key: parsed.key,
                    marker: match.marker
                )
            )
        }
        return out
    }

    /// Whether a `@cert-authority` line matches this host (sshconnect2.c `order_hostkeyalgs`
    /// then prefers the certificate algorithms).
    public func hasCertificateAuthority() -> Bool { self.hasCertificateAuthority(command: []) }

    private func hasCertificateAuthority(command: [Known]) -> Bool {
        self.entries(for: self.certificateAuthorityNames, command: command).contains { $0.marker == .certAuthority }
    }

    /// The key types known for this host, in file order, without repeats.
    public func knownKeyTypes() -> [SSHKeyType] { self.knownKeyTypes(command: []) }

    private func knownKeyTypes(command: [Known]) -> [SSHKeyType] {
        var types: [SSHKeyType] = []
        for e in self.knownEntries(command: command) where !e.revoked && !types.contains(e.key.type) {
            types.append(e.key.type)
        }
        return types
    }

    /// `hostKey` with the algorithms of the key types already known for this host moved first,
    /// as ssh's `order_hostkeyalgs` does, so that a server with several host keys offers a known one.
    ///
    /// For a host that a `@cert-authority` line matches, the host certificate algorithms
    /// (``SSHAlgorithms/supportedHostCertificate``) come first of all, added when missing.
    ///
    /// KnownHostsCommand is run with `ORDER` for it (sshconnect2.c `order_hostkeyalgs`).
    /// - Throws: `.hostKeyRejected` when KnownHostsCommand fails.
    public func orderingHostKeyAlgorithms(_ hostKey: [String]) throws(SSHProtocolError) -> [String] {
        let command = try self.commandEntries("ORDER", key: nil)
        var certificates: [String] = []
        var plain = hostKey
        if self.hasCertificateAuthority(command: command) {
            certificates = SSHAlgorithms.supportedHostCertificate
            plain = hostKey.filter { !certificates.contains($0) }
        }
        let known = self.knownKeyTypes(command: command)
        guard !known.isEmpty else { return certificates + plain }
        func type(of algorithm: String) -> SSHKeyType? {
            if algorithm.hasPrefix("rsa-sha2-") || algorithm == "ssh-rsa" { return .rsa }
            return SSHKeyType(sshName: Array(algorithm.utf8))
        }
        let first = plain.filter { a in type(of: a).map(known.contains) ?? false }
        return certificates + first + plain.filter { !first.contains($0) }
    }

    /// Checks `key`; returns when it is trusted (possibly after adding it), throws otherwise.
    /// - Throws: `.hostKeyRejected` with one sentence saying why and what to do.
    ///
    /// KnownHostsCommand runs once, with `HOSTNAME` and the key as the server sent it
    /// (sshconnect.c `check_host_key`); its lines are searched after the files'.
    public func check(_ key: SSHPublicKey) throws(SSHProtocolError) {
        try self.check(key, address: nil)
    }

    /// Checks `key` from a server connected at `address` (numeric, nil through a proxy);
    /// returns when it is trusted (possibly after adding it), throws otherwise.
    ///
    /// With CheckHostIP (``addressName(_:)``), as sshconnect.c `check_host_key` does:
    /// - A known host key whose address has no entry: the address is added to the first user
    ///   known_hosts file, whatever StrictHostKeyChecking says ("Permanently added the …
    ///   host key for IP address …").
    /// - A new host key added (accept-new, no, or confirmed): added as `host,address`, or as
    ///   two hashed lines with HashKnownHosts, unless the address is already known.
    /// - A different key of the same type for the address while the host's is known or new:
    ///   "differs from the key for the IP address"; refused under yes and accept-new, asked
    ///   (yes/no) under ask, a warning under no.
    /// - A changed host key is refused, after the "POSSIBLE DNS SPOOFING" warning when the
    ///   address's key is not the same changed one.
    /// A certificate's address is never checked, nor its plain key's when no CA matches.
    /// - Throws: `.hostKeyRejected` with one sentence saying why and what to do.
    public func check(_ key: SSHPublicKey, address: String?) throws(SSHProtocolError) {
        try self.check(key, address: address, command: try self.commandEntries("HOSTNAME", key: key))
    }

    private func check(
        _ key: SSHPublicKey,
        address: String?,
        command: [Known],
        checksAddress: Bool = true
    ) throws(SSHProtocolError) {
        if let certificate = key.certificate {
            if try self.checkCertificate(certificate, command: command) { return }
            // sshconnect.c: "No matching CA found. Retry with plain key", without the address's
            // entries (loaded only when no certificate came), the address still shown.
            return try self.check(certificate.key, address: address, command: command, checksAddress: false)
        }
        var ip = checksAddress ? self.addressName(address) : nil
        let ipEntries = ip.map { self.entries(for: [$0]).filter { $0.marker != .certAuthority } } ?? []
        let ipStatus = Self.status(of: key, in: ipEntries)
        let name = self.knownHostsName
        let type = key.type.displayName
        let entries = self.knownEntries(command: command)
        if entries.contains(where: { $0.revoked && $0.key == key }) {
            self.log("@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@")
            self.log("@       WARNING: REVOKED HOST KEY DETECTED!               @")
            self.log("@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@")
            self.log("The \(type) host key for \(name) is marked as revoked.")
            self.log("This could mean that a stolen key is being used to")
            self.log("impersonate this host.")
            throw SSHProtocolError(
                .hostKeyRejected,
                "the \(type) host key for \(name) is marked as revoked in known_hosts, so keysmith refuses to connect"
            )
        }
        let live = entries.filter { !$0.revoked }
        if let matching = live.first(where: { $0.key == key }) {
            if let ip, case .new = ipStatus { self.addAddress(ip, key) }
            return try self.checkAddress(key, ip: ip, ipStatus: ipStatus, matching: matching)
        }
        // hostfile.c check_hostkeys_by_key_or_type: any other key known for the name, of
        // whatever type, makes it a changed key, and the last one is the offending entry.
        if let offending = live.last {
            if let ip {
                var state = "is unknown"
                switch ipStatus {
                case .ok: state = "is unchanged"
                case .changed: state = "has a different value"
                case .new, .revoked: break
                }
                // The address with the same old key is no sign of spoofing, only of a change.
                var sameOldKey = false
                if case .changed(let found) = ipStatus { sameOldKey = found.key == offending.key }
                if !sameOldKey {
                    self.log("@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@")
                    self.log("@       WARNING: POSSIBLE DNS SPOOFING DETECTED!          @")
                    self.log("@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@")
                    self.log("The \(type) host key for \(name) has changed,")
                    self.log("and the key for the corresponding IP address \(ip)")
                    self.log("\(state). This could either mean that")
                    self.log("DNS SPOOFING is happening or the IP address for the host")
                    self.log("and its host key have changed at the same time.")
                    switch ipStatus {
                    case .changed(let found), .ok(let found): self.logOffendingAddress(found, ip)
                    case .new, .revoked: break
                    }
                }
            }
            self.log("@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@")
            self.log("@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @")
            self.log("@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@")
            self.log("IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!")
            self.log("Someone could be eavesdropping on you right now (man-in-the-middle attack)!")
            self.log("It is also possible that a host key has just been changed.")
            self.log("The fingerprint for the \(type) key sent by the remote host is")
            self.log("\(key.fingerprint()).")
            self.log("Please contact your system administrator.")
            if let file = self.userKnownHostsFiles.first ?? self.globalKnownHostsFiles.first {
                self.log("Add correct host key in \(file) to get rid of this message.")
            }
            self.log("Offending \(offending.key.type.displayName) key in \(offending.file):\(offending.line)")
            self.log("  remove with:")
            self.log("  keysmith known-hosts remove -f \"\(offending.file)\" \"\(name)\"")
            throw SSHProtocolError(
                .hostKeyRejected,
                "the host key for \(name) has changed (offending \(offending.key.type.displayName) key in \(offending.file):\(offending.line)); if the change is expected, remove the old key and try again"
            )
        }
        switch self.strictHostKeyChecking {
        case .yes:
            throw SSHProtocolError(
                .hostKeyRejected,
                "no \(type) host key is known for \(name) and StrictHostKeyChecking is yes; add the host's key to \(self.userKnownHostsFiles.first ?? "known_hosts") first"
            )
        case .ask:
            try self.confirm(key, address: address)
        case .acceptNew, .no:
            break
        }
        // sshconnect.c retries a host name with a port "without port identifier"; for a host
        // given as an address that retry turns CheckHostIP off.
        if self.hostKeyAlias == nil, let address, address == self.hostName { ip = nil }
        if let ip, case .new = ipStatus {
            self.add(key, names: [name, ip])
        } else {
            self.add(key, names: [name])
        }
        try self.checkAddress(key, ip: ip, ipStatus: ipStatus, matching: nil)
    }

    /// How a key stands against the entries for one name (hostfile.c
    /// `check_hostkeys_by_key_or_type`): known, revoked, changed (the last entry with another
    /// key, of any type) or new.
    enum Status {
        case ok(Known)
        case changed(Known)
        case revoked
        case new
    }

    static func status(of key: SSHPublicKey, in entries: [Known]) -> Status {
        if entries.contains(where: { $0.revoked && $0.key == key }) { return .revoked }
        let live = entries.filter { !$0.revoked }
        if let known = live.first(where: { $0.key == key }) { return .ok(known) }
        if let other = live.last { return .changed(other) }
        return .new
    }

    /// sshconnect.c after its checks of the host name: a host key known (`matching`) or
    /// newly accepted whose address has another key is "differs from the key for the IP
    /// address": asked about under ask, a warning under no, refused otherwise.
    private func checkAddress(
        _ key: SSHPublicKey,
        ip: String?,
        ipStatus: Status,
        matching: Known?
    ) throws(SSHProtocolError) {
        guard let ip, case .changed(let found) = ipStatus else { return }
        let name = self.knownHostsName
        let type = key.type.displayName
        var lines = [
            "Warning: the \(type) host key for '\(name)' differs from the key for the IP address '\(ip)'",
            "Offending key for IP in \(found.file):\(found.line)",
        ]
        if let matching { lines.append("Matching host key in \(matching.file):\(matching.line)") }
        let remove = "keysmith known-hosts remove -f \"\(found.file)\" \"\(ip)\""
        let refusal = SSHProtocolError(
            .hostKeyRejected,
            "the \(type) host key for \(name) differs from the key for its IP address \(ip) in \(found.file):\(found.line); if the address's key changed, remove it (\(remove)) and try again"
        )
        switch self.strictHostKeyChecking {
        case .no:
            for line in lines { self.log(line) }
        case .ask:
            guard !self.batchMode, let ask = self.ask else {
                for line in lines { self.log(line) }
                throw refusal
            }
            var question = lines.joined(separator: "\n") + "\nAre you sure you want to continue connecting (yes/no)? "
            while true {
                guard let answer = ask(question) else { throw refusal }
                let word = answer.split(whereSeparator: { " \t\n\r".contains($0) }).first.map(String.init) ?? ""
                if word.isEmpty || word.lowercased() == "no" {
                    throw SSHProtocolError(.hostKeyRejected, "the host key of \(name) was not accepted")
                }
                if word.lowercased() == "yes" { return }
                question = "Please type 'yes' or 'no': "
            }
        case .yes, .acceptNew:
            for line in lines { self.log(line) }
            throw refusal
        }
    }

    /// "Offending key for IP in FILE:LINE" and how to remove it.
    private func logOffendingAddress(_ found: Known, _ ip: String) {
        self.log("Offending key for IP in \(found.file):\(found.line)")
        self.log("  remove with:")
        self.log("  keysmith known-hosts remove -f \"\(found.file)\" \"\(ip)\"")
    }

    /// Records a known host's key under its address too (sshconnect.c, a known host key
    /// whose IP address is not), or says why not.
    private func addAddress(_ ip: String, _ key: SSHPublicKey) {
        let type = key.type.displayName
        guard let file = self.userKnownHostsFiles.first else {
            self.log("\(type) host key for IP address '\(ip)' not in list of known hosts.")
            return
        }
        do {
            try self.append([self.hashNewEntries ? KnownHostsFormat.hashHostName(ip) : ip], key, to: file)
            self.log(
                "Warning: Permanently added the \(type) host key for IP address '\(ip)' to the list of known hosts."
            )
        } catch {
            self.log("Failed to add the \(type) host key for IP address '\(ip)' to the list of known hosts (\(file)).")
        }
    }

    /// sshconnect.c `check_host_key` for a host certificate: true when it is trusted, false
    /// when no `@cert-authority` line for this host names its CA (the caller then checks the
    /// certified key as a plain host key).
    ///
    /// The certificate's key or its CA key marked `@revoked` is refused (hostfile.c
    /// `check_key_not_revoked`, with no retry). A certificate from a listed CA that
    /// `checkHost` refuses (expired, not yet valid, not for this host, with a critical
    /// option, signed with an algorithm not in CASignatureAlgorithms) is refused too, unless its
    /// plain key is itself known for the host. ssh would then retry with the plain key and
    /// could offer it for first use; keysmith never trusts on first use a key whose
    /// certificate from a trusted CA it just refused.
    private func checkCertificate(_ certificate: SSHCertificate, command: [Known]) throws(SSHProtocolError) -> Bool {
        let name = self.knownHostsName
        let entries = self.entries(for: self.certificateAuthorityNames, command: command)
        for entry in entries where entry.revoked {
            let what: String
            if entry.key.plainKey == certificate.key {
                what = "the \(certificate.key.type.displayName) host key of \(name)'s certificate"
            } else if entry.key.plainKey == certificate.signatureKey {
                what = "the CA key \(certificate.signatureKey.fingerprint()) that signed \(name)'s host certificate"
            } else {
                continue
            }
            throw SSHProtocolError(
                .hostKeyRejected,
                "\(what) is marked as revoked in \(entry.file):\(entry.line), so keysmith refuses to connect"
            )
        }
        guard
            let authority = entries.first(where: {
                $0.marker == .certAuthority && $0.key == certificate.signatureKey
            })
        else { return false }
        do {
            try certificate.checkHost(
                self.hostKeyAlias ?? self.hostName,
                at: self.now(),
                signatureAlgorithms: self.caSignatureAlgorithms
            )
            return true
        } catch {
            if self.knownEntries(command: command).contains(where: { !$0.revoked && $0.key == certificate.key }) {
                self.log("keysmith: \(name)'s host certificate is not valid (\(error.message)); its host key is known")
                return true
            }
            throw SSHProtocolError(
                .hostKeyRejected,
                "the host certificate of \(name), signed by the CA in \(authority.file):\(authority.line), is not accepted: \(error.message)"
            )
        }
    }

    /// sshconnect.c `confirm`: yes, no, or the fingerprint; anything else asks again.
    ///
    /// The question names the host as known_hosts does and the address connected to as
    /// `get_hostfile_hostname_ipaddr` writes it (`[address]:port` off port 22), or ssh's
    /// "<no hostip for proxy command>" through a ProxyCommand or ProxyJump (no address).
    /// ssh's "but keys of different type are already known" never shows: a known key of
    /// another type is a changed key (``status(of:in:)``).
    private func confirm(_ key: SSHPublicKey, address: String?) throws(SSHProtocolError) {
        let name = self.knownHostsName
        let fingerprint = key.fingerprint().description
        let refusal = SSHProtocolError(
            .hostKeyRejected,
            "the authenticity of \(name) can't be established and there is no terminal to confirm its \(key.type.displayName) key \(fingerprint); add it to known_hosts or use -o StrictHostKeyChecking=accept-new"
        )
        guard !self.batchMode, let ask = self.ask else { throw refusal }
        let shownAddress = address.map { KnownHostsFormat.hostName($0, port: self.port) }
        var question =
            "The authenticity of host '\(name) (\(shownAddress ?? "<no hostip for proxy command>"))' can't be established."
        question += "\n\(key.type.displayName) key fingerprint is \(fingerprint)."
        question += "\nAre you sure you want to continue connecting (yes/no/[fingerprint])? "
        while true {
            guard let answer = ask(question) else { throw refusal }
            // confirm() skips leading blanks and cuts the answer at the next one: "yes please" is yes.
            let word = answer.split(whereSeparator: { " \t\n\r".contains($0) }).first.map(String.init) ?? ""
            if word.isEmpty || word.lowercased() == "no" {
                throw SSHProtocolError(.hostKeyRejected, "the host key of \(name) was not accepted")
            }
            if word.lowercased() == "yes" || word == fingerprint { return }
            question = "Please type 'yes', 'no' or the fingerprint: "
        }
    }

    /// Appends `names keytype base64` to the first user known_hosts file (atomically, through a
    /// temporary file) and says so as ssh does. A failure to write is reported, not fatal.
    ///
    /// `names` is the host's name and, with CheckHostIP, its address: one `host,address`
    /// line, or with HashKnownHosts one hashed line for each (sshconnect.c).
    private func add(_ key: SSHPublicKey, names: [String]) {
        guard let file = self.userKnownHostsFiles.first else { return }
        let hosts =
            self.hashNewEntries ? names.map { KnownHostsFormat.hashHostName($0) } : [names.joined(separator: ",")]
        do {
            try self.append(hosts, key, to: file)
            self.log(
                "Warning: Permanently added '\(names.joined(separator: ","))' (\(key.type.displayName)) to the list of known hosts."
            )
        } catch {
            self.log("Failed to add the host to the list of known hosts (\(file)): \(error.message)")
        }
    }

    /// Appends one `host keytype base64` line per host to `file`, atomically.
    private func append(_ hosts: [String], _ key: SSHPublicKey, to file: String) throws(SSHKeyError) {
        try KeyFileIO.ensureDirectory(KeyFileIO.directoryName(of: file), mode: 0o700)
        var contents = KeyFileIO.fileExists(file) ? try KeyFileIO.readFile(file) : []
        let mode = KeyFileIO.fileExists(file) ? try KeyFileIO.mode(of: file) : 0o644
        if let last = contents.last, last != UInt8(ascii: "\n") { contents.append(UInt8(ascii: "\n")) }
        for host in hosts { contents += Array((host + " " + key.openSSHLine() + "\n").utf8) }
        try KeyFileIO.writeAtomically(path: file, contents: contents, mode: mode, overwrite: true)
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: Set<Character>) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
