public import SSHCrypto
public import SSHKeys
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The server side of a challenge: issues tokens and verifies responses to them.
///
/// A verifier keeps its state in one directory:
///
/// - `secret`: 32 random bytes (mode 0600) that authenticate every token. Created on first
///   use through a temporary file and `link(2)`, so concurrent first uses agree on one secret.
/// - `audience`: the verifier's name or URL (mode 0600, one line), put in every token it
///   issues and required of every token it verifies. Written, the same way as the secret,
///   by the first use that names one; a later use naming another is refused.
/// - `used/`: one name per token already answered, `EXPIRES-NONCE`, made with `link(2)`,
///   which fails when the name exists, so of several verifiers racing with one token
///   exactly one succeeds. Records are pruned once their token has expired: by each
///   verifier at most once every ``pruneInterval`` seconds, so a long-lived verifier does
///   not scan the directory on every verification.
/// - `record`: the empty file (mode 0600) every name in `used/` is a hard link to. A link
///   costs a directory entry only; a new file per token also costs an inode, which ext4
///   allocates slowly while pruning keeps freeing others (about 500 µs of CPU against 20 µs
///   per record, measured). Where a link cannot be made (a file system without hard links,
///   the link count limit) the record is a new empty file made with `O_CREAT|O_EXCL`.
///
/// Several processes may share a state directory; nothing else needs locking.
///
/// ```swift
/// let verifier = try ChallengeVerifier(stateDirectory: "/var/lib/myapp/challenges",
///                                      audience: "https://app.example")
/// let token = try verifier.issue()                  // send token.text to the client
/// // … the client answers with `keysmith challenge respond --audience https://app.example` …
/// let keys = try AuthorizedKeysFile(path: "/home/alice/.ssh/authorized_keys")
/// let result = try verifier.verify(token: tokenText, response: responseText,
///                                  authorizedKeys: keys, from: clientAddress)
/// print(result.fingerprint, result.comment ?? "")
/// ```
public struct ChallengeVerifier: Sendable {
    /// The default token lifetime, in seconds.
    public static let defaultLifetime: Int64 = 300
    /// How long past its expiry a used-token record is kept, so that verifiers whose
    /// clocks differ a little never prune a record another one still relies on.
    static let pruneGrace: Int64 = 60
    /// The least time between two prunings by one verifier (and its copies), in seconds.
    public static let pruneInterval: Int64 = 10

    /// The state directory; nil for a verifier whose secret and used tokens live in another
    /// ``ChallengeStore``.
    public let stateDirectory: String?
    /// The name or URL of this verifier, in every token it issues.
    public let audience: String
    private let secret: SecureBytes
    /// When this verifier last pruned, shared by its copies.
    private let lastPrune = PruneClock()

    /// Opens (and on first use creates) the state directory, its secret and its audience.
    ///
    /// The directory is created with mode 0700; an existing one that others may write to
    /// is refused, since whoever can delete the used-token records can replay tokens.
    ///
    /// - Parameter audience: This verifier's name or URL (printable ASCII, no spaces, at
    ///   most 255 bytes). Required when the state directory has none yet, which it then
    ///   keeps; nil uses the one kept.
    /// - Throws: ``KeyVerifyError/Code/stateError`` naming the path and what to do;
    ///   ``KeyVerifyError/Code/invalidParameter`` for an unusable audience or none at all;
    ///   ``KeyVerifyError/Code/wrongAudience`` when the directory keeps another audience.
    public init(stateDirectory: String, audience: String? = nil) throws(KeyVerifyError) {
        if let audience, !ChallengeToken.isValidAudience(audience) {
            throw KeyVerifyError(
                .invalidParameter,
                "the audience must be 1 to \(ChallengeToken.maximumAudienceLength) printable ASCII characters without spaces"
            )
        }
        self.stateDirectory = stateDirectory
        try Self.prepare(stateDirectory)
        self.secret = try Self.loadSecret(stateDirectory + "/secret")
        self.audience = try Self.loadAudience(stateDirectory + "/audience", given: audience)
    }

