public import SSHKeys

/// What the server decided about one public key offered by a client.
public enum SSHPublicKeyDecision: Sendable, Hashable {
    /// The key may log in; `comment` is what the session reports with it. A security key's
    /// signature must then assert user presence, sshd's default.
    case accept(comment: String?)
    /// The key may log in when its security key signature asserts what `policy` requires
    /// (the `no-touch-required` and `verify-required` options of its authorized_keys line).
    case acceptSecurityKey(comment: String?, policy: SecurityKeyPolicy)
    /// The key may not log in; `reason` goes to the log, never to the client.
    case refuse(reason: String)
}

/// What the server's user authentication did with one message, for the driver's log.
package enum SSHUserAuthServerEvent: Sendable, Hashable {
    /// A key was offered without a signature and accepted (SSH_MSG_USERAUTH_PK_OK sent).
    case keyAcceptable(user: String, key: SSHPublicKey)
    /// A key was refused by the decision callback (or its algorithm is not accepted).
    case keyRefused(user: String, key: SSHPublicKey?, algorithm: String, reason: String)
    /// A signature did not verify.
    case badSignature(user: String, key: SSHPublicKey)
    /// A method other than publickey was tried and refused.
    case methodRefused(user: String, method: String)
    /// Authentication finished.
    case authenticated(user: String, key: SSHPublicKey, comment: String?)
}

