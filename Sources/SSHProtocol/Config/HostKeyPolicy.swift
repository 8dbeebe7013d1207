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
    }

    /// The host's name in known_hosts: `host`, or `[host]:port` for a port other than 22.
    public var knownHostsName: String { KnownHostsFormat.hostName(self.hostName, port: self.port) }

    /// The closure for ``SSHClientOptions/hostKeyVerifier``.
    public var verifier: @Sendable (SSHPublicKey) throws(SSHProtocolError) -> Void {
        let policy = self
        return { (key: SSHPublicKey) throws(SSHProtocolError) -> Void in try policy.check(key) }
    }

    /// A known_hosts entry for this host.
    struct Known {
        var file: String
        var line: Int
        var key: SSHPublicKey
        var revoked: Bool
    }

    /// Every entry for this host whose key keysmith can read, in file order (user files first).
    func knownEntries() -> [Known] {
        var out: [Known] = []
        for file in self.userKnownHostsFiles + self.globalKnownHostsFiles {
            guard let contents = try? KeyFileIO.readFile(file) else { continue }
            for match in KnownHostsFile(contents: contents).find(host: self.knownHostsName) {
                if match.marker == .certAuthority { continue }
                let raw = String(decoding: match.entry.rawKey, as: UTF8.self)
                guard let parsed = SSHPublicKey.parseLine(Substring(raw)) else { continue }
                out.append(
                    Known(file: file, line: match.lineNumber, key: parsed.key, revoked: match.marker == .revoked)
                )
            }
        }
        return out
    }

    /// The key types known for this host, in file order, without repeats.
    public func knownKeyTypes() -> [SSHKeyType] {
        var types: [SSHKeyType] = []
        for e in self.knownEntries() where !e.revoked && !types.contains(e.key.type) { types.append(e.key.type) }
        return types
    }

    /// `hostKey` with the algorithms of the key types already known for this host moved first,
    /// as ssh's `order_hostkeyalgs` does, so that a server with several host keys offers a known one.
    public func orderingHostKeyAlgorithms(_ hostKey: [String]) -> [String] {
        let known = self.knownKeyTypes()
        guard !known.isEmpty else { return hostKey }
        func type(of algorithm: String) -> SSHKeyType? {
            if algorithm.hasPrefix("rsa-sha2-") || algorithm == "ssh-rsa" { return .rsa }
            return SSHKeyType(sshName: Array(algorithm.utf8))
        }
        let first = hostKey.filter { a in type(of: a).map(known.contains) ?? false }
        return first + hostKey.filter { !first.contains($0) }
    }

    /// Checks `key`; returns when it is trusted (possibly after adding it), throws otherwise.
    /// - Throws: `.hostKeyRejected` with one sentence saying why and what to do.
    public func check(_ key: SSHPublicKey) throws(SSHProtocolError) {
        let name = self.knownHostsName
        let type = key.type.displayName
        let entries = self.knownEntries()
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
        if live.contains(where: { $0.key == key }) { return }
        if let offending = live.first(where: { $0.key.type == key.type }) {
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
            try self.confirm(key, otherTypesKnown: !live.isEmpty)
        case .acceptNew, .no:
            break
        }
        self.add(key)
    }

    /// sshconnect.c `confirm`: yes, no, or the fingerprint; anything else asks again.
    private func confirm(_ key: SSHPublicKey, otherTypesKnown: Bool) throws(SSHProtocolError) {
        let name = self.knownHostsName
        let fingerprint = key.fingerprint().description
        let refusal = SSHProtocolError(
            .hostKeyRejected,
            "the authenticity of \(name) can't be established and there is no terminal to confirm its \(key.type.displayName) key \(fingerprint); add it to known_hosts or use -o StrictHostKeyChecking=accept-new"
        )
        guard !self.batchMode, let ask = self.ask else { throw refusal }
        var question = "The authenticity of host '\(name) (\(name))' can't be established"
        question += otherTypesKnown ? "\nbut keys of different type are already known for this host." : "."
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

    /// Appends `name keytype base64` to the first user known_hosts file (atomically, through a
    /// temporary file) and says so as ssh does. A failure to write is reported, not fatal.
    private func add(_ key: SSHPublicKey) {
        let name = self.knownHostsName
        guard let file = self.userKnownHostsFiles.first else { return }
        let host = self.hashNewEntries ? KnownHostsFormat.hashHostName(name) : name
        do {
            try KeyFileIO.ensureDirectory(KeyFileIO.directoryName(of: file), mode: 0o700)
            var contents = KeyFileIO.fileExists(file) ? try KeyFileIO.readFile(file) : []
            let mode = KeyFileIO.fileExists(file) ? try KeyFileIO.mode(of: file) : 0o644
            if let last = contents.last, last != UInt8(ascii: "\n") { contents.append(UInt8(ascii: "\n")) }
            contents += Array((host + " " + key.openSSHLine() + "\n").utf8)
            try KeyFileIO.writeAtomically(path: file, contents: contents, mode: mode, overwrite: true)
            self.log("Warning: Permanently added '\(name)' (\(key.type.displayName)) to the list of known hosts.")
        } catch {
            self.log("Failed to add the host to the list of known hosts (\(file)): \(error.message)")
        }
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