    /// A verifier with the secret and audience a ``ChallengeStore`` keeps (a database, say),
    /// which records the used tokens: verify with
    /// ``verify(token:response:authorizedKeys:in:from:user:revokedKeys:now:)``.
    ///
    /// - Throws: ``KeyVerifyError/Code/invalidParameter`` for an unusable audience or a
    ///   secret that is not 32 bytes.
    public init(secret: SecureBytes, audience: String) throws(KeyVerifyError) {
        guard ChallengeToken.isValidAudience(audience) else {
            throw KeyVerifyError(
                .invalidParameter,
                "the audience must be 1 to \(ChallengeToken.maximumAudienceLength) printable ASCII characters without spaces"
            )
        }
        guard secret.count == ChallengeToken.macSize else {
            throw KeyVerifyError(.invalidParameter, "the secret must be \(ChallengeToken.macSize) bytes")
        }
        self.stateDirectory = nil
        self.secret = secret
        self.audience = audience
    }

    /// The size of a verifier's secret, in bytes.
    public static let secretSize = ChallengeToken.macSize

    /// Reads the kept audience, first writing `given` if there is none; refuses a `given`
    /// that differs from the kept one, and no audience at all.
    private static func loadAudience(_ path: String, given: String?) throws(KeyVerifyError) -> String {
        if !KeyFileIO.fileExists(path) {
            guard let given else {
                throw KeyVerifyError(
                    .invalidParameter,
                    "the state directory names no audience yet; give this verifier's name or URL with --audience"
                )
            }
            do {
                try KeyFileIO.writeAtomically(
                    path: path,
                    contents: Array((given + "\n").utf8),
                    mode: 0o600,
                    overwrite: false
                )
            } catch {
                // .fileExists: another process wrote it first; theirs is checked below.
                if error.code != .fileExists { throw KeyVerifyError(.stateError, error.message) }
            }
        }
        let raw = try state { () throws(SSHKeyError) in try KeyFileIO.readFile(path) }
        let kept = String(decoding: raw.last == UInt8(ascii: "\n") ? raw.dropLast() : raw[...], as: UTF8.self)
        guard ChallengeToken.isValidAudience(kept) else {
            throw KeyVerifyError(.stateError, "the audience file \(path) is damaged; write this verifier's name in it")
        }
        if let given, given != kept {
            throw KeyVerifyError(
                .wrongAudience,
                "the state directory serves the audience \(kept), not \(given); use another --state for another audience"
            )
        }
        return kept
    }

    /// Creates the directory and `used/` (0700) and refuses a directory others may write to.
    private static func prepare(_ directory: String) throws(KeyVerifyError) {
        try state { () throws(SSHKeyError) in try KeyFileIO.ensureDirectory(directory, mode: 0o700) }
        let mode = try state { () throws(SSHKeyError) in try KeyFileIO.mode(of: directory) }
        guard mode & 0o022 == 0 else {
            throw KeyVerifyError(
                .stateError,
                "the state directory \(directory) is writable by others; run chmod 700 \(directory)"
            )
        }
        try state { () throws(SSHKeyError) in try KeyFileIO.ensureDirectory(directory + "/used", mode: 0o700) }
        // An existing used/ that others may write to is refused as the directory is: whoever
        // can remove a record can replay its token.
        let usedMode = try state { () throws(SSHKeyError) in try KeyFileIO.mode(of: directory + "/used") }
        guard usedMode & 0o022 == 0 else {
            throw KeyVerifyError(
                .stateError,
                "the directory \(directory)/used is writable by others; run chmod 700 \(directory)/used"
            )
        }
        // The file the records link to; O_NOFOLLOW, so a symbolic link put in its place is refused.
        let fd = open(directory + "/" + Self.recordFileName, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            let path = directory + "/" + Self.recordFileName
            throw KeyVerifyError(.stateError, "\(path): \(String(cString: strerror(errno)))")
        }
        close(fd)
    }