/// The server side of SSH user authentication (RFC 4252), sans I/O, for public keys only.
///
/// It accepts the `ssh-userauth` service (again each time it is asked, until authentication
/// succeeds, as sshd does), answers `none`, `password`,
/// `keyboard-interactive` and every other method with SSH_MSG_USERAUTH_FAILURE listing only
/// `publickey`, and handles `publickey` as sshd's auth2-pubkey.c: a request without a
/// signature gets SSH_MSG_USERAUTH_PK_OK when the key would be accepted (RFC 4252 §7), a
/// signed request is checked over
///
/// ```
/// string    session identifier
/// byte      SSH_MSG_USERAUTH_REQUEST
/// string    user name
/// string    service name
/// string    "publickey"
/// boolean   TRUE
/// string    public key algorithm name
/// string    public key to be used for authentication
/// ```
///
/// with the signature's algorithm required to be the request's. After
/// ``maximumFailures`` failed requests (sshd's MaxAuthTries) it throws, and the driver
/// disconnects. The user name is recorded but not judged: the caller's decision does that.
///
/// Not `Sendable`: one connection's state, driven from one place.
package final class SSHUserAuthServer {
    /// sshd's MaxAuthTries default. As in sshd, every failed request counts toward it but a
    /// `none` that is the connection's first request.
    package static let defaultMaximumFailures = 6
    /// The public-key algorithms accepted: OpenSSH 9.2's PubkeyAcceptedAlgorithms (the
    /// certificate algorithms of myproposal.h `KEX_DEFAULT_PK_ALG`, then the plain ones),
    /// without SHA-1 RSA.
    package static let acceptedAlgorithms: Set<String> = Set(
        SSHUserAuthServer.certificateAlgorithms.keys + SSHTransport.signatureAlgorithms
    )

    /// Certificate algorithms and the signature algorithm each requires of the certified
    /// key (ssh-rsa.c: the hash the name says; the others: the key's own signature).
    package static let certificateAlgorithms: [String: String] = [
        "ssh-ed25519-cert-v01@openssh.com": "ssh-ed25519",
        "ecdsa-sha2-nistp256-cert-v01@openssh.com": "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384-cert-v01@openssh.com": "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521-cert-v01@openssh.com": "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519-cert-v01@openssh.com": "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com": "sk-ecdsa-sha2-nistp256@openssh.com",
        "rsa-sha2-512-cert-v01@openssh.com": "rsa-sha2-512",
        "rsa-sha2-256-cert-v01@openssh.com": "rsa-sha2-256",
    ]

    private let sessionID: [UInt8]
    private let maximumFailures: Int
    private let decide: (String, SSHPublicKey) -> SSHPublicKeyDecision
    /// USERAUTH_REQUEST messages received (auth2.c's `attempt`).
    private var requests = 0
    private var serviceAccepted = false
    private var failures = 0
    private var firstUser: [UInt8]?

    /// The events of the latest ``receive(_:)`` call.
    package private(set) var events: [SSHUserAuthServerEvent] = []
    /// Set once a signed request verified: the user, key and its comment.
    package private(set) var authenticated: (user: String, key: SSHPublicKey, comment: String?)?

    /// - Parameters:
    ///   - sessionID: the exchange hash of the first key exchange.
    ///   - maximumFailures: failed requests before the connection is dropped.
    ///   - decide: called for each key offered (queried and signed); its answer must not
    ///     change between the query and the signed request in practice.
    package init(
        sessionID: [UInt8],
        maximumFailures: Int = SSHUserAuthServer.defaultMaximumFailures,
        decide: @escaping (String, SSHPublicKey) -> SSHPublicKeyDecision
    ) {
        self.sessionID = sessionID
        self.maximumFailures = maximumFailures
        self.decide = decide
    }

    /// Handles one message from the client.
    /// - Returns: the messages to send in reply, in order.
    /// - Throws: `.authenticationFailed` after too many failures, `.protocolViolation` for
    ///   a malformed or unexpected message.
    package func receive(_ payload: [UInt8]) throws(SSHProtocolError) -> [[UInt8]] {
        self.events = []
        guard let type = payload.first else { throw clientMalformed("empty") }
        var r = SSHWireReader(payload.dropFirst())
        switch type {
        case UserAuthMessage.serviceRequest where self.authenticated == nil:
            // RFC 4253 §10: string service name. sshd (auth2.c) keeps answering `ssh-userauth`
            // until authentication succeeds, and some clients (paramiko) ask again before
            // each attempt; the failures counted so far stay counted.
            guard let name = try? r.readString(), r.isAtEnd else { throw clientMalformed("SERVICE_REQUEST") }
            guard name.elementsEqual("ssh-userauth".utf8) else {
                throw SSHProtocolError(
                    .protocolViolation,
                    "the client asked for the unknown service \(printable(name))"
                )
            }
            self.serviceAccepted = true
            var w = SSHWireWriter()
            w.writeByte(UserAuthMessage.serviceAccept)
            w.writeString("ssh-userauth")
            return [w.bytes]
        case UserAuthMessage.request where self.serviceAccepted && self.authenticated == nil:
            self.requests += 1
            return try self.request(&r)
        default:
            throw SSHProtocolError(.protocolViolation, "unexpected message \(type) during user authentication")
        }
    }

    /// RFC 4252 §5: string user name, string service name, string method name, fields.
    private func request(_ r: inout SSHWireReader) throws(SSHProtocolError) -> [[UInt8]] {
        guard let userBytes = try? r.readString(), let service = try? r.readString(),
            let methodBytes = try? r.readString()
        else { throw clientMalformed("USERAUTH_REQUEST") }
        let user = printable(userBytes.prefix(256))
        let method = printable(methodBytes.prefix(64))
        // auth2.c: "Change of username or service not allowed". On the bytes received: `user`
        // is escaped and cut for logs, and two different names can escape alike.
        if let firstUser, !firstUser.elementsEqual(userBytes) {
            throw SSHProtocolError(.protocolViolation, "the client changed the user name during authentication")
        }
        self.firstUser = Array(userBytes)
        guard service.elementsEqual("ssh-connection".utf8) else {
            throw SSHProtocolError(.protocolViolation, "the client asked for the unknown service \(printable(service))")
        }
        guard method == "publickey" else {
            // auth2.c's userauth_finish counts every failed request toward MaxAuthTries but
            // a "none" that is the connection's first request.
            let free = method == "none" && self.requests == 1
            if method != "none" { self.events.append(.methodRefused(user: user, method: method)) }
            return try self.failure(counting: !free)
        }
        guard let hasSignature = try? r.readByte(), let algorithmBytes = try? r.readString(),
            let blob = try? r.readString()
        else { throw clientMalformed("publickey USERAUTH_REQUEST") }
        let algorithm = printable(algorithmBytes.prefix(64))
        let key = try? SSHPublicKey(wireBlob: blob)
        guard let key, Self.acceptedAlgorithms.contains(algorithm), Self.keyFits(key, algorithm: algorithm) else {
            self.events.append(
                .keyRefused(user: user, key: key, algorithm: algorithm, reason: "algorithm \(algorithm) not accepted")
            )
            return try self.failure(counting: true)
        }
        if hasSignature == 0 {
            guard r.isAtEnd else { throw clientMalformed("publickey USERAUTH_REQUEST") }
            switch self.decide(user, key) {
            case .accept, .acceptSecurityKey:
                self.events.append(.keyAcceptable(user: user, key: key))
                // RFC 4252 §7: SSH_MSG_USERAUTH_PK_OK, string algorithm, string blob.
                var w = SSHWireWriter()
                w.writeByte(UserAuthMessage.methodSpecific60)
                w.writeString(algorithmBytes)
                w.writeString(blob)
                return [w.bytes]
            case .refuse(let reason):
                self.events.append(.keyRefused(user: user, key: key, algorithm: algorithm, reason: reason))
                return try self.failure(counting: true)
            }
        }
        guard let signatureBlob = try? r.readString(), r.isAtEnd else {
            throw clientMalformed("publickey USERAUTH_REQUEST")
        }
        let signed = PublicKeyAuthRequest.signedData(
            sessionID: self.sessionID,
            request: PublicKeyAuthRequest.signedRequest(
                user: userBytes,
                service: service,
                algorithm: algorithmBytes,
                publicKeyBlob: blob
            )
        )
        let comment: String?
        let policy: SecurityKeyPolicy
        switch self.decide(user, key) {
        case .refuse(let reason):
            self.events.append(.keyRefused(user: user, key: key, algorithm: algorithm, reason: reason))
            return try self.failure(counting: true)
        case .accept(let given):
            (comment, policy) = (given, SecurityKeyPolicy())
        case .acceptSecurityKey(let given, let required):
            (comment, policy) = (given, required)
        }
        // sshkey_verify with the request's algorithm: the signature must use it.
        guard let signature = try? SSHSignature(wireEncoding: signatureBlob),
            Self.signatureFits(key, signature: signature.algorithm, request: algorithm),
            let verification = key.verify(signature, for: signed)
        else {
            self.events.append(.badSignature(user: user, key: key))
            return try self.failure(counting: true)
        }
        // auth2-pubkey.c: a valid security key signature still fails without the presence
        // or verification its authorized_keys line requires.
        if let fields = verification.securityKey {
            do {
                try policy.check(fields)
            } catch {
                self.events.append(.keyRefused(user: user, key: key, algorithm: algorithm, reason: error.message))
                return try self.failure(counting: true)
            }
        }
        self.authenticated = (user, key, comment)
        self.events.append(.authenticated(user: user, key: key, comment: comment))
        return [[UserAuthMessage.success]]
    }

    /// RFC 4252 §5.1: name-list of methods that can continue, boolean partial success.
    private func failure(counting: Bool) throws(SSHProtocolError) -> [[UInt8]] {
        if counting {
            self.failures += 1
            guard self.failures < self.maximumFailures else {
                throw SSHProtocolError(.authenticationFailed, "too many authentication failures")
            }
        }
        var w = SSHWireWriter()
        w.writeByte(UserAuthMessage.failure)
        w.writeString("publickey")
        w.writeByte(0)
        return [w.bytes]
    }

    /// rsa-sha2-* sign with ssh-rsa keys, webauthn-sk-ecdsa-sha2-nistp256@openssh.com with
    /// sk-ecdsa-sha2-nistp256@openssh.com keys; every other algorithm is the key's own type.
    /// A certificate algorithm names the certificate's type, the RSA ones with the hash
    /// their signature must use (auth2-pubkey.c: the blob's type must be the algorithm's).
    static func keyFits(_ key: SSHPublicKey, algorithm: String) -> Bool {
        if let plain = certificateAlgorithms[algorithm] {
            guard let certificate = key.certificate else { return false }
            return keyFits(certificate.key, algorithm: plain)
        }
        return switch algorithm {
        case "rsa-sha2-256", "rsa-sha2-512": key.type == .rsa
        case SecurityKeyVerifier.webAuthnAlgorithm: key.type == .skECDSA
        default: key.type.sshName == algorithm
        }
    }

    /// Whether a signature of algorithm `signature` answers a request for `request`: the same
    /// name, except that an ECDSA security key signs as itself or through WebAuthn whichever
    /// the request names (ssh-ecdsa-sk.c takes either and ignores the requested algorithm).
    static func signatureFits(_ key: SSHPublicKey, signature: String, request: String) -> Bool {
        // sshkey_verify on a certificate verifies with the certified key, under the
        // algorithm the certificate's name implies.
        if let certificate = key.certificate {
            guard let plain = certificateAlgorithms[request] else { return false }
            return signatureFits(certificate.key, signature: signature, request: plain)
        }
        if key.type == .skECDSA {
            let names = [SecurityKeyVerifier.ecdsaAlgorithm, SecurityKeyVerifier.webAuthnAlgorithm]
            return names.contains(signature) && names.contains(request)
        }
        return signature == request
    }
}

/// A malformed message from the client.
func clientMalformed(_ what: String) -> SSHProtocolError {
    SSHProtocolError(.protocolViolation, "the client sent a malformed \(what) message")
}
