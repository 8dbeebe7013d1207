#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An allowed_signers file (ssh-keygen(1) ALLOWED SIGNERS): which keys may sign for which
/// principals, read line by line as OpenSSH's sshsig.c reads it.
///
/// Each line is `principals [options] key`:
///
///     alice@example.com,bob@example.com namespaces="git,file" ssh-ed25519 AAAA… comment
///     *@example.com,!mallory@example.com valid-after="20240101",valid-before="20250101Z" ecdsa-sha2-nistp256 AAAA…
///
/// Principals are a comma-separated pattern list (`*`, `?`, `!` negation); options are
/// `cert-authority`, `namespaces="pattern-list"`, `valid-after="time"` and `valid-before="time"`,
/// where a time is `YYYYMMDD[HHMM[SS]]` in local time, or UTC with a `Z` (or `UTC`) suffix.
///
/// As in OpenSSH, a line is only parsed fully when its principals match the identity asked
/// for, lines are tried in order and the first that allows the key wins, and a malformed
/// line that is reached stops the search. A `cert-authority` line allows a signature made
/// with a certificate its key signed (sshsig.c `check_allowed_keys_line`): a user
/// certificate, valid at the verify time, that lists the principal asked for exactly (for
/// find-principals: those of its principals the line's patterns match); the line's
/// `namespaces=`, `valid-after` and `valid-before` apply as to a plain key. A plain key
/// line never allows a certificate, nor a `cert-authority` line a plain key.
public struct AllowedSigners: Sendable {
    /// One parsed line.
    public struct Entry: Sendable, Hashable {
        /// The line number, from 1.
        public let lineNumber: Int
        /// The principals field as written: a comma-separated pattern list.
        public let principals: String
        /// The options.
        public let options: Options
        /// The key (for `cert-authority`, the CA key).
        public let publicKey: SSHPublicKey
    }

    /// The options of a line (sshsig.c `struct sshsigopt`).
    public struct Options: Sendable, Hashable {
        /// `cert-authority`: the key is a CA key for certificates.
        public var certificateAuthority = false
        /// `namespaces="…"`: the namespaces (a pattern list) the key may sign for; nil allows all.
        public var namespaces: String?
        /// `valid-after="…"`, in seconds since the epoch.
        public var validAfter: UInt64?
        /// `valid-before="…"`, in seconds since the epoch.
        public var validBefore: UInt64?

        public init() {}
    }

    /// The file name used in messages.
    public let path: String
    private let lines: [ArraySlice<UInt8>]

    /// An allowed_signers file from its contents; `path` names it in messages.
    public init(contents: some Collection<UInt8>, path: String) {
        let bytes = Array(contents)
        var lines: [ArraySlice<UInt8>] = []
        var start = 0
        // getline: each line keeps its newline; a last line may lack one.
        for (i, b) in bytes.enumerated() where b == UInt8(ascii: "\n") {
            lines.append(bytes[start...i])
            start = i + 1
        }
        if start < bytes.count { lines.append(bytes[start...]) }
        self.path = path
        self.lines = lines
    }

    /// Reads the allowed_signers file at `path`.
    /// - Throws: `.fileError` when it cannot be read.
    public init(path: String) throws(SSHKeyError) {
        self.init(contents: try KeyFileIO.readFile(path), path: path)
    }

    /// Every line that holds an entry, in order.
    /// - Throws: `.invalidFormat` naming the first malformed line.
    public func entries() throws(SSHKeyError) -> [Entry] {
        var out: [Entry] = []
        for (i, line) in self.lines.enumerated() {
            if let e = try self.parse(line, number: i + 1, requiredPrincipal: nil) { out.append(e) }
        }
        return out
    }