    /// The file in the state directory that the used-token records are hard links to.
    static let recordFileName = "record"

    /// Reads the secret, first creating it if it does not exist. Of several processes
    /// creating it at once, the first `link(2)` wins and the others read its secret.
    private static func loadSecret(_ path: String) throws(KeyVerifyError) -> SecureBytes {
        if !KeyFileIO.fileExists(path) {
            let fresh = SecureBytes(count: ChallengeToken.macSize)
            SecureRandom.fill(fresh)
            do {
                try KeyFileIO.writeAtomically(path: path, contents: fresh, mode: 0o600, overwrite: false)
            } catch {
                // .fileExists: another process created it first; use theirs.
                if error.code != .fileExists { throw KeyVerifyError(.stateError, error.message) }
            }
        }
        // Refuses a secret others can read, as for a private key.
        var raw = try state { () throws(SSHKeyError) in try KeyFileIO.readPrivateKeyFile(path) }
        let secret = SecureBytes(raw)
        let count = raw.count
        // A loop of stores to a buffer read no more may be removed by the optimiser.
        secureWipe(&raw)
        guard count == ChallengeToken.macSize else {
            throw KeyVerifyError(
                .stateError,
                "the secret \(path) is damaged (\(count) bytes, not \(ChallengeToken.macSize)); remove it to start afresh, which invalidates outstanding tokens"
            )
        }
        return secret
    }

    private static func state<T>(_ body: () throws(SSHKeyError) -> T) throws(KeyVerifyError) -> T {
        do {
            return try body()
        } catch {
            throw KeyVerifyError(.stateError, error.message)
        }
    }

    /// Seconds since the epoch, now.
    public static func currentTime() -> Int64 { Int64(time(nil)) }

    /// Issues a token valid for `lifetime` seconds from `now`.
    ///
    /// - Throws: ``KeyVerifyError/Code/invalidParameter`` for a lifetime that is not positive
    ///   or longer than a year.
    public func issue(
        lifetime: Int64 = ChallengeVerifier.defaultLifetime,
        now: Int64? = nil
    ) throws(KeyVerifyError)
        -> ChallengeToken
    {
        guard lifetime > 0 && lifetime <= 366 * 86400 else {
            throw KeyVerifyError(.invalidParameter, "the lifetime must be between 1 second and a year")
        }
        let issued = now ?? Self.currentTime()
        let nonce = SecureRandom.bytes(ChallengeToken.nonceSize)
        let expires = issued + lifetime
        let body = ChallengeToken.body(nonce: nonce, issuedAt: issued, expiresAt: expires, audience: self.audience)
        return ChallengeToken(
            nonce: nonce,
            issuedAt: issued,
            expiresAt: expires,
            audience: self.audience,
            mac: self.mac(body)
        )
    }

    private func mac(_ body: [UInt8]) -> [UInt8] { HMAC.authenticate(.sha256, key: self.secret, data: body) }

    /// Checks that `token` was issued with this verifier's secret for its audience and has
    /// not expired at `now`.
    ///
    /// - Throws: ``KeyVerifyError/Code/foreignToken``, ``KeyVerifyError/Code/wrongAudience``
    ///   or ``KeyVerifyError/Code/expired``.
    public func checkToken(_ token: ChallengeToken, now: Int64? = nil) throws(KeyVerifyError) {
        let body = ChallengeToken.body(
            nonce: token.nonce,
            issuedAt: token.issuedAt,
            expiresAt: token.expiresAt,
            audience: token.audience
        )
        guard constantTimeEquals(self.mac(body), token.mac) else {
            throw KeyVerifyError(.foreignToken, "the token was not issued by this server or has been altered")
        }
        guard token.audience == self.audience else {
            throw KeyVerifyError(
                .wrongAudience,
                "the token is for the audience \(token.audience), not \(self.audience)"
            )
        }
        let now = now ?? Self.currentTime()
        guard now <= token.expiresAt else {
            throw KeyVerifyError(.expired, "the token expired \(now - token.expiresAt) seconds ago")
        }
    }

