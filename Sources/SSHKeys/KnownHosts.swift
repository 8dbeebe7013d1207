internal import SSHCrypto

/// A known_hosts file, read the way OpenSSH 9.2's `hostkeys_foreach` (hostfile.c) reads
/// it, with the find, remove and hash operations of `ssh-keygen -F`, `-R` and `-H`.
///
/// Each line keeps its raw bytes, so a line the operation does not touch is written back
/// byte for byte (followed by `\n`, which ssh-keygen also adds to a last line without one).
///
/// Line layout (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"):
///
///     [@cert-authority|@revoked] hostpatterns keytype base64-key [comment]
///
/// where `hostpatterns` is a comma-separated list of patterns (`*`, `?`, `!`), each a
/// name, an address or `[name]:port`, or a single hashed name
/// `|1|base64(salt)|base64(HMAC-SHA1(key: salt, data: name))`.
package struct KnownHostsFile: Sendable {
    /// The lines of the file, in order.
    package let lines: [KnownHostsLine]

    /// Splits `contents` into lines at `\n`; a last line without `\n` is still a line.
    package init(contents: [UInt8]) {
        var lines = [KnownHostsLine]()
        var start = 0
        var number = 0
        while start < contents.count {
            let end = contents[start...].firstIndex(of: UInt8(ascii: "\n")) ?? contents.count
            number += 1
            lines.append(KnownHostsLine(number: number, raw: Array(contents[start..<end])))
            start = end + 1
        }
        self.lines = lines
    }

    // MARK: ssh-keygen -F

    /// The entries that match `host`, as `ssh-keygen -F host` finds them.
    ///
    /// `host` is used as given: a name or address, or `[name]:port` for a port other than
    /// 22 (see ``KnownHostsFormat/hostName(_:port:)``). It is lowercased for plain patterns but
    /// not for hashed ones, as OpenSSH does. Comments, lines with a bad marker, lines whose
    /// key type is missing or unknown, and hashed names with a damaged salt are skipped.
    package func find(host: String) -> [KnownHostsMatch] {
        let name = Array(host.utf8)
        return self.lines.compactMap { line in
            guard case .matched(let entry) = line.classify(host: name, wantMatch: true) else { return nil }
            return KnownHostsMatch(lineNumber: line.number, line: line.raw, entry: entry)
        }
    }

    /// The lines hostfile.c's `hostkeys_foreach` hands on when it wants only the matches of
    /// `host` (HKF_WANT_MATCH): each matching entry, and with a nil entry each line it calls
    /// invalid on the way (a matching line cut short, a hashed name whose salt cannot be decoded).
    package func matchingLines(host: String) -> [(line: KnownHostsLine, entry: KnownHostsEntry?)] {
        let name = Array(host.utf8)
        return self.lines.compactMap { line in
            switch line.classify(host: name, wantMatch: true) {
            case .matched(let entry): (line, entry)
            case .invalid: (line, nil)
            default: nil
            }
        }
    }

    /// Everything `ssh-keygen -F host` prints on stdout: for each match the
    /// ``KnownHostsMessages/found(host:lineNumber:marker:)`` header (not with `quiet`, `-q`)
    /// and then the line, or with `hash` (`-F host -H`) the line with each plain name hashed.
    package func findOutput(host: String, hash: Bool = false, quiet: Bool = false) -> [UInt8] {
        var out = [UInt8]()
        for match in self.find(host: host) {
            if !quiet {
                out += Array(
                    KnownHostsMessages.found(host: host, lineNumber: match.lineNumber, marker: match.marker).utf8
                )
                out.append(UInt8(ascii: "\n"))
            }
            if hash {
                for line in KnownHostsFormat.hashedLines(for: match.line, entry: match.entry) {
                    out += line
                    out.append(UInt8(ascii: "\n"))
                }
            } else {
                out += match.line
                out.append(UInt8(ascii: "\n"))
            }
        }
        return out
    }

    // MARK: ssh-keygen -R

    /// The file without the entries for `host`, as `ssh-keygen -R host` computes it.
    ///
    /// Lines with a `@cert-authority` or `@revoked` marker are kept even when they match.
    /// Any invalid line makes the result ``KnownHostsRemoval/isValid`` false: ssh-keygen
    /// then refuses to rewrite the file.
    package func removing(host: String) -> KnownHostsRemoval {
        let name = Array(host.utf8)
        var out = [UInt8]()
        var removed = [Int]()
        var invalid = [Int]()
        for line in self.lines {
            switch line.classify(host: name, wantMatch: false) {
            case .matched(let entry) where entry.marker == nil:
                removed.append(line.number)
                continue
            case .invalid:
                invalid.append(line.number)
            default:
                break
            }
            out += line.raw
            out.append(UInt8(ascii: "\n"))
        }
        return KnownHostsRemoval(host: host, contents: out, removedLineNumbers: removed, invalidLineNumbers: invalid)
    }

    // MARK: ssh-keygen -H

    /// The file with every plain host name hashed, as `ssh-keygen -H` computes it.
    ///
    /// Each name of a line's list becomes its own line (`|1|salt|hash keytype key comment`)
    /// with a fresh 20-byte salt, lowercased first. Lines already hashed, with a marker, or
    /// whose list has `*`, `?` or `!` are kept as they are; the last are reported in
    /// ``KnownHostsHashing/wildcardLineNumbers`` for the warning ssh-keygen prints.
    package func hashed(host: String? = nil) -> KnownHostsHashing {
        self.hashed(host: host, salt: { SecureRandom.bytes(KnownHostsFormat.saltSize) })
    }

    /// ``hashed()`` with the salts from `salt` (tests use fixed salts); with `host` (`ssh-keygen
    /// -R host -H`, which hashes rather than removes) each line is matched against it too, so
    /// a hashed name whose salt cannot be decoded makes its line invalid, as hostfile.c finds.
    package func hashed(host: String? = nil, salt: () -> [UInt8]) -> KnownHostsHashing {
        let name = host.map { Array($0.utf8) }
        var out = [UInt8]()
        var wildcards = [(Int, [UInt8])]()
        var invalid = [Int]()
        var hashedAny = false
        for line in self.lines {
            switch line.classify(host: name, wantMatch: false) {
            case .ok(let entry), .matched(let entry):
                if entry.hasWildcard { wildcards.append((line.number, entry.hosts)) }
                let lines = KnownHostsFormat.hashedLines(for: line.raw, entry: entry, salt: salt)
                if !entry.isHashed && !entry.hasWildcard && entry.marker == nil && !lines.isEmpty { hashedAny = true }
                for l in lines {
                    out += l
                    out.append(UInt8(ascii: "\n"))
                }
                continue
            case .invalid:
                invalid.append(line.number)
            case .comment, .skipped:
                break
            }
            out += line.raw
            out.append(UInt8(ascii: "\n"))
        }
        return KnownHostsHashing(
            contents: out,
            hadUnhashedEntries: hashedAny,
            wildcardLines: wildcards.map { KnownHostsHashing.WildcardLine(lineNumber: $0.0, hosts: $0.1) },
            invalidLineNumbers: invalid
        )
    }
}

