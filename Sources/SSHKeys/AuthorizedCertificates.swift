/// A user certificate that sshd would let log in: the certificate, where it was vouched
/// for, and what its options and the vouching line's options allow together.
public struct AuthorizedCertificate: Sendable, Hashable {
    /// The certificate as offered.
    public let key: SSHPublicKey
    /// The `cert-authority` line that holds the certificate's CA key, or nil when the CA is
    /// one of sshd's `TrustedUserCAKeys`.
    public let entry: AuthorizedKeysEntry?
    /// Where the CA was found, as sshd logs it: `PATH:LINE` of the `cert-authority` line, or
    /// the `TrustedUserCAKeys` file's path.
    public let location: String
    /// The line of the `AuthorizedPrincipalsFile` that listed a principal, if one did.
    public let principalsLine: Int?
    /// What the certificate's critical options and extensions grant and require.
    public let restrictions: CertificateRestrictions
    /// The options in force: the line's options (the `cert-authority` line's, or the
    /// principals line's) merged with the certificate's as sshd's `sshauthopt_merge`
    /// merges them: a permission only when both grant it, `verify-required` when either
    /// asks, the line's `from=`, the certificate's `force-command` when the line has none.
    /// `cert-authority` and `principals=` are cleared, as there.
    public let options: AuthorizedKeyOptions

    /// The certificate.
    public var certificate: SSHCertificate {
        guard let certificate = self.key.certificate else { preconditionFailure("not a certificate") }
        return certificate
    }

    /// What sshd logs on acceptance: `ID "…" serial N CA TYPE SHA256:… via LOCATION`.
    public var logDescription: String {
        let cert = self.certificate
        return "ID \"\(printable(cert.keyID.utf8))\" serial \(cert.serial) CA \(cert.signatureKey.type.displayName) "
            + "\(cert.signatureKey.fingerprint()) via \(self.location)"
    }
}

/// The certificate checks sshd makes once it found the CA that signed a certificate
/// (auth2-pubkeyfile.c `auth_check_authkey_line`, auth2-pubkey.c `user_cert_trusted_ca`).
enum CertificateCheck {
    /// Reads the certificate's options and checks its `source-address` against `address`
    /// (auth-options.c `sshauthopt_from_cert`, auth2-pubkeyfile.c `auth_authorise_keyopts`).
    static func restrictions(
        of certificate: SSHCertificate,
        from address: String?
    ) -> Result<CertificateRestrictions, SSHKeyError> {
        let restrictions: CertificateRestrictions
        do {
            restrictions = try CertificateRestrictions(certificate)
        } catch {
            return .failure(error)
        }
        guard restrictions.permitsSource(address) else {
            return .failure(
                SSHKeyError(
                    .notAllowed,
                    "the address \(address ?? "(unknown)") is not in the certificate's source-address \"\(restrictions.sourceAddress ?? "")\""
                )
            )
        }
        return .success(restrictions)
    }

    /// auth-options.c `sshauthopt_merge`: the line's options (`primary`) with the
    /// certificate's. Fails when both force a command and the commands differ.
    static func merge(
        _ primary: AuthorizedKeyOptions,
        _ certificate: CertificateRestrictions
    ) -> Result<AuthorizedKeyOptions, SSHKeyError> {
        var merged = primary
        merged.isCertificateAuthority = false
        merged.principals = nil
        merged.isRestricted = false
        merged.permitsPortForwarding = primary.permitsPortForwarding && certificate.permitsPortForwarding
        merged.permitsAgentForwarding = primary.permitsAgentForwarding && certificate.permitsAgentForwarding
        merged.permitsX11Forwarding = primary.permitsX11Forwarding && certificate.permitsX11Forwarding
        merged.permitsPTY = primary.permitsPTY && certificate.permitsPTY
        merged.permitsUserRC = primary.permitsUserRC && certificate.permitsUserRC
        // no-touch-required must be in both; verify-required in either.
        merged.requiresUserPresence = primary.requiresUserPresence || !certificate.waivesUserPresence
        merged.requiresUserVerification = primary.requiresUserVerification || certificate.requiresUserVerification
        switch (primary.command, certificate.forceCommand) {
        case (let line?, let cert?) where line != cert:
            return .failure(
                SSHKeyError(.notAllowed, "the line's command= and the certificate's force-command do not match")
            )
        case (nil, let cert?):
            merged.command = cert
        default:
            break
        }
        return .success(merged)
    }