    /// Checks a response to a token as ``verify(token:response:authorizedKeys:from:user:revokedKeys:now:)``
    /// does, without using the token up: whoever calls it records the use in its
    /// ``ChallengeStore`` (``verify(token:response:authorizedKeys:in:from:user:revokedKeys:now:)``
    /// does both).
    ///
    /// In order: the token's MAC, audience and lifetime; the response is an SSH signature
    /// (PROTOCOL.sshsig, armoured) with namespace ``Challenge/namespace``; its key is
    /// authorized by `authorizedKeys` from `address` at `now`, with the entry's `from=` and
    /// `expiry-time=` honoured; the signature is over the token's text (with or without one
    /// final newline, so `echo "$TOKEN" | ssh-keygen -Y sign` answers too); and the token was
    /// not used before. As sshd does, the key is looked up before any signature work, so a
    /// key that is not authorized costs no verification.
    ///
    /// A response signed with a user certificate (`ssh-keygen -Y sign` with `KEY-cert.pub`
    /// beside the key) is authorized as sshd authorizes the certificate for a login as
    /// `user`: by a `cert-authority` line holding its CA key (the line's `principals=`,
    /// else `user`, must be one of its principals), valid at `now`, its `source-address`
    /// holding `address`, its critical options known.
    ///
    /// - Parameters:
    ///   - token: The token's text as issued.
    ///   - response: The armoured signature (`-----BEGIN SSH SIGNATURE-----` …).
    ///   - authorizedKeys: The keys allowed to answer.
    ///   - address: The client's IP address, for `from=`; nil fails every `from=` entry.
    ///   - user: The user name a certificate must name, as sshd's login user; nil refuses
    ///     certificates except through a `cert-authority` line with `principals=`.
    ///   - revokedKeys: Keys refused whatever authorized_keys says (sshd's `RevokedKeys`):
    ///     the key, or for a certificate the certificate or its CA.
    ///   - now: Seconds since the epoch; the current time by default.
    /// - Throws: `KeyVerifyError` whose code says which check failed.
    public func check(
        token tokenText: String,
        response: String,
        authorizedKeys: AuthorizedKeysFile,
        from address: String? = nil,
        user: String? = nil,
        revokedKeys: RevokedKeys? = nil,
        now: Int64? = nil
    ) throws(KeyVerifyError) -> ChallengeVerification {
        let now = now ?? Self.currentTime()
        let token = try ChallengeToken(text: tokenText)
        try self.checkToken(token, now: now)

        let signature: SSHSIGSignature
        do {
            signature = try SSHSIGSignature(armored: response)
        } catch {
            throw KeyVerifyError(.malformedResponse, "the response is not an SSH signature: \(error.message)")
        }
        guard signature.namespace == Challenge.namespace else {
            throw KeyVerifyError(
                .wrongNamespace,
                "the response was signed for namespace \"\(signature.namespace)\", not \"\(Challenge.namespace)\""
            )
        }
        if let revokedKeys, revokedKeys.isRevoked(signature.publicKey) {
            throw KeyVerifyError(.notAuthorized, "the key \(signature.publicKey.fingerprint()) is revoked")
        }
        let entry: AuthorizedKeysEntry
        var certificate: AuthorizedCertificate? = nil
        let policy: SecurityKeyPolicy
        switch authorizedKeys.authorizes(signature.publicKey, user: user, from: address, at: now) {
        case .authorized(let found):
            entry = found
            policy = SecurityKeyPolicy(found.options)
        case .certified(let found):
            guard let line = found.entry else { preconditionFailure("a cert-authority line vouches") }
            (entry, certificate) = (line, found)
            policy = SecurityKeyPolicy(found.options)
        case .refused(let refusal):
            throw KeyVerifyError(.notAuthorized, refusal.message)
        }

        let message = token.signedBytes
        guard
            let verification = (try? signature.verify(message, namespace: Challenge.namespace))
                ?? (try? signature.verify(message + [UInt8(ascii: "\n")], namespace: Challenge.namespace))
        else {
            throw KeyVerifyError(.badSignature, "the response's signature does not match this token")
        }
        // As sshd applies them to a login: user presence unless the entry has
        // no-touch-required, user verification when it has verify-required.
        if let fields = verification.securityKey {
            do {
                try policy.check(fields)
            } catch {
                throw KeyVerifyError(.notAuthorized, error.message)
            }
        }

        return ChallengeVerification(token: token, key: signature.publicKey, entry: entry, certificate: certificate)
    }