/// One line of a known_hosts file.
package struct KnownHostsLine: Sendable, Hashable {
    /// The 1-based line number.
    package let number: Int
    /// The line's bytes, without its `\n`.
    package let raw: [UInt8]

    /// The line as text (invalid UTF-8 repaired); for display only.
    package var text: String { String(decoding: self.raw, as: UTF8.self) }

    /// The line's entry, or nil for a comment, a blank line or an invalid line.
    package var entry: KnownHostsEntry? {
        switch self.classify(host: nil, wantMatch: false) {
        case .ok(let entry), .matched(let entry): entry
        default: nil
        }
    }

    enum Status {
        case comment
        case invalid
        /// Not matched while only matches were wanted (nothing more was checked).
        case skipped
        case ok(KnownHostsEntry)
        case matched(KnownHostsEntry)
    }

    /// Whether hostfile.c's `check_markers` refuses the line's marker (an unknown one, or two),
    /// which `hostkeys_foreach_file` reports at verbose level.
    package var hasMarkerError: Bool {
        let b = self.raw
        guard !b.contains(0) else { return false }
        guard let i = b.firstIndex(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") }),
            b[i] != UInt8(ascii: "#")
        else { return false }
        return Self.readMarker(b, from: i) == nil
    }

    /// hostfile.c `check_markers` from `start`: one marker at most, ended by the first space
    /// (or else the first tab); the marker and where the host list starts, nil for an error.
    private static func readMarker(_ b: [UInt8], from start: Int) -> (KnownHostsMarker?, Int)? {
        func isBlank(_ c: UInt8) -> Bool { c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") }
        var i = start
        var marker: KnownHostsMarker? = nil
        while i < b.count && b[i] == UInt8(ascii: "@") {
            guard marker == nil else { return nil }
            guard let sp = b[i...].firstIndex(of: UInt8(ascii: " ")) ?? b[i...].firstIndex(of: UInt8(ascii: "\t")),
                sp > i + 1, sp < i + 32
            else { return nil }
            switch b[i..<sp] {
            case ArraySlice(KnownHostsFormat.certAuthorityMarker.utf8): marker = .certAuthority
            case ArraySlice(KnownHostsFormat.revokedMarker.utf8): marker = .revoked
            default: return nil
            }
            i = sp
            while i < b.count && isBlank(b[i]) { i += 1 }
        }
        return (marker, i)
    }

    /// hostfile.c `hostkeys_foreach_file` for one line: `host` (if any) is matched,
    /// and with `wantMatch` only matching lines are examined further.
    func classify(host: [UInt8]?, wantMatch: Bool) -> Status {
        let b = self.raw
        // OpenSSH reads lines as C strings; a NUL would silently cut the line, so we call
        // such a line invalid instead and refuse to rewrite the file.
        if b.contains(0) { return wantMatch ? .skipped : .invalid }
        func isBlank(_ c: UInt8) -> Bool { c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") }
        var i = 0
        while i < b.count && isBlank(b[i]) { i += 1 }
        if i == b.count || b[i] == UInt8(ascii: "#") { return wantMatch ? .skipped : .comment }

        guard let (marker, afterMarker) = Self.readMarker(b, from: i) else { return wantMatch ? .skipped : .invalid }
        i = afterMarker

        let hostsStart = i
        while i < b.count && !isBlank(b[i]) { i += 1 }
        let hosts = Array(b[hostsStart..<i])

        var matched = false
        if let host {
            switch KnownHostsFormat.matchMaybeHashed(host: host, hosts: hosts) {
            case nil: return .invalid  // a hashed name whose salt cannot be decoded
            case true?: matched = true
            case false?: if wantMatch { return .skipped }
            }
        }

        while i < b.count && isBlank(b[i]) { i += 1 }
        if i == b.count || b[i] == UInt8(ascii: "#") { return .invalid }  // truncated before key type
        let rawKeyStart = i
        while i < b.count && !isBlank(b[i]) { i += 1 }
        let keyTypeEnd = i
        let typeLength = keyTypeEnd - rawKeyStart
        // ktype[128] in hostfile.c, and a key type must be followed by something.
        if typeLength <= 1 || typeLength >= 128 || keyTypeEnd == b.count { return .invalid }
        let keyType = Array(b[rawKeyStart..<keyTypeEnd])
        guard let algorithm = KnownHostsFormat.keyAlgorithm(named: keyType) else { return .invalid }
        while i < b.count && isBlank(b[i]) { i += 1 }
        if i == b.count || b[i] == UInt8(ascii: "#") { return .invalid }  // truncated after key type
        let keyStart = i
        while i < b.count && !isBlank(b[i]) { i += 1 }
        let keyData = Array(b[keyStart..<i])
        while i < b.count && isBlank(b[i]) { i += 1 }

        let entry = KnownHostsEntry(
            marker: marker,
            hosts: hosts,
            keyType: String(decoding: keyType, as: UTF8.self),
            keyShortName: algorithm.shortName,
            keyData: String(decoding: keyData, as: UTF8.self),
            comment: String(decoding: b[i...], as: UTF8.self),
            rawKey: Array(b[rawKeyStart...])
        )
        return matched ? .matched(entry) : .ok(entry)
    }
}

/// The marker that may start a known_hosts line.
package enum KnownHostsMarker: Sendable, Hashable {
    /// `@cert-authority`: the key is a CA trusted to sign host certificates.
    case certAuthority
    /// `@revoked`: the key must never be accepted.
    case revoked
}

/// The fields of a valid known_hosts entry line.
package struct KnownHostsEntry: Sendable, Hashable {
    /// The line's marker, if any.
    package let marker: KnownHostsMarker?
    /// The host pattern list (or one hashed name), as bytes.
    package let hosts: [UInt8]
    /// The key type token as written (`ssh-ed25519`, `ecdsa-sha2-nistp256`, …).
    package let keyType: String
    /// OpenSSH's short name for that type (`ED25519`, `RSA`, `ECDSA`, `ED25519-CERT`, …).
    package let keyShortName: String
    /// The base64 key blob token.
    package let keyData: String
    /// What follows the key blob (possibly empty).
    package let comment: String
    /// Everything from the key type to the end of the line (hostfile.c `rawkey`).
    package let rawKey: [UInt8]

    /// Whether the host list is one hashed name (starts with `|`).
    package var isHashed: Bool { self.hosts.first == UInt8(ascii: "|") }

    /// Whether the host list has a `*`, `?` or `!` (ssh-keygen -H keeps such lines).
    package var hasWildcard: Bool {
        self.hosts.contains { $0 == UInt8(ascii: "*") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "!") }
    }
}

/// A line found by ``KnownHostsFile/find(host:)``.
package struct KnownHostsMatch: Sendable, Hashable {
    /// The 1-based line number.
    package let lineNumber: Int
    /// The line's raw bytes, without its `\n`.
    package let line: [UInt8]
    /// The line's fields.
    package let entry: KnownHostsEntry

    /// The line's marker, if any.
    package var marker: KnownHostsMarker? { self.entry.marker }
    /// The line as text (invalid UTF-8 repaired).
    package var text: String { String(decoding: self.line, as: UTF8.self) }
}

/// The result of ``KnownHostsFile/removing(host:)``.
package struct KnownHostsRemoval: Sendable, Hashable {
    /// The host as given.
    package let host: String
    /// The new file contents (meaningful only when ``shouldWrite``).
    package let contents: [UInt8]
    /// The lines removed, in order.
    package let removedLineNumbers: [Int]
    /// Lines ssh-keygen calls invalid; any of them forbids rewriting the file.
    package let invalidLineNumbers: [Int]

    /// Whether the file has no invalid line.
    package var isValid: Bool { self.invalidLineNumbers.isEmpty }
    /// Whether the file should be replaced: it is valid and something was removed.
    package var shouldWrite: Bool { self.isValid && !self.removedLineNumbers.isEmpty }
}

/// The result of ``KnownHostsFile/hashed()``.
package struct KnownHostsHashing: Sendable, Hashable {
    /// A line kept unhashed because its host list has a wildcard or negation.
    package struct WildcardLine: Sendable, Hashable {
        package let lineNumber: Int
        /// The line's host list, as bytes.
        package let hosts: [UInt8]
    }

    /// The new file contents (meaningful only when ``isValid``).
    package let contents: [UInt8]
    /// Whether any name was hashed, so the backup still holds plain names (the warning).
    package let hadUnhashedEntries: Bool
    /// Lines kept because of wildcards, for ``KnownHostsMessages/ignoringWildcard(path:lineNumber:hosts:)``.
    package let wildcardLines: [WildcardLine]
    /// Lines ssh-keygen calls invalid; any of them forbids rewriting the file.
    package let invalidLineNumbers: [Int]

    /// Whether the file has no invalid line (and may be replaced).
    package var isValid: Bool { self.invalidLineNumbers.isEmpty }
}

/// Host names and hashing as OpenSSH writes them in known_hosts.
package enum KnownHostsFormat {
    /// hostfile.h `HASH_MAGIC`.
    package static let hashMagic = "|1|"
    /// hostfile.h `CA_MARKER`.
    package static let certAuthorityMarker = "@cert-authority"
    /// hostfile.h `REVOKE_MARKER`.
    package static let revokedMarker = "@revoked"
    /// The salt length: an HMAC-SHA1 key as long as its output.
    package static let saltSize = 20

    /// The path ssh uses by default, `~/.ssh/known_hosts` under `home`.
    package static func defaultPath(home: String) -> String {
        home.hasSuffix("/") ? home + ".ssh/known_hosts" : home + "/.ssh/known_hosts"
    }

    /// misc.c `put_host_port`: `host` for port 22 (or none), else `[host]:port`.
    package static func hostName(_ host: String, port: Int? = nil) -> String {
        guard let port, port != 0, port != 22 else { return host }
        return "[\(host)]:\(port)"
    }

    /// hostfile.c `host_hash`: `|1|base64(salt)|base64(HMAC-SHA1(key: salt, data: name))`.
    ///
    /// `name` is hashed exactly as given; ssh-keygen -H lowercases it first.
    package static func hashHostName(_ name: some Collection<UInt8>, salt: [UInt8]) -> String {
        let mac = HMAC.authenticate(.sha1, key: salt, data: Array(name))
        return hashMagic + Base64.encode(salt) + "|" + Base64.encode(mac)
    }

    /// Hashes `name` with a fresh random salt.
    package static func hashHostName(_ name: String) -> String {
        hashHostName(Array(name.utf8), salt: SecureRandom.bytes(saltSize))
    }

    /// hostfile.c `match_maybe_hashed`: a hashed list is compared with `host` hashed under
    /// its salt (no lowercasing); a plain list goes through `match_hostname`.
    /// Returns nil when the hashed name's salt cannot be extracted.
    package static func matchMaybeHashed(host: [UInt8], hosts: [UInt8]) -> Bool? {
        guard hosts.first == UInt8(ascii: "|") else {
            return HostPattern.matchHostname(host, patterns: hosts) == .positive
        }
        guard let salt = extractSalt(hosts) else { return nil }
        // An HMAC compared in constant time, though here it hides little (hostfile.c uses strncmp).
        return constantTimeEquals(hashHostName(host, salt: salt).utf8, hosts)
    }

    /// hostfile.c `extract_salt`: `|1|`, then 1 to 1024 base64 characters up to the next
    /// `|` that decode to exactly 20 bytes.
    static func extractSalt(_ hosts: [UInt8]) -> [UInt8]? {
        let magic = Array(hashMagic.utf8)
        guard hosts.starts(with: magic) else { return nil }
        let rest = hosts[magic.count...]
        guard let end = rest.firstIndex(of: UInt8(ascii: "|")) else { return nil }
        let encoded = rest[rest.startIndex..<end]
        guard !encoded.isEmpty, encoded.count <= 1024,
            let salt = Base64.decode(encoded), salt.count == saltSize
        else { return nil }
        return salt
    }

    /// ssh-keygen.c `known_hosts_hash` for one valid line: the line itself when it is
    /// hashed, has a marker or a wildcard; else one `hashed-name rawkey` line per name.
    ///
    /// Names are split at `,` and the split stops at the first empty name (strsep), so
    /// `a,,b` yields only `a`, and a list starting with `,` yields no line at all.
    package static func hashedLines(
        for line: [UInt8],
        entry: KnownHostsEntry,
        salt: () -> [UInt8] = { SecureRandom.bytes(KnownHostsFormat.saltSize) }
    ) -> [[UInt8]] {
        if entry.isHashed || entry.hasWildcard || entry.marker != nil { return [line] }
        var lines = [[UInt8]]()
        for name in entry.hosts.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) {
            if name.isEmpty { break }
            let hashed = hashHostName(name.map(HostPattern.asciiLowercased), salt: salt())
            lines.append(Array(hashed.utf8) + [UInt8(ascii: " ")] + entry.rawKey)
        }
        return lines
    }

    struct Algorithm {
        let name: String
        let shortName: String
        let isCertificate: Bool
    }

    /// The key types OpenSSH 9.2 (as Debian builds it, without XMSS) knows, with their
    /// short names (sshkey.c `keyimpls`).
    static let algorithms: [Algorithm] = [
        Algorithm(name: "ssh-ed25519", shortName: "ED25519", isCertificate: false),
        Algorithm(name: "ssh-ed25519-cert-v01@openssh.com", shortName: "ED25519-CERT", isCertificate: true),
        Algorithm(name: "sk-ssh-ed25519@openssh.com", shortName: "ED25519-SK", isCertificate: false),
        Algorithm(name: "sk-ssh-ed25519-cert-v01@openssh.com", shortName: "ED25519-SK-CERT", isCertificate: true),
        Algorithm(name: "ecdsa-sha2-nistp256", shortName: "ECDSA", isCertificate: false),
        Algorithm(name: "ecdsa-sha2-nistp256-cert-v01@openssh.com", shortName: "ECDSA-CERT", isCertificate: true),
        Algorithm(name: "ecdsa-sha2-nistp384", shortName: "ECDSA", isCertificate: false),
        Algorithm(name: "ecdsa-sha2-nistp384-cert-v01@openssh.com", shortName: "ECDSA-CERT", isCertificate: true),
        Algorithm(name: "ecdsa-sha2-nistp521", shortName: "ECDSA", isCertificate: false),
        Algorithm(name: "ecdsa-sha2-nistp521-cert-v01@openssh.com", shortName: "ECDSA-CERT", isCertificate: true),
        Algorithm(name: "sk-ecdsa-sha2-nistp256@openssh.com", shortName: "ECDSA-SK", isCertificate: false),
        Algorithm(name: "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com", shortName: "ECDSA-SK-CERT", isCertificate: true),
        Algorithm(name: "webauthn-sk-ecdsa-sha2-nistp256@openssh.com", shortName: "ECDSA-SK", isCertificate: false),
        Algorithm(name: "ssh-dss", shortName: "DSA", isCertificate: false),
        Algorithm(name: "ssh-dss-cert-v01@openssh.com", shortName: "DSA-CERT", isCertificate: true),
        Algorithm(name: "ssh-rsa", shortName: "RSA", isCertificate: false),
        Algorithm(name: "ssh-rsa-cert-v01@openssh.com", shortName: "RSA-CERT", isCertificate: true),
        Algorithm(name: "rsa-sha2-256", shortName: "RSA", isCertificate: false),
        Algorithm(name: "rsa-sha2-256-cert-v01@openssh.com", shortName: "RSA-CERT", isCertificate: true),
        Algorithm(name: "rsa-sha2-512", shortName: "RSA", isCertificate: false),
        Algorithm(name: "rsa-sha2-512-cert-v01@openssh.com", shortName: "RSA-CERT", isCertificate: true),
    ]

    /// sshkey.c `sshkey_type_from_name`: an exact name, or (for plain keys only) a short
    /// name in any case (`ED25519`, `rsa`).
    static func keyAlgorithm(named token: [UInt8]) -> Algorithm? {
        let lowered = token.map(HostPattern.asciiLowercased)
        for algorithm in algorithms {
            if Array(algorithm.name.utf8) == token { return algorithm }
            if !algorithm.isCertificate && Array(algorithm.shortName.utf8).map(HostPattern.asciiLowercased) == lowered {
                return algorithm
            }
        }
        return nil
    }

    /// OpenSSH's short name for a key type token (`ssh-ed25519` → `ED25519`), or nil if
    /// OpenSSH 9.2 does not know the type.
    package static func keyShortName(forKeyType token: String) -> String? {
        keyAlgorithm(named: Array(token.utf8))?.shortName
    }
}

/// The exact lines `ssh-keygen` 9.2 prints for `-F`, `-R` and `-H`, without line endings.
///
/// Lines marked stdout end in `\n`. ssh-keygen writes its stderr lines through log.c,
/// which ends each with `\r\n`; a plain `\n` is the sensible choice for us.
package enum KnownHostsMessages {
    /// stdout, `-F` (before each matching line). Note the space after the line number,
    /// which ssh-keygen prints even when there is no marker.
    package static func found(host: String, lineNumber: Int, marker: KnownHostsMarker?) -> String {
        let tag =
            switch marker {
            case .certAuthority?: "CA"
            case .revoked?: "REVOKED"
            case nil: ""
            }
        return "# Host \(host) found: line \(lineNumber) \(tag)"
    }

    /// stdout, `-F -l`: `host TYPE fingerprint[ comment]` (the fingerprint comes from the
    /// parsed key, e.g. `SHA256:…`; the type is the key's short name).
    package static func fingerprint(host: String, keyShortName: String, fingerprint: String, comment: String) -> String
    {
        "\(host) \(keyShortName) \(fingerprint)" + (comment.isEmpty ? "" : " " + comment)
    }

    /// stdout, `-R`, for each line removed.
    package static func removed(host: String, lineNumber: Int) -> String {
        "# Host \(host) found: line \(lineNumber)"
    }

    /// stdout, `-R` / `-H` after replacing the file.
    package static func updated(path: String) -> String { "\(path) updated." }

    /// stdout, `-R` / `-H` after replacing the file; `backupPath` is `PATH.old`.
    package static func originalRetained(backupPath: String) -> String { "Original contents retained as \(backupPath)" }

    /// The backup path ssh-keygen uses.
    package static func backupPath(for path: String) -> String { path + ".old" }

    /// stderr, `-R` when nothing matched (exit status 0, file untouched).
    package static func notFound(host: String, path: String) -> String { "Host \(host) not found in \(path)" }

    /// stderr, `-R` / `-H` for each invalid line.
    package static func invalidLine(path: String, lineNumber: Int) -> String { "\(path):\(lineNumber): invalid line" }

    /// stderr, `-R` / `-H` when any line is invalid (exit status 1), then ``notReplacing``.
    package static func notValidFile(path: String) -> String { "\(path) is not a valid known_hosts file." }

    /// stderr, after ``notValidFile(path:)``.
    package static let notReplacing = "Not replacing existing known_hosts file because of errors"

    /// stderr, `-H` for a line kept because of a wildcard; the list is cut at 64 bytes.
    package static func ignoringWildcard(path: String, lineNumber: Int, hosts: [UInt8]) -> String {
        "\(path):\(lineNumber): ignoring host name with wildcard: " + String(decoding: hosts.prefix(64), as: UTF8.self)
    }

    /// stderr, `-H` after replacing a file that had plain names: two lines.
    package static func unhashedWarning(backupPath: String) -> [String] {
        ["WARNING: \(backupPath) contains unhashed entries", "Delete this file to ensure privacy of hostnames"]
    }
}