    /// Whether `key` may sign for `principal` in `namespace` at `time` (ssh-keygen -Y verify's
    /// `sshsig_check_allowed_keys`).
    ///
    /// - Parameter time: seconds since the epoch; now by default.
    /// - Returns: the line that allowed it.
    /// - Throws: `.notAllowed` saying why no line allows it (the first line that matched the key
    ///   but refused by its options, or that no line lists the principal with the key);
    ///   `.invalidFormat` for a malformed line whose principals match.
    @discardableResult
    public func authorize(
        _ key: SSHPublicKey,
        principal: String,
        namespace: String,
        time: UInt64 = AllowedSigners.currentTime()
    ) throws(SSHKeyError) -> Entry {
        var refusals: [String] = []
        return try self.search(
            key,
            principal: principal,
            namespace: namespace,
            time: time,
            openSSH: false,
            diagnostics: &refusals
        ).entry
    }

    /// The principals of the first line that allows `key` at `time`, whatever the namespace
    /// (ssh-keygen -Y find-principals), as written: patterns and `!` entries included. For
    /// a certificate allowed by a `cert-authority` line, the certificate's principals that
    /// the line's patterns match, one for each pattern that matches it (sshsig.c
    /// `cert_filter_principals`).
    /// - Throws: `.notAllowed` when no line does, `.invalidFormat` for a malformed line.
    public func principals(
        for key: SSHPublicKey,
        time: UInt64 = AllowedSigners.currentTime()
    ) throws(SSHKeyError) -> [String] {
        var refusals: [String] = []
        let (entry, certificatePrincipals) = try self.search(
            key,
            principal: nil,
            namespace: nil,
            time: time,
            openSSH: false,
            diagnostics: &refusals
        )
        if let certificatePrincipals { return certificatePrincipals }
        return Self.splitPrincipals(entry.principals)
    }

    /// ssh-keygen's strsep(",") loop: the names up to the first empty one.
    private static func splitPrincipals(_ list: String) -> [String] {
        var out: [String] = []
        for p in list.split(separator: ",", omittingEmptySubsequences: false) {
            if p.isEmpty { break }
            out.append(String(p))
        }
        return out
    }

    /// The current time in seconds since the epoch.
    public static func currentTime() -> UInt64 { UInt64(max(0, time(nil))) }

    // MARK: As OpenSSH 9.2's ssh-keygen

    /// What sshsig.c's search of the file gives and says, as OpenSSH 9.2's ssh-keygen runs
    /// it (keysmith's `ssh-keygen` link prints ``diagnostics`` as ssh-keygen's error lines).
    public struct OpenSSHSearch: Sendable, Hashable {
        /// The line that allowed the key, nil when none did.
        public var entry: Entry?
        /// The principals find-principals prints: for a certificate allowed by a
        /// `cert-authority` line those sshsig.c `cert_filter_principals` finds, else the
        /// line's principals field as written, split at commas up to the first empty name.
        public var principals: [String]
        /// sshsig.c's error lines, in order, without the program name.
        public var diagnostics: [String]
    }

    /// sshsig.c `sshsig_check_allowed_keys` (`principal` given, for -Y verify) or
    /// `sshsig_find_principals` (`principal` and `namespace` nil) exactly as OpenSSH 9.2 does
    /// it: every line is tried in order, and a line that is malformed or refuses the key is
    /// reported in sshsig.c's words and skipped (keysmith's own ``authorize(_:principal:namespace:time:)``
    /// stops at the first malformed line it reaches, and explains refusals in its own words).
    public func openSSHSearch(
        _ key: SSHPublicKey,
        principal: String?,
        namespace: String?,
        time: UInt64
    ) -> OpenSSHSearch {
        var result = OpenSSHSearch(entry: nil, principals: [], diagnostics: [])
        do {
            let (entry, certificatePrincipals) = try self.search(
                key,
                principal: principal,
                namespace: namespace,
                time: time,
                openSSH: true,
                diagnostics: &result.diagnostics
            )
            result.entry = entry
            result.principals = certificatePrincipals ?? Self.splitPrincipals(entry.principals)
        } catch {
            // The diagnostics say why; sshsig.c reports nothing more.
        }
        return result
    }