    /// Verifies a response to a token and, on success, uses the token up.
    ///
    /// In order: the token's MAC, audience and lifetime; the response is an SSH signature
    /// (PROTOCOL.sshsig, armoured) with namespace ``Challenge/namespace``; its key is
    /// authorized by `authorizedKeys` from `address` at `now`, with the entry's `from=` and
    /// `expiry-time=` honoured; the signature is over the token's text (with or without one
    /// final newline, so `echo "$TOKEN" | ssh-keygen -Y sign` answers too); and the token was
    /// not used before. As sshd does, the key is looked up before any signature work, so a
    /// key that is not authorized costs no verification.
    /// Only a response that passes every check uses the token.
    ///
    /// A response signed with a user certificate (`ssh-keygen -Y sign` with `KEY-cert.pub`
    /// beside the key) is authorized as sshd authorizes the certificate for a login as
    /// `user`: by a `cert-authority` line holding its CA key (the line's `principals=`,
    /// else `user`, must be one of its principals), valid at `now`, its `source-address`
    /// holding `address`, its critical options known.
    ///
    /// - Parameters:
    ///   - token: The token's text as issued.
    ///   - response: The armoured signature (`-----BEGIN SSH SIGNATURE-----` …).
    ///   - authorizedKeys: The keys allowed to answer.
    ///   - address: The client's IP address, for `from=`; nil fails every `from=` entry.
    ///   - user: The user name a certificate must name, as sshd's login user; nil refuses
    ///     certificates except through a `cert-authority` line with `principals=`.
    ///   - revokedKeys: Keys refused whatever authorized_keys says (sshd's `RevokedKeys`):
    ///     the key, or for a certificate the certificate or its CA.
    ///   - now: Seconds since the epoch; the current time by default.
    /// - Throws: `KeyVerifyError` whose code says which check failed.
    public func verify(
        token tokenText: String,
        response: String,
        authorizedKeys: AuthorizedKeysFile,
        from address: String? = nil,
        user: String? = nil,
        revokedKeys: RevokedKeys? = nil,
        now: Int64? = nil
    ) throws(KeyVerifyError) -> ChallengeVerification {
        let result = try self.check(
            token: tokenText,
            response: response,
            authorizedKeys: authorizedKeys,
            from: address,
            user: user,
            revokedKeys: revokedKeys,
            now: now
        )
        try self.useUp(result.token)
        return result
    }

