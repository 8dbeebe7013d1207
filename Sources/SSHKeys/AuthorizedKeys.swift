#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One usable line of an authorized_keys file: its options, key and comment.
public struct AuthorizedKeysEntry: Sendable, Hashable {
    /// The 1-based line number in the file.
    public let lineNumber: Int
    /// The parsed options (the defaults when the line has none).
    public let options: AuthorizedKeyOptions
    /// The options text as written, or nil when the line has none.
    public let optionsText: String?
    /// The key.
    public let key: SSHPublicKey
    /// The text after the key, or nil when there is none.
    public let comment: String?
}

/// A line sshd would skip, with the reason, named by file and line as sshd logs it.
public struct AuthorizedKeysWarning: Sendable, Hashable, CustomStringConvertible {
    /// The file's path as given (or a label such as `(stdin)`).
    public let path: String
    /// The 1-based line number.
    public let lineNumber: Int
    /// Why the line is skipped, e.g. `bad key options: unknown key option`.
    public let message: String

    /// `PATH:LINE: MESSAGE`, as sshd's `loc` prefix (auth2-pubkeyfile.c).
    public var description: String { "\(self.path):\(self.lineNumber): \(self.message)" }
}

/// Why a key was not authorized.
public struct AuthorizedKeysRefusal: Sendable, Hashable, CustomStringConvertible {
    /// The kind of refusal, as a stable, extensible code.
    public struct Reason: Sendable, Hashable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// No usable line holds the key.
        public static let notListed = Reason("not listed")
        /// The entry's `expiry-time` has passed.
        public static let expired = Reason("expired")
        /// The client's address (or host name) does not match the entry's `from=`.
        public static let sourceNotPermitted = Reason("source not permitted")
        /// The entry's `from=` list is malformed (an empty entry, a network with host bits set).
        public static let invalidSourcePattern = Reason("invalid source pattern")
        /// The entry has `principals=` without `cert-authority`, which sshd refuses.
        public static let principalsWithoutCertificateAuthority = Reason("principals on a non-CA key")
        /// A certificate that is not for this user, not valid at the time, not a user
        /// certificate, or lists no principal where one is required.
        public static let certificateInvalid = Reason("certificate invalid")
        /// A certificate's critical options refuse it: an unknown one, a `source-address`
        /// the client is not in, a `force-command` that differs from the line's.
        public static let certificateOptions = Reason("certificate options")
        /// None of the certificate's principals is in the line's `principals=` or in the
        /// `AuthorizedPrincipalsFile`.
        public static let noAuthorizedPrincipal = Reason("no authorized principal")
        /// The `AuthorizedPrincipalsFile` line that listed the principal refuses it by its options.
        public static let principalsOptions = Reason("principals options")
        /// The CA signed the certificate with an algorithm not in `CASignatureAlgorithms`.
        public static let caSignatureAlgorithm = Reason("CA signature algorithm")
        /// No user name was given to match a certificate's principals against.
        public static let noUser = Reason("no user name")

        public var description: String { self.name }
    }

    /// What kind of refusal this is.
    public let reason: Reason
    /// The line whose options refused the key, or nil for ``Reason/notListed``.
    public let lineNumber: Int?
    /// A human sentence (without a final period) saying what went wrong.
    public let message: String

    public var description: String { self.message }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.reason == rhs.reason && lhs.lineNumber == rhs.lineNumber
    }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.reason)
        hasher.combine(self.lineNumber)
    }
}

/// The answer to "may this key log in from there now?".
public enum AuthorizedKeysDecision: Sendable, Hashable {
    /// The first entry that authorizes the key; its options apply to the session.
    case authorized(AuthorizedKeysEntry)
    /// A certificate whose CA is vouched for, with the options that apply to the session.
    case certified(AuthorizedCertificate)
    /// No entry authorizes the key; the first refusal by an entry that held it, else ``AuthorizedKeysRefusal/Reason/notListed``.
    case refused(AuthorizedKeysRefusal)
}

