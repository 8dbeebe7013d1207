package import SSHCrypto
import SSHKeys

/// The client side of SSH user authentication (RFC 4252, RFC 4256), sans I/O: feed it the
/// payloads the transport delivers and send the payloads it returns.
///
/// It asks for the `ssh-userauth` service, sends a `none` request to learn which methods
/// the server accepts, then walks the caller's order, keeping only the methods the latest
/// SSH_MSG_USERAUTH_FAILURE allows:
/// - publickey (RFC 4252 §7): each identity is first offered without a signature, and
///   signed only after SSH_MSG_USERAUTH_PK_OK, so a key the server would refuse is never
///   used (an agent may ask for confirmation on each signature).
/// - keyboard-interactive (RFC 4256): prompts go to the keyboard-interactive source, or,
///   without one, a single hidden prompt is answered from the password source (PAM's
///   "Password:" prompt on servers with `PasswordAuthentication no`).
/// - password (RFC 4252 §8).
/// The password source is asked at most ``maximumPasswordTries`` times over both methods.
/// Partial success (RFC 4252 §5.1) simply continues with the methods the server still lists.
///
/// Not `Sendable`: one connection's state, driven from one place.
package final class SSHUserAuthClient {
    /// Asks for a password, given the prompt; nil means there is none.
    package typealias PasswordSource = (String) -> SecureBytes?
    /// Answers keyboard-interactive prompts: (name, instruction, [(prompt, echo)]) → answers, or nil to give up.
    package typealias KeyboardInteractiveSource = (String, String, [(String, Bool)]) -> [SecureBytes]?

    /// How often the password source is asked, as ssh's NumberOfPasswordPrompts.
    package static let maximumPasswordTries = 3
    /// More prompts than this in one INFO_REQUEST is taken as hostile.
    package static let maximumPrompts = 64

    private enum Step {
        case awaitingServiceAccept
        case none
        case publicKeyQuery(index: Int, algorithm: String)
        case publicKeySigned(index: Int)
        case password
        case keyboardInteractive
        case succeeded
    }

    private let user: String
    private let host: String
    private let peer: String
    private let order: [SSHAuthenticationMethod]
    private let identities: [SSHAuthIdentity]
    private let passwordSource: PasswordSource?
    private let keyboardInteractiveSource: KeyboardInteractiveSource?
    private let sessionID: [UInt8]
    private let acceptedAlgorithms: [String]

    /// server-sig-algs from the server's EXT_INFO (RFC 8308); set it before each ``receive(_:)``.
    package var serverSignatureAlgorithms: [String]?

    private var step = Step.awaitingServiceAccept
    private var allowed: [String] = []
    private var nextIdentity = 0
    /// Identities passed over for want of a signature algorithm both sides accept.
    private var skipped = 0
    private var passwordTries = 0
    private var keyboardInteractiveRounds = 0
    private var passwordGivenUp = false
    private var keyboardInteractiveGivenUp = false
    private var notes: [String] = []

    /// SSH_MSG_USERAUTH_BANNER texts, in order (RFC 4252 §5.4).
    package private(set) var banners: [String] = []
    /// Methods that succeeded partially (RFC 4252 §5.1), described as ``authenticatedWith``.
    package private(set) var partialSuccesses: [String] = []
    /// The method that completed authentication: `publickey (LABEL)`, `password`, ….
    package private(set) var authenticatedWith: String?
    /// The methods that succeeded, partially (RFC 4252 §5.1) or completely, in order: what a
    /// fresh connection to the same server offers to log in again without asking.
    package private(set) var succeededMethods: [SSHAuthenticationMethod] = []
    /// The identities whose signed publickey request succeeded, partially or completely.
    package private(set) var acceptedIdentities: [SSHAuthIdentity] = []

    /// Whether the server sent SSH_MSG_USERAUTH_SUCCESS.
    package var isAuthenticated: Bool {
        if case .succeeded = self.step { return true }
        return false
    }

    /// - Parameters:
    ///   - user: the account name.
    ///   - host: the server's name in password prompts (`user@host's password: `).
    ///   - peer: the server's name in messages (`host:port`).
    ///   - sessionID: the exchange hash of the first key exchange (signed by publickey).
    ///   - notes: why some credentials are missing (an unreachable agent), for the failure message.
    ///   - acceptedAlgorithms: PubkeyAcceptedAlgorithms, resolved: the algorithms a key may be
    ///     offered under (``SSHAuthIdentity/signatureAlgorithm(for:serverAlgorithms:accepted:)``).
    package init(
        user: String,
        host: String,
        peer: String,
        order: [SSHAuthenticationMethod],
        identities: [SSHAuthIdentity],
        password: PasswordSource?,
        keyboardInteractive: KeyboardInteractiveSource?,
        sessionID: [UInt8],
        notes: [String] = [],
        acceptedAlgorithms: [String] = SSHAlgorithms.defaultPublicKey
    ) {
        self.acceptedAlgorithms = acceptedAlgorithms
        self.user = user
        self.host = host
        self.peer = peer
        self.notes = notes
        self.order = order
        self.identities = identities
        self.passwordSource = password
        self.keyboardInteractiveSource = keyboardInteractive
        self.sessionID = sessionID
    }

    /// The first message: SSH_MSG_SERVICE_REQUEST for `ssh-userauth` (RFC 4253 §10).
    package func start() -> [UInt8] {
        var w = SSHWireWriter()
        w.writeByte(UserAuthMessage.serviceRequest)
        w.writeString("ssh-userauth")
        return w.bytes
    }

    /// Handles one message from the server.
    /// - Returns: the messages to send in reply, in order.
    /// - Throws: `.authenticationFailed` when every usable method is exhausted,
    ///   `.protocolViolation` for a malformed or unexpected message.
    package func receive(_ payload: [UInt8]) throws(SSHProtocolError) -> [[UInt8]] {
        guard let type = payload.first else { throw malformed("empty") }
        var r = SSHWireReader(payload.dropFirst())
        switch (type, self.step) {
        case (UserAuthMessage.banner, _):
            // RFC 4252 §5.4: string message, string language tag.
            guard let text = try? r.readString() else { throw malformed("USERAUTH_BANNER") }
            self.banners.append(String(decoding: text, as: UTF8.self))
            return []

        case (UserAuthMessage.serviceAccept, .awaitingServiceAccept):
            guard let name = try? r.readString(), name.elementsEqual("ssh-userauth".utf8) else {
                throw malformed("SERVICE_ACCEPT")
            }
            self.step = .none
            return [self.request(method: "none")]

        case (UserAuthMessage.success, _) where !self.isAwaitingService:
            self.authenticatedWith = self.currentMethodDescription
            self.recordSuccess()
            self.step = .succeeded
            return []

        case (UserAuthMessage.failure, _) where !self.isAwaitingService && !self.isAuthenticated:
            // RFC 4252 §5.1: name-list authentications that can continue, boolean partial success.
            guard let list = try? r.readString(), let partial = try? r.readByte() else {
                throw malformed("USERAUTH_FAILURE")
            }
            self.allowed = String(decoding: list, as: UTF8.self).split(separator: ",").map(String.init)
            if partial != 0 {
                self.partialSuccesses.append(self.currentMethodDescription)
                self.recordSuccess()
            }
            return [try self.nextRequest()]

        case (UserAuthMessage.methodSpecific60, .publicKeyQuery(let index, let algorithm)):
            // RFC 4252 §7: SSH_MSG_USERAUTH_PK_OK, string algorithm, string blob.
            guard let echoedAlgorithm = try? r.readString(), let echoedBlob = try? r.readString() else {
                throw malformed("USERAUTH_PK_OK")
            }
            let identity = self.identities[index]
            guard echoedAlgorithm.elementsEqual(algorithm.utf8), echoedBlob.elementsEqual(identity.publicKey.wireBlob)
            else { throw SSHProtocolError(.protocolViolation, "the server accepted a key that was not offered") }
            do {
                let signed = try self.signedPublicKeyRequest(identity, algorithm: algorithm)
                self.step = .publicKeySigned(index: index)
                return [signed]
            } catch {
                self.notes.append(error.message)
                return [try self.nextRequest()]
            }

        case (UserAuthMessage.methodSpecific60, .password):
            // RFC 4252 §8: SSH_MSG_USERAUTH_PASSWD_CHANGEREQ. We never set a new password.
            throw SSHProtocolError(
                .authenticationFailed,
                "the password of \(self.user) on \(self.peer) has expired and the server demands a new one; "
                    + "change it with an interactive ssh login first"
            )

        case (UserAuthMessage.methodSpecific60, .keyboardInteractive):
            return [try self.answerInfoRequest(&r)]

        default:
            throw SSHProtocolError(
                .protocolViolation,
                "the server sent an unexpected message (type \(type)) during user authentication"
            )
        }
    }

    /// Notes the method of the current step as one that succeeded.
    private func recordSuccess() {
        switch self.step {
        case .publicKeySigned(let index):
            self.succeededMethods.append(.publicKey)
            self.acceptedIdentities.append(self.identities[index])
        case .password: self.succeededMethods.append(.password)
        case .keyboardInteractive: self.succeededMethods.append(.keyboardInteractive)
        case .awaitingServiceAccept, .none, .publicKeyQuery, .succeeded: break
        }
    }

    private var isAwaitingService: Bool {
        if case .awaitingServiceAccept = self.step { return true }
        return false
    }

    private var currentMethodDescription: String {
        switch self.step {
        case .awaitingServiceAccept, .none, .succeeded: "none"
        case .publicKeyQuery(let i, _), .publicKeySigned(let i): "publickey (\(self.identities[i].label))"
        case .password: "password"
        case .keyboardInteractive: "keyboard-interactive"
        }
    }

    /// RFC 4252 §5: byte SSH_MSG_USERAUTH_REQUEST, string user, string service, string method, ….
    private func requestWriter(method: String) -> SSHWireWriter {
        var w = SSHWireWriter()
        w.writeByte(UserAuthMessage.request)
        w.writeString(self.user)
        w.writeString("ssh-connection")
        w.writeString(method)
        return w
    }

    private func request(method: String) -> [UInt8] { self.requestWriter(method: method).bytes }

    /// Picks the next method the server allows and we can still try, and builds its request.
    private func nextRequest() throws(SSHProtocolError) -> [UInt8] {
        for method in self.order where self.allowed.contains(method.rawValue) {
            switch method {
            case .publicKey:
                while self.nextIdentity < self.identities.count {
                    let index = self.nextIdentity
                    self.nextIdentity += 1
                    let identity = self.identities[index]
                    guard
                        let algorithm = SSHAuthIdentity.signatureAlgorithm(
                            for: identity.publicKey,
                            serverAlgorithms: self.serverSignatureAlgorithms,
                            accepted: self.acceptedAlgorithms
                        )
                    else {
                        // sshconnect2.c send_pubkey_test: "no mutual signature algorithm".
                        self.skipped += 1
                        self.notes.append("no mutual signature algorithm for \(identity.label)")
                        continue
                    }
                    // RFC 4252 §7: the query form, boolean FALSE, without a signature.
                    var w = self.requestWriter(method: "publickey")
                    w.writeByte(0)
                    w.writeString(algorithm)
                    w.writeString(identity.publicKey.wireBlob)
                    self.step = .publicKeyQuery(index: index, algorithm: algorithm)
                    return w.bytes
                }
            case .keyboardInteractive:
                let canAnswer =
                    self.keyboardInteractiveSource != nil
                    || (self.passwordSource != nil && self.passwordTries < Self.maximumPasswordTries)
                if !self.keyboardInteractiveGivenUp && canAnswer
                    && self.keyboardInteractiveRounds < Self.maximumPasswordTries
                {
                    self.keyboardInteractiveRounds += 1
                    // RFC 4256 §3.1: string language tag, string submethods.
                    var w = self.requestWriter(method: "keyboard-interactive")
                    w.writeString("")
                    w.writeString("")
                    self.step = .keyboardInteractive
                    return w.bytes
                }
            case .password:
                if !self.passwordGivenUp, let source = self.passwordSource,
                    self.passwordTries < Self.maximumPasswordTries
                {
                    self.passwordTries += 1
                    guard let password = source("\(self.user)@\(self.host)'s password: ") else {
                        self.passwordGivenUp = true
                        continue
                    }
                    // RFC 4252 §8: boolean FALSE, string plaintext password.
                    var w = self.requestWriter(method: "password")
                    w.writeByte(0)
                    w.writeString(password)
                    self.step = .password
                    // Moved out, not copied: the caller wipes the one copy after sending it.
                    return w.take()
                }
            }
        }
        throw SSHProtocolError(.authenticationFailed, self.failureMessage)
    }

    private var failureMessage: String {
        var message =
            "permission denied (\(self.allowed.joined(separator: ","))) for \(self.user) on \(self.peer)"
        var tried: [String] = []
        let offered = self.nextIdentity - self.skipped
        if offered > 0 { tried.append(offered == 1 ? "1 key" : "\(offered) keys") }
        if self.keyboardInteractiveRounds > 0 { tried.append("keyboard-interactive") }
        if self.passwordTries > 0 {
            tried.append(self.passwordTries == 1 ? "1 password" : "\(self.passwordTries) passwords")
        }
        if tried.isEmpty {
            let ours = self.order.filter { self.allowed.contains($0.rawValue) }
            message += ours.isEmpty ? ": no method allowed by the server is enabled" : ": no credentials to offer"
        } else {
            message += " (tried \(tried.joined(separator: ", ")))"
        }
        if !self.notes.isEmpty { message += "; " + self.notes.joined(separator: "; ") }
        return message
    }

    /// RFC 4252 §7: the signature covers string session_id followed by the request up to
    /// the public key blob, with the boolean TRUE.
    private func signedPublicKeyRequest(
        _ identity: SSHAuthIdentity,
        algorithm: String
    ) throws(SSHProtocolError) -> [UInt8] {
        let request = PublicKeyAuthRequest.signedRequest(
            user: self.user.utf8,
            service: "ssh-connection".utf8,
            algorithm: algorithm.utf8,
            publicKeyBlob: identity.publicKey.wireBlob
        )
        // A certificate signs as the key it certifies: rsa-sha2-512-cert-v01@openssh.com
        // with rsa-sha2-512 (PROTOCOL.certkeys).
        let signatureAlgorithm = SSHAlgorithms.signatureAlgorithm(of: algorithm)
        let signature = try identity.sign(
            PublicKeyAuthRequest.signedData(sessionID: self.sessionID, request: request),
            signatureAlgorithm
        )
        guard signature.algorithm == signatureAlgorithm else {
            throw SSHProtocolError(
                .cryptoFailure,
                "\(identity.label) signed with \(signature.algorithm) instead of \(signatureAlgorithm)"
            )
        }
        var w = SSHWireWriter()
        w.writeBytes(request)
        w.writeString(signature.wireEncoding)
        return w.bytes
    }

    /// RFC 4256 §3.2: string name, string instruction, string language tag, int num-prompts,
    /// then for each prompt string prompt, boolean echo. The reply (§3.4) is
    /// SSH_MSG_USERAUTH_INFO_RESPONSE, int num-responses, string response….
    private func answerInfoRequest(_ r: inout SSHWireReader) throws(SSHProtocolError) -> [UInt8] {
        var prompts: [(String, Bool)] = []
        let name: String
        let instruction: String
        do {
            name = String(decoding: try r.readString(), as: UTF8.self)
            instruction = String(decoding: try r.readString(), as: UTF8.self)
            _ = try r.readString()
            let count = try r.readUInt32()
            guard count <= Self.maximumPrompts else { throw malformed("USERAUTH_INFO_REQUEST") }
            for _ in 0..<count {
                let prompt = String(decoding: try r.readString(), as: UTF8.self)
                prompts.append((prompt, try r.readByte() != 0))
            }
        } catch let error as SSHProtocolError {
            throw error
        } catch {
            throw malformed("USERAUTH_INFO_REQUEST")
        }

        var answers: [SecureBytes]?
        if prompts.isEmpty {
            // OpenSSH's PAM conversation ends with an INFO_REQUEST without prompts; it
            // still needs an (empty) INFO_RESPONSE.
            answers = []
        } else if let source = self.keyboardInteractiveSource {
            answers = source(name, instruction, prompts)
        } else if let source = self.passwordSource, prompts.count == 1, !prompts[0].1,
            self.passwordTries < Self.maximumPasswordTries
        {
            self.passwordTries += 1
            answers = source(prompts[0].0).map { [$0] }
        }
        guard let answers, answers.count == prompts.count else {
            // RFC 4252 §5: a new request abandons the exchange in progress.
            self.keyboardInteractiveGivenUp = true
            return try self.nextRequest()
        }
        var w = SSHWireWriter()
        w.writeByte(UserAuthMessage.infoResponse)
        w.writeUInt32(UInt32(answers.count))
        for answer in answers { w.writeString(answer) }
        return w.take()
    }
}