    /// Verifies a response as ``verify(token:response:authorizedKeys:from:user:revokedKeys:now:)``
    /// does, recording the token's use in `store` instead of a state directory: of several
    /// verifiers sharing the store, exactly one accepts a token.
    ///
    /// - Throws: `KeyVerifyError` whose code says which check failed;
    ///   ``KeyVerifyError/Code/replayed`` when the store already holds the token;
    ///   ``KeyVerifyError/Code/storeUnavailable`` when the store cannot be reached, in which
    ///   case nothing was accepted.
    public func verify(
        token tokenText: String,
        response: String,
        authorizedKeys: AuthorizedKeysFile,
        in store: some ChallengeStore,
        from address: String? = nil,
        user: String? = nil,
        revokedKeys: RevokedKeys? = nil,
        now: Int64? = nil
    ) async throws(KeyVerifyError) -> ChallengeVerification {
        let result = try self.check(
            token: tokenText,
            response: response,
            authorizedKeys: authorizedKeys,
            from: address,
            user: user,
            revokedKeys: revokedKeys,
            now: now
        )
        guard try await store.recordUse(result.token) else {
            throw KeyVerifyError(.replayed, "the token has already been used")
        }
        // As for a state directory: a record pruned after expiry plus the grace could have
        // let an earlier use go unseen, so a token now that old is refused.
        if Self.currentTime() > result.token.expiresAt + Self.pruneGrace {
            throw KeyVerifyError(.expired, "the token expired while it was being verified")
        }
        return result
    }

    // MARK: Used tokens

    /// Records `token` as used in the state directory, exactly once across processes,
    /// after pruning old records.
    private func useUp(_ token: ChallengeToken) throws(KeyVerifyError) {
        guard let directory = self.stateDirectory else {
            throw KeyVerifyError(
                .invalidParameter,
                "this verifier keeps no state directory; verify through its store"
            )
        }
        let now = Self.currentTime()
        if self.lastPrune.isDue(now: now, interval: Self.pruneInterval) {
            Self.pruneUsedTokens(inStateDirectory: directory, now: now)
        }
        guard try Self.recordUse(token, inStateDirectory: directory) else {
            throw KeyVerifyError(.replayed, "the token has already been used")
        }
        // A pruner may have removed an earlier record of this token only after it expired
        // (plus the grace); checking the clock again after creating ours closes that window.
        if Self.currentTime() > token.expiresAt + Self.pruneGrace {
            throw KeyVerifyError(.expired, "the token expired while it was being verified")
        }
    }

    /// Creates the record of `token` in `directory`'s `used/`, `EXPIRES-NONCEHEX`: true when
    /// this call made it, false when it existed. Of any number of processes racing with one
    /// token, exactly one gets true: `link(2)` and `O_EXCL` fail when the name exists.
    package static func recordUse(
        _ token: ChallengeToken,
        inStateDirectory directory: String
    ) throws(KeyVerifyError) -> Bool {
        let path = directory + "/used/\(token.expiresAt)-" + token.nonce.map(hexByte).joined()
        if link(directory + "/" + Self.recordFileName, path) != 0 {
            var code = errno
            if code != EEXIST {
                // No hard link here (EMLINK, EPERM, EXDEV, ENOENT, …): a file of its own.
                let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
                code = fd >= 0 ? 0 : errno
                if fd >= 0 { close(fd) }
            }
            if code == EEXIST { return false }
            if code != 0 { throw KeyVerifyError(.stateError, "\(path): \(String(cString: strerror(code)))") }
        }
        return true
    }

    /// Removes the records of tokens that expired more than the grace period before `now`.
    ///
    /// Called by verification at most once every ``pruneInterval`` seconds per verifier;
    /// safe to run from several processes. Does nothing for a verifier without a state
    /// directory: its store prunes.
    public func pruneUsedTokens(now: Int64) {
        guard let directory = self.stateDirectory else { return }
        Self.pruneUsedTokens(inStateDirectory: directory, now: now)
    }

    /// Removes from `directory`'s `used/` the records of tokens that expired more than the
    /// grace period before `now`.
    package static func pruneUsedTokens(inStateDirectory directory: String, now: Int64) {
        let used = directory + "/used"
        guard let dir = opendir(used) else { return }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            guard let dash = name.firstIndex(of: "-"), let expires = Int64(name[..<dash]) else { continue }
            if expires + Self.pruneGrace < now { unlink(used + "/" + name) }
        }
    }
}