    /// sshsig.c `sshsig_match_principals` (ssh-keygen -Y match-principals): the principals
    /// field, as written, of every line whose principals match `principal`, in order.
    /// - Throws: `.invalidFormat` naming the first such line that is malformed (sshsig.c
    ///   stops there); `.notAllowed` when no line matches.
    public func matchPrincipals(_ principal: String) throws(SSHKeyError) -> [String] {
        var found: [String] = []
        for (i, line) in self.lines.enumerated() {
            if let entry = try self.parse(line, number: i + 1, requiredPrincipal: principal) {
                found.append(entry.principals)
            }
        }
        guard !found.isEmpty else {
            throw SSHKeyError(
                .notAllowed,
                "\(self.path) has no line for the principal \"\(printable(principal.utf8))\""
            )
        }
        return found
    }

    // MARK: Searching

    /// sshsig.c `check_allowed_keys_line` over each line in turn: the line that allows the
    /// key and, for a certificate without a principal asked for, its principals the line allows.
    ///
    /// Without `openSSH` it is keysmith's search: a malformed line reached stops it, and a
    /// refusal is explained in keysmith's words. With it, it is OpenSSH 9.2's: each refusal
    /// and malformed line is appended to `diagnostics` in sshsig.c's words and the search goes on.
    private func search(
        _ key: SSHPublicKey,
        principal: String?,
        namespace: String?,
        time: UInt64,
        openSSH: Bool,
        diagnostics refusals: inout [String]
    ) throws(SSHKeyError) -> (entry: Entry, certificatePrincipals: [String]?) {
        var certificateAuthorityLine: Int?
        for (i, line) in self.lines.enumerated() {
            let parsed: Entry?
            do {
                parsed = try self.parse(line, number: i + 1, requiredPrincipal: principal)
            } catch {
                guard openSSH else { throw error }
                refusals.append(error.message)
                continue
            }
            guard let entry = parsed else { continue }
            let at = "\(self.path):\(entry.lineNumber)"
            var certificatePrincipals: [String]? = nil
            if entry.options.certificateAuthority {
                if certificateAuthorityLine == nil { certificateAuthorityLine = entry.lineNumber }
                guard let certificate = key.certificate, certificate.signatureKey == entry.publicKey else { continue }
                if let principal {
                    let name = SSHCertificate.RequiredName.principal(principal)
                    if let failure = certificate.authorityFailure(
                        kind: .user,
                        name: name,
                        requirePrincipal: true,
                        at: time
                    ) {
                        // keysmith's sentence names the certificate's principals or times; sshsig.c gives sshkey.c's reason.
                        var why = failure.openSSHReason
                        if !openSSH {
                            do {
                                try certificate.checkAuthority(
                                    kind: .user,
                                    name: name,
                                    requirePrincipal: true,
                                    at: time
                                )
                            } catch {
                                why = error.message
                            }
                        }
                        refusals.append("\(at): certificate not authorized: \(why)")
                        continue
                    }
                } else {
                    do {
                        certificatePrincipals = try Self.filterPrincipals(entry.principals, of: certificate, at: time)
                    } catch {
                        refusals.append(openSSH ? "\(at): no valid principals found" : "\(at): \(error.message)")
                        continue
                    }
                }
            } else {
                // sshkey_equal: a certificate never equals a plain key.
                guard entry.publicKey == key else { continue }
            }
            if let allowed = entry.options.namespaces, let namespace,
                HostPattern.matchList(Array(namespace.utf8), patterns: Array(allowed.utf8), lowercasingPattern: false)
                    != .positive
            {
                refusals.append(
                    "\(at): key is not permitted for use in signature namespace \"\(printable(namespace.utf8))\""
                )
                continue
            }
            if let after = entry.options.validAfter, time < after {
                refusals.append(
                    "\(at): key is not yet valid: verify time \(Self.formatTime(time)) < valid-after \(Self.formatTime(after))"
                )
                continue
            }
            if let before = entry.options.validBefore, time > before {
                refusals.append(
                    "\(at): key has expired: verify time \(Self.formatTime(time)) > valid-before \(Self.formatTime(before))"
                )
                continue
            }
            return (entry, certificatePrincipals)
        }
        if let first = refusals.first { throw SSHKeyError(.notAllowed, first) }
        let who = principal.map { "\"\(printable($0.utf8))\"" } ?? "any principal"
        var message = "\(self.path) has no line allowing \(who) to sign with this \(key.type.displayName) key"
        if let certificate = key.certificate {
            message += " (no cert-authority line holds its CA key \(certificate.signatureKey.fingerprint()))"
        } else if let ca = certificateAuthorityLine {
            message +=
                " (\(self.path):\(ca) is a cert-authority line, which allows only signatures made with a certificate)"
        }
        throw SSHKeyError(.notAllowed, message)
    }