    /// The CA's fingerprint, the certificate's ID and serial, for refusal sentences.
    static func describe(_ certificate: SSHCertificate) -> String {
        "the certificate \"\(printable(certificate.keyID.utf8))\" (serial \(certificate.serial), CA \(certificate.signatureKey.fingerprint()))"
    }
}

/// An `AuthorizedPrincipalsFile` (sshd_config(5)) read as auth2-pubkeyfile.c
/// `auth_process_principals` reads it: one principal per line, options before it as in
/// authorized_keys, `#` starting a comment anywhere on the line.
public struct AuthorizedPrincipalsFile: Sendable {
    /// The path, for messages.
    public let path: String
    private let lines: [ArraySlice<UInt8>]

    /// Parses file contents; `path` only labels messages.
    public init(contents: some Collection<UInt8>, path: String) {
        let bytes = Array(contents)
        self.path = path
        self.lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
    }

    /// Reads the file at `path`.
    /// - Throws: `SSHKeyError` with `.fileError` when it cannot be read.
    public init(path: String) throws(SSHKeyError) {
        self.init(contents: try KeyFileIO.readFile(path), path: path)
    }

    /// The first line whose principal the certificate lists, with its options: its line
    /// number and options, or nil when no line does. A line whose options do not parse
    /// matches nothing, as in sshd.
    public func match(_ certificate: SSHCertificate) -> (lineNumber: Int, options: AuthorizedKeyOptions)? {
        for (index, raw) in self.lines.enumerated() {
            // C sees the line up to its first NUL; a comment starts at the first '#'.
            var line = Array(raw.prefix { $0 != 0 }.prefix { $0 != UInt8(ascii: "#") })
            guard let first = line.firstIndex(where: { !AuthorizedKeysLineParser.isBlank($0) }) else { continue }
            line = Array(line[first...])
            // auth_check_principals_line: trailing newlines and blanks go.
            while line.count > 1, let last = line.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") {
                line.removeLast()
            }
            // Internal white space means options first: the principal follows the last
            // space (else the last tab).
            var options = AuthorizedKeyOptions()
            var principal = line[...]
            if let blank = line.lastIndex(of: UInt8(ascii: " ")) ?? line.lastIndex(of: UInt8(ascii: "\t")) {
                var start = blank
                while start < line.count && AuthorizedKeysLineParser.isBlank(line[start]) { start += 1 }
                principal = line[start...]
                var end = 0
                guard case .success(let parsed) = AuthorizedKeyOptions.parse(line, from: 0, end: &end) else {
                    continue
                }
                options = parsed
            }
            if certificate.principals.contains(where: { $0.utf8.elementsEqual(principal) }) {
                return (index + 1, options)
            }
        }
        return nil
    }
}

/// The CA keys of sshd's `TrustedUserCAKeys`: a user certificate signed by one of them
/// logs in as a user its principals name (or, with an ``AuthorizedPrincipalsFile``, as any
/// user when a principal is listed there), as auth2-pubkey.c `user_cert_trusted_ca` decides.
///
/// The file holds one public key per line, as ssh-keygen writes them; blank lines, `#`
/// comments and lines that are not a plain key (`sshkey_in_file` reads no options) are skipped.
public struct TrustedUserCAKeys: Sendable {
    /// The path, for messages.
    public let path: String
    /// The CA keys, in file order.
    public let keys: [SSHPublicKey]

    /// Parses file contents; `path` only labels messages.
    public init(contents: some Collection<UInt8>, path: String) {
        self.path = path
        let file = AuthorizedKeysFile(contents: contents, path: path)
        self.keys = file.entries.filter { $0.optionsText == nil && !$0.key.type.isCertificate }.map(\.key)
    }