/// When a verifier last pruned its used-token records.
private final class PruneClock: Sendable {
    private let last = Mutex<Int64?>(nil)

    /// Whether a pruning is due at `now`; if so, records `now` as the last one.
    func isDue(now: Int64, interval: Int64) -> Bool {
        self.last.withLock { last in
            if let previous = last, now - previous < interval, now >= previous { return false }
            last = now
            return true
        }
    }
}

/// What a successful verification proved: who answered, and by which authorized_keys entry.
public struct ChallengeVerification: Sendable {
    /// The token that was answered (now used up).
    public let token: ChallengeToken
    /// The key that signed the response.
    public let key: SSHPublicKey
    /// The authorized_keys entry that authorized the key (for a certificate, the
    /// `cert-authority` line); its options apply.
    public let entry: AuthorizedKeysEntry
    /// For a response signed with a certificate: the certificate and the options in force.
    public let certificate: AuthorizedCertificate?

    init(
        token: ChallengeToken,
        key: SSHPublicKey,
        entry: AuthorizedKeysEntry,
        certificate: AuthorizedCertificate? = nil
    ) {
        self.token = token
        self.key = key
        self.entry = entry
        self.certificate = certificate
    }

    /// The key's SHA-256 fingerprint.
    public var fingerprint: SSHFingerprint { self.key.fingerprint() }
    /// The entry's comment, if any.
    public var comment: String? { self.entry.comment }
}

/// The client side of a challenge, and the names both sides share.
public enum Challenge {
    /// The SSHSIG namespace of every response.
    public static let namespace = "challenge@keysmith"

    /// Answers `token` with `key`: an armoured SSHSIG signature over the token's text in the
    /// ``namespace``, the same as
    /// `printf %s "$TOKEN" | ssh-keygen -Y sign -n challenge@keysmith -f KEY`, but only when
    /// the token is for `audience`, the verifier the caller means to answer: a token another
    /// verifier issued, relayed by this one, is refused rather than signed.
    ///
    /// - Throws: ``KeyVerifyError/Code/malformedToken`` when `token` is not a challenge
    ///   token; ``KeyVerifyError/Code/wrongAudience`` when it is for another audience;
    ///   ``KeyVerifyError/Code/invalidParameter`` when signing fails.
    public static func respond(
        to token: String,
        with key: SSHPrivateKey,
        audience: String
    ) throws(KeyVerifyError) -> String {
        try respond(to: token, signer: SSHKeySigner(key), audience: audience)
    }

    /// Answers `token` as ``respond(to:with:audience:)`` does, signing with `signer` (a
    /// security key signs through its authenticator).
    public static func respond(
        to token: String,
        signer: SSHKeySigner,
        audience: String
    ) throws(KeyVerifyError) -> String {
        let parsed = try ChallengeToken(text: token)
        try Self.checkAudience(parsed, expected: audience)
        do {
            let hash = SSHSIGMessageHash(algorithm: .default, message: parsed.signedBytes)
            return try SSHSIGSignature.sign(messageHash: hash, signer: signer, namespace: namespace).armored
        } catch {
            throw KeyVerifyError(.invalidParameter, "signing the token failed: \(error.message)")
        }
    }
}

extension Challenge {
    /// Throws ``KeyVerifyError/Code/wrongAudience`` unless `token` is for `expected`.
    public static func checkAudience(_ token: ChallengeToken, expected: String) throws(KeyVerifyError) {
        guard token.audience == expected else {
            throw KeyVerifyError(
                .wrongAudience,
                "the token is for the audience \(token.audience), not \(expected); refusing to sign it"
            )
        }
    }
}

private func hexByte(_ b: UInt8) -> String {
    let digits = Array("0123456789abcdef".utf8)
    return String(decoding: [digits[Int(b >> 4)], digits[Int(b & 15)]], as: UTF8.self)
}