    /// sshsig.c `cert_filter_principals`: for each of the line's patterns (up to the first
    /// empty one), the certificate's principals it matches, when the certificate is a
    /// valid user certificate with principals at `time`.
    /// - Throws: `.notAllowed` when none is found.
    private static func filterPrincipals(
        _ patterns: String,
        of certificate: SSHCertificate,
        at time: UInt64
    ) throws(SSHKeyError) -> [String] {
        var found: [String] = []
        var why: String? = nil
        for pattern in Self.splitPrincipals(patterns) {
            do {
                try certificate.checkAuthority(kind: .user, name: .none, requirePrincipal: true, at: time)
            } catch {
                why = error.message
                continue
            }
            found += certificate.principals.filter { HostPattern.matches($0.utf8, glob: pattern.utf8) }
        }
        guard !found.isEmpty else {
            throw SSHKeyError(.notAllowed, "no valid principals found" + (why.map { " (\($0))" } ?? ""))
        }
        return found
    }

    // MARK: Parsing

    /// sshsig.c `parse_principals_key_and_options`: nil for a blank or comment line, or
    /// when `requiredPrincipal` is given and the line's principals do not match it.
    func parse(
        _ line: ArraySlice<UInt8>,
        number: Int,
        requiredPrincipal: String?
    ) throws(SSHKeyError) -> Entry? {
        let at = "\(self.path):\(number)"
        // C strings end at the first NUL.
        let text = line.prefix { $0 != 0 }
        var cp = text.drop { $0 == 0x20 || $0 == 0x09 }
        guard let first = cp.first, first != UInt8(ascii: "#") else { return nil }
        // A line of only a newline (or \r\n) reads as empty to OpenSSH too.
        if first == UInt8(ascii: "\n") { return nil }

        // format: identity[,identity...] [option[,option...]] key
        guard let (principalBytes, rest) = Self.nextWord(cp) else {
            throw SSHKeyError(.invalidFormat, "\(at): invalid line")
        }
        cp = rest
        let principals = String(decoding: principalBytes, as: UTF8.self)
        if let requiredPrincipal,
            HostPattern.matchList(Array(requiredPrincipal.utf8), patterns: principalBytes, lowercasingPattern: false)
                != .positive
        {
            return nil
        }

        var optionBytes: ArraySlice<UInt8> = []
        let key: SSHPublicKey
        if let (k, _) = SSHPublicKey.readKey(at: Substring(decoding: cp, as: UTF8.self).utf8) {
            key = k
        } else {
            // sshkey_advance_past_options: up to the first blank outside quotes, \" escaped.
            var quoted = false
            var i = cp.startIndex
            while i < cp.endIndex && (quoted || (cp[i] != 0x20 && cp[i] != 0x09)) {
                if cp[i] == UInt8(ascii: "\\") && i + 1 < cp.endIndex && cp[i + 1] == UInt8(ascii: "\"") {
                    i += 1
                } else if cp[i] == UInt8(ascii: "\"") {
                    quoted.toggle()
                }
                i += 1
            }
            if i >= cp.endIndex && quoted { throw SSHKeyError(.invalidFormat, "\(at): invalid options") }
            guard i < cp.endIndex else { throw SSHKeyError(.invalidFormat, "\(at): missing key") }
            optionBytes = cp[cp.startIndex..<i]
            let after = cp[(i + 1)...].drop { $0 == 0x20 || $0 == 0x09 }
            guard let (k, _) = SSHPublicKey.readKey(at: Substring(decoding: after, as: UTF8.self).utf8) else {
                throw SSHKeyError(.invalidFormat, "\(at): invalid key")
            }
            key = k
        }
        let options: Options
        do {
            options = try Self.parseOptions(optionBytes)
        } catch {
            throw SSHKeyError(.invalidFormat, "\(at): bad options: \(error.message)")
        }
        return Entry(lineNumber: number, principals: principals, options: options, publicKey: key)
    }