/// An authorized_keys file read as OpenSSH 9.2's sshd reads it.
///
/// sshd(8) "AUTHORIZED_KEYS FILE FORMAT"; auth2-pubkeyfile.c `auth_check_authkeys_file`.
/// Each line is `[options] keytype base64-key [comment]`. Leading blanks, blank lines and
/// lines starting with `#` are skipped. A line whose options do not parse (an unknown
/// option, a missing quote, a bad value) is skipped with a warning, as sshd skips it.
///
/// ```swift
/// let file = try AuthorizedKeysFile(path: "/home/alice/.ssh/authorized_keys")
/// for warning in file.warnings { print(warning) }
/// switch file.authorizes(key, from: "192.0.2.7", at: now) {
/// case .authorized(let entry): print("line \(entry.lineNumber), forced command: \(entry.options.command ?? "none")")
/// case .refused(let refusal): print(refusal)
/// }
/// ```
public struct AuthorizedKeysFile: Sendable {
    /// The path or label used in warnings.
    public let path: String
    /// The usable lines, in file order.
    public let entries: [AuthorizedKeysEntry]
    /// The lines skipped because of bad options or an unreadable key.
    public let warnings: [AuthorizedKeysWarning]

    /// Parses file contents; `path` only labels warnings.
    public init(contents: some Collection<UInt8>, path: String) {
        self.path = path
        var entries = [AuthorizedKeysEntry]()
        var warnings = [AuthorizedKeysWarning]()
        let bytes = Array(contents)
        var start = 0
        var number = 0
        while start < bytes.count {
            let end = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
            number += 1
            switch AuthorizedKeysLineParser.parse(bytes[start..<end], lineNumber: number) {
            case .skip: break
            case .entry(let entry): entries.append(entry)
            case .warning(let message):
                warnings.append(AuthorizedKeysWarning(path: path, lineNumber: number, message: message))
            }
            start = end + 1
        }
        self.entries = entries
        self.warnings = warnings
    }

    /// Reads and parses the file at `path`.
    ///
    /// - Throws: `SSHKeyError` with `.fileError` when the file cannot be read.
    public init(path: String) throws(SSHKeyError) {
        self.init(contents: try KeyFileIO.readFile(path), path: path)
    }

    /// Whether `key` may authenticate from `address` at `time`, as sshd decides it.
    ///
    /// auth2-pubkeyfile.c `auth_check_authkey_line` and `auth_authorise_keyopts`: every
    /// entry holding the key is tried in order; `cert-authority` entries only vouch for
    /// certificates, so they never authorize a plain key. An entry refuses when its
    /// `expiry-time` is before `time`, when it has `principals=` without
    /// `cert-authority`, or when `from=` does not match (match.c `match_host_and_ip`:
    /// CIDR networks and `*`/`?` globs against the address, globs against the host name,
    /// any negated match refuses). The first entry that does not refuse wins.
    ///
    /// A certificate is judged as by ``authorizes(_:user:from:hostName:at:caSignatureAlgorithms:)``
    /// without a user name: only a `cert-authority` line with `principals=` can authorize it.
    ///
    /// - Parameters:
    ///   - key: The key offered by the client.
    ///   - address: The client's IP address; nil when unknown, which fails every `from=`.
    ///   - hostName: The client's host name for `from=` name patterns; by default the
    ///     address, as sshd with `UseDNS no` (its default) uses it.
    ///   - time: Seconds since the epoch.
    public func authorizes(
        _ key: SSHPublicKey,
        from address: String?,
        hostName: String? = nil,
        at time: Int64
    ) -> AuthorizedKeysDecision {
        self.authorizes(key, user: nil, from: address, hostName: hostName, at: time)
    }