    /// Reads the file at `path`.
    /// - Throws: `SSHKeyError` with `.fileError` when it cannot be read.
    public init(path: String) throws(SSHKeyError) {
        self.init(contents: try KeyFileIO.readFile(path), path: path)
    }

    /// Whether the certificate `key` may log in as `user` from `address` at `time`.
    ///
    /// In sshd's order: the CA is one of these keys; with `principals`, one of its lines
    /// lists a principal of the certificate (and its options then apply), else `user` must
    /// be one of the certificate's principals; the certificate is a user certificate, valid
    /// at `time`, and lists at least one principal; its critical options are known and its
    /// `source-address` holds `address`; the principals line's `expiry-time`, `from=`
    /// (and no `cert-authority` or `principals=`) allow it; its CA signed it with one of
    /// `caSignatureAlgorithms`.
    ///
    /// - Returns: ``AuthorizedKeysDecision/certified(_:)``, or a refusal:
    ///   ``AuthorizedKeysRefusal/Reason/notListed`` for a plain key or another CA.
    public func authorizes(
        _ key: SSHPublicKey,
        user: String,
        principals: AuthorizedPrincipalsFile? = nil,
        from address: String?,
        hostName: String? = nil,
        at time: Int64,
        caSignatureAlgorithms: [String] = SSHCertificate.defaultCASignatureAlgorithms
    ) -> AuthorizedKeysDecision {
        guard let certificate = key.certificate, self.keys.contains(certificate.signatureKey) else {
            let what =
                key.certificate.map { "its CA key \($0.signatureKey.fingerprint())" } ?? "it is not a certificate"
            return .refused(
                AuthorizedKeysRefusal(
                    reason: .notListed,
                    lineNumber: nil,
                    message: "the key \(key.fingerprint()) is not vouched for by \(self.path): \(what)"
                )
            )
        }
        let location = self.path
        func refuse(_ reason: AuthorizedKeysRefusal.Reason, _ why: String) -> AuthorizedKeysDecision {
            .refused(
                AuthorizedKeysRefusal(
                    reason: reason,
                    lineNumber: nil,
                    message:
                        "\(CertificateCheck.describe(certificate)) signed by a CA in \(location) is refused: \(why)"
                )
            )
        }
        var lineOptions: AuthorizedKeyOptions? = nil
        var principalsLine: Int? = nil
        if let principals {
            guard let (line, options) = principals.match(certificate) else {
                return refuse(.noAuthorizedPrincipal, "no principal of it is listed in \(principals.path)")
            }
            (principalsLine, lineOptions) = (line, options)
        }
        do {
            try certificate.checkAuthority(
                kind: .user,
                name: principals == nil ? .principal(user) : .none,
                requirePrincipal: true,
                at: UInt64(max(0, time))
            )
        } catch {
            return refuse(.certificateInvalid, error.message)
        }
        let restrictions: CertificateRestrictions
        switch CertificateCheck.restrictions(of: certificate, from: address) {
        case .success(let r): restrictions = r
        case .failure(let error): return refuse(.certificateOptions, error.message)
        }
        var options = AuthorizedKeyOptions()
        if let lineOptions, let principalsLine, let principals {
            let at = "\(principals.path):\(principalsLine)"
            if lineOptions.isCertificateAuthority {
                return refuse(.principalsOptions, "line \(at) has cert-authority, which is not valid there")
            }
            if let refusal = AuthorizedKeysFile.refusal(
                of: lineOptions,
                at: at,
                lineNumber: principalsLine,
                address: address,
                hostName: hostName ?? address,
                time: time
            ) {
                return refuse(refusal.reason, refusal.message)
            }
            options = lineOptions
        }
        switch CertificateCheck.merge(options, restrictions) {
        case .success(let merged): options = merged
        case .failure(let error): return refuse(.certificateOptions, error.message)
        }
        do {
            try certificate.checkSignatureAlgorithm(caSignatureAlgorithms)
        } catch {
            return refuse(.caSignatureAlgorithm, error.message)
        }
        return .certified(
            AuthorizedCertificate(
                key: key,
                entry: nil,
                location: location,
                principalsLine: principalsLine,
                restrictions: restrictions,
                options: options
            )
        )
    }
}