    /// misc.c `strdelimw`: the next word, ending at a blank, CR or LF; a `"` drops itself and
    /// runs the word to the next `"`. Returns the word and what follows it after blanks,
    /// or nil when nothing follows the word (OpenSSH's "invalid line").
    static func nextWord(_ s: ArraySlice<UInt8>) -> (ArraySlice<UInt8>, ArraySlice<UInt8>)? {
        let whitespace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D || $0 == 0x0A }
        guard let d = s.firstIndex(where: { whitespace($0) || $0 == UInt8(ascii: "\"") }) else { return nil }
        if s[d] == UInt8(ascii: "\"") {
            guard let close = s[(d + 1)...].firstIndex(of: UInt8(ascii: "\"")) else { return nil }
            let word = s[s.startIndex..<d] + s[(d + 1)..<close]
            return (ArraySlice(word), s[(close + 1)...].drop(while: whitespace))
        }
        return (s[s.startIndex..<d], s[(d + 1)...].drop(while: whitespace))
    }

    /// sshsig.c `sshsigopt_parse`: a comma-separated option list; names are case-insensitive.
    static func parseOptions(_ opts: ArraySlice<UInt8>) throws(SSHKeyError) -> Options {
        var result = Options()
        var o = opts
        func take(_ name: String, withValue: Bool) -> Bool {
            let n = Array(name.utf8)
            guard o.count >= n.count,
                zip(o.prefix(n.count), n).allSatisfy({ HostPattern.asciiLowercased($0) == $1 })
            else { return false }
            if withValue {
                guard o.count > n.count, o[o.startIndex + n.count] == UInt8(ascii: "=") else { return false }
                o = o.dropFirst(n.count + 1)
            } else {
                o = o.dropFirst(n.count)
            }
            return true
        }
        func fail(_ reason: String) -> SSHKeyError { SSHKeyError(.invalidFormat, reason) }
        while let c = o.first, c != 0x20, c != 0x09 {
            if take("cert-authority", withValue: false) {
                result.certificateAuthority = true
            } else if take("namespaces", withValue: true) {
                guard result.namespaces == nil else { throw fail("multiple \"namespaces\" clauses") }
                result.namespaces = String(decoding: try dequote(&o), as: UTF8.self)
            } else if take("valid-after", withValue: true) {
                guard result.validAfter == nil else { throw fail("multiple \"valid-after\" clauses") }
                guard let t = parseTime(try dequote(&o)), t != 0 else { throw fail("invalid \"valid-after\" time") }
                result.validAfter = t
            } else if take("valid-before", withValue: true) {
                guard result.validBefore == nil else { throw fail("multiple \"valid-before\" clauses") }
                guard let t = parseTime(try dequote(&o)), t != 0 else { throw fail("invalid \"valid-before\" time") }
                result.validBefore = t
            }
            guard let next = o.first, next != 0x20, next != 0x09 else { break }
            guard next == UInt8(ascii: ",") else { throw fail("unknown key option") }
            o = o.dropFirst()
            guard !o.isEmpty else { throw fail("unexpected end-of-options") }
        }
        if let after = result.validAfter, let before = result.validBefore, before <= after {
            throw fail("\"valid-before\" time is before \"valid-after\"")
        }
        return result
    }

    /// misc.c `opt_dequote`: a double-quoted value in which `\"` stands for `"`.
    static func dequote(_ o: inout ArraySlice<UInt8>) throws(SSHKeyError) -> [UInt8] {
        guard o.first == UInt8(ascii: "\"") else { throw SSHKeyError(.invalidFormat, "missing start quote") }
        var i = o.startIndex + 1
        var out: [UInt8] = []
        while i < o.endIndex && o[i] != UInt8(ascii: "\"") {
            if o[i] == UInt8(ascii: "\\") && i + 1 < o.endIndex && o[i + 1] == UInt8(ascii: "\"") { i += 1 }
            out.append(o[i])
            i += 1
        }
        guard i < o.endIndex else { throw SSHKeyError(.invalidFormat, "missing end quote") }
        o = o[(i + 1)...]
        return out
    }

    /// misc.c `parse_absolute_time`: `YYYYMMDD`, `YYYYMMDDHHMM` or `YYYYMMDDHHMMSS`, in local
    /// time, or in UTC with a `Z` or `UTC` suffix (either case). Out-of-range days roll over
    /// as mktime rolls them. Returns nil for anything else or a time before the epoch.
    public static func parseTime(_ text: some Collection<UInt8>) -> UInt64? {
        var s = Array(text)
        var utc = false
        let upper = s.map { $0 >= 0x61 && $0 <= 0x7A ? $0 - 32 : $0 }
        if s.count > 1 && upper.last == UInt8(ascii: "Z") {
            utc = true
            s.removeLast()
        } else if s.count > 3 && upper.suffix(3).elementsEqual("UTC".utf8) {
            utc = true
            s.removeLast(3)
        }
        guard [8, 12, 14].contains(s.count), s.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        func number(_ from: Int, _ count: Int) -> Int32 {
            s[from..<from + count].reduce(0) { $0 * 10 + Int32($1 - 0x30) }
        }
        // strptime's ranges for %m %d %H %M %S.
        var tm = tm()
        tm.tm_year = number(0, 4) - 1900
        tm.tm_mon = number(4, 2) - 1
        tm.tm_mday = number(6, 2)
        guard (0...11).contains(tm.tm_mon), (1...31).contains(tm.tm_mday) else { return nil }
        if s.count >= 12 {
            tm.tm_hour = number(8, 2)
            tm.tm_min = number(10, 2)
            guard (0...23).contains(tm.tm_hour), (0...59).contains(tm.tm_min) else { return nil }
        }
        if s.count == 14 {
            tm.tm_sec = number(12, 2)
            guard (0...61).contains(tm.tm_sec) else { return nil }
        }
        let t = utc ? timegm(&tm) : mktime(&tm)
        guard t >= 0 else { return nil }
        return UInt64(t)
    }

    /// misc.c `format_absolute_time`: `YYYY-MM-DDTHH:MM:SS` in local time.
    public static func formatTime(_ t: UInt64) -> String {
        var tt = time_t(clamping: t)
        var tm = tm()
        localtime_r(&tt, &tm)
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(tm.tm_year + 1900, 4))-\(pad(tm.tm_mon + 1, 2))-\(pad(tm.tm_mday, 2))T"
            + "\(pad(tm.tm_hour, 2)):\(pad(tm.tm_min, 2)):\(pad(tm.tm_sec, 2))"
    }
}