    /// Whether `key` may log in as `user` from `address` at `time`, as sshd decides it.
    ///
    /// A plain key as ``authorizes(_:from:hostName:at:)`` says. A certificate is vouched
    /// for by a `cert-authority` line holding its CA key (auth2-pubkeyfile.c
    /// `auth_check_authkey_line`), checked in sshd's order: the line's `expiry-time` and
    /// `from=`; the certificate's critical options (an unknown one refuses,
    /// `source-address` must hold `address`); the line's options merged with the
    /// certificate's (`command=` and `force-command` must agree); the line's `principals=`
    /// list, when it has one, must name one of the certificate's principals exactly (else
    /// `user` must be one of them, and a certificate without principals is valid for every
    /// user, as in OpenSSH 9.2); a user certificate, valid at `time`; its CA signature
    /// algorithm in `caSignatureAlgorithms`. The first line that passes wins.
    ///
    /// - Parameters:
    ///   - user: The user logging in; nil when there is none, which refuses a certificate
    ///     unless the line has `principals=`.
    /// - Returns: ``AuthorizedKeysDecision/authorized(_:)`` for a plain key,
    ///   ``AuthorizedKeysDecision/certified(_:)`` for a certificate, else the first line's
    ///   refusal, or ``AuthorizedKeysRefusal/Reason/notListed``.
    public func authorizes(
        _ key: SSHPublicKey,
        user: String?,
        from address: String?,
        hostName: String? = nil,
        at time: Int64,
        caSignatureAlgorithms: [String] = SSHCertificate.defaultCASignatureAlgorithms
    ) -> AuthorizedKeysDecision {
        if let certificate = key.certificate {
            return self.authorizes(
                certificate: certificate,
                key: key,
                user: user,
                address: address,
                hostName: hostName ?? address,
                time: time,
                caSignatureAlgorithms: caSignatureAlgorithms
            )
        }
        var firstRefusal: AuthorizedKeysRefusal? = nil
        for entry in self.entries where entry.key == key && !entry.options.isCertificateAuthority {
            if let refusal = Self.refusal(of: entry, address: address, hostName: hostName ?? address, time: time) {
                if firstRefusal == nil { firstRefusal = refusal }
                continue
            }
            return .authorized(entry)
        }
        return .refused(
            firstRefusal
                ?? AuthorizedKeysRefusal(
                    reason: .notListed,
                    lineNumber: nil,
                    message: "the key \(key.fingerprint()) is not in \(self.path)"
                )
        )
    }

    /// auth2-pubkeyfile.c `auth_check_authkey_line` for a certificate, over every
    /// `cert-authority` line holding its CA key.
    private func authorizes(
        certificate: SSHCertificate,
        key: SSHPublicKey,
        user: String?,
        address: String?,
        hostName: String?,
        time: Int64,
        caSignatureAlgorithms: [String]
    ) -> AuthorizedKeysDecision {
        var firstRefusal: AuthorizedKeysRefusal? = nil
        for entry in self.entries where entry.options.isCertificateAuthority && entry.key == certificate.signatureKey {
            switch self.check(
                certificate,
                key: key,
                entry: entry,
                user: user,
                address: address,
                hostName: hostName,
                time: time,
                caSignatureAlgorithms: caSignatureAlgorithms
            )
            {
            case .refused(let refusal): if firstRefusal == nil { firstRefusal = refusal }
            case let decision: return decision
            }
        }
        return .refused(
            firstRefusal
                ?? AuthorizedKeysRefusal(
                    reason: .notListed,
                    lineNumber: nil,
                    message:
                        "the certificate's CA key \(certificate.signatureKey.fingerprint()) is not a cert-authority in \(self.path)"
                )
        )
    }

    /// One `cert-authority` line's checks of a certificate, in sshd's order.
    private func check(
        _ certificate: SSHCertificate,
        key: SSHPublicKey,
        entry: AuthorizedKeysEntry,
        user: String?,
        address: String?,
        hostName: String?,
        time: Int64,
        caSignatureAlgorithms: [String]
    ) -> AuthorizedKeysDecision {
        let at = "\(self.path):\(entry.lineNumber)"
        func refuse(_ reason: AuthorizedKeysRefusal.Reason, _ why: String) -> AuthorizedKeysDecision {
            .refused(
                AuthorizedKeysRefusal(
                    reason: reason,
                    lineNumber: entry.lineNumber,
                    message:
                        "\(CertificateCheck.describe(certificate)) is refused by the cert-authority line \(at): \(why)"
                )
            )
        }
        if let refusal = Self.refusal(of: entry, address: address, hostName: hostName, time: time) {
            return refuse(refusal.reason, refusal.message)
        }
        let restrictions: CertificateRestrictions
        switch CertificateCheck.restrictions(of: certificate, from: address) {
        case .success(let r): restrictions = r
        case .failure(let error): return refuse(.certificateOptions, error.message)
        }
        let options: AuthorizedKeyOptions
        switch CertificateCheck.merge(entry.options, restrictions) {
        case .success(let merged): options = merged
        case .failure(let error): return refuse(.certificateOptions, error.message)
        }
        let name: SSHCertificate.RequiredName
        if let list = entry.options.principals {
            // auth2-pubkeyfile.c match_principals_option: exact names, up to the first empty one.
            var matched = false
            for wanted in list.split(separator: ",", omittingEmptySubsequences: false) {
                if wanted.isEmpty { break }
                if certificate.principals.contains(String(wanted)) {
                    matched = true
                    break
                }
            }
            guard matched else {
                return refuse(.noAuthorizedPrincipal, "none of its principals is in principals=\"\(list)\"")
            }
            name = .none
        } else if let user {
            name = .principal(user)
        } else {
            return refuse(
                .noUser,
                "the line has no principals= and no user name was given to match the certificate's principals"
            )
        }
        do {
            try certificate.checkAuthority(kind: .user, name: name, requirePrincipal: false, at: UInt64(max(0, time)))
        } catch {
            return refuse(.certificateInvalid, error.message)
        }
        do {
            try certificate.checkSignatureAlgorithm(caSignatureAlgorithms)
        } catch {
            return refuse(.caSignatureAlgorithm, error.message)
        }
        return .certified(
            AuthorizedCertificate(
                key: key,
                entry: entry,
                location: at,
                principalsLine: nil,
                restrictions: restrictions,
                options: options
            )
        )
    }

    /// auth2-pubkeyfile.c `auth_authorise_keyopts` for a plain key.
    private static func refusal(
        of entry: AuthorizedKeysEntry,
        address: String?,
        hostName: String?,
        time: Int64
    ) -> AuthorizedKeysRefusal? {
        Self.refusal(
            of: entry.options,
            at: "line \(entry.lineNumber)",
            lineNumber: entry.lineNumber,
            address: address,
            hostName: hostName,
            time: time
        )
    }

    /// auth2-pubkeyfile.c `auth_authorise_keyopts`: a line's `expiry-time`, `principals=`
    /// without `cert-authority` and `from=`; `at` names the line in messages.
    static func refusal(
        of options: AuthorizedKeyOptions,
        at: String,
        lineNumber: Int,
        address: String?,
        hostName: String?,
        time: Int64
    ) -> AuthorizedKeysRefusal? {
        func refuse(_ reason: AuthorizedKeysRefusal.Reason, _ message: String) -> AuthorizedKeysRefusal {
            AuthorizedKeysRefusal(reason: reason, lineNumber: lineNumber, message: message)
        }
        if let expiry = options.expiryTime, time > 0, expiry < time {
            return refuse(.expired, "the entry on \(at) expired at \(AbsoluteTime.format(expiry))")
        }
        if options.principals != nil && !options.isCertificateAuthority {
            return refuse(
                .principalsWithoutCertificateAuthority,
                "the entry on \(at) has principals= without cert-authority"
            )
        }
        if let from = options.from {
            switch SourcePattern.matchHostAndAddress(host: hostName, address: address, list: from) {
            case 1:
                break
            case -1:
                return refuse(.invalidSourcePattern, "the from=\"\(from)\" list on \(at) is invalid")
            default:
                return refuse(
                    .sourceNotPermitted,
                    "the address \(address ?? "(unknown)") is not permitted by from=\"\(from)\" on \(at)"
                )
            }
        }
        return nil
    }
}

/// Reading one authorized_keys line as auth2-pubkeyfile.c does.
enum AuthorizedKeysLineParser {
    enum Result {
        case skip
        case entry(AuthorizedKeysEntry)
        case warning(String)
    }

    static func isBlank(_ c: UInt8) -> Bool { c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") }

    static func parse(_ raw: ArraySlice<UInt8>, lineNumber: Int) -> Result {
        // C sees the line up to its first NUL.
        var line = Array(raw.prefix(while: { $0 != 0 }))
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        var i = 0
        while i < line.count && isBlank(line[i]) { i += 1 }
        guard i < line.count, line[i] != UInt8(ascii: "#") else { return .skip }

        var optionsStart: Int? = nil
        var found = readKey(line, from: i)
        if found == nil {
            // sshkey_advance_past_options: up to the first blank outside quotes.
            let end = endOfOptions(line, from: i)
            if end.error != nil { return .warning("invalid key option string") }
            optionsStart = i
            var k = end.index
            while k < line.count && isBlank(line[k]) { k += 1 }
            found = readKey(line, from: k)
            guard found != nil else {
                let why = UnreadableKeyLine.diagnose(line, lineNumber: lineNumber)?.reason ?? "no key is on it"
                return .warning("no key keysmith can read: \(why)")
            }
        }
        guard let (key, commentStart) = found else { return .skip }

        var options = AuthorizedKeyOptions()
        var optionsText: String? = nil
        if let optionsStart {
            var end = optionsStart
            switch AuthorizedKeyOptions.parse(line, from: optionsStart, end: &end) {
            case .success(let parsed): options = parsed
            case .failure(let failure): return .warning("bad key options: \(failure.text)")
            }
            let textEnd = endOfOptions(line, from: optionsStart).index
            optionsText = String(decoding: line[optionsStart..<textEnd], as: UTF8.self)
        }
        let comment = line[commentStart...]
        return .entry(
            AuthorizedKeysEntry(
                lineNumber: lineNumber,
                options: options,
                optionsText: optionsText,
                key: key,
                comment: comment.isEmpty ? nil : String(decoding: comment, as: UTF8.self)
            )
        )
    }

    /// authfile.c `sshkey_advance_past_options`: the index of the first blank outside
    /// double quotes (`\"` is skipped whole), and an error for an unterminated quote.
    static func endOfOptions(_ s: [UInt8], from start: Int) -> (index: Int, error: String?) {
        var i = start
        var quoted = false
        while i < s.count && (quoted || !isBlank(s[i])) {
            if s[i] == UInt8(ascii: "\\") && i + 1 < s.count && s[i + 1] == UInt8(ascii: "\"") {
                i += 1
            } else if s[i] == UInt8(ascii: "\"") {
                quoted.toggle()
            }
            i += 1
        }
        return (min(i, s.count), i >= s.count && quoted ? "missing end quote" : nil)
    }

    /// sshkey.c `sshkey_read`: `keytype blanks base64 [blanks comment]`; the type must be
    /// followed by a blank and must match the blob's type. Returns the key and where the
    /// comment starts.
    static func readKey(_ s: [UInt8], from start: Int) -> (SSHPublicKey, Int)? {
        var i = start
        while i < s.count && !isBlank(s[i]) { i += 1 }
        guard i < s.count, let type = SSHKeyType(sshName: s[start..<i]) else { return nil }
        while i < s.count && isBlank(s[i]) { i += 1 }
        let blobStart = i
        while i < s.count && !isBlank(s[i]) { i += 1 }
        guard i > blobStart, let blob = Base64.decode(s[blobStart..<i]),
            let key = try? SSHPublicKey(wireBlob: blob), key.type == type
        else { return nil }
        while i < s.count && isBlank(s[i]) { i += 1 }
        return (key, i)
    }
}
