package import SSHCrypto
package import SSHKeys

/// What ssh-agent is asked to keep with a key it is given (draft-miller-ssh-agent §3.2.6,
/// OpenSSH's PROTOCOL.agent and authfd.c's encode_constraints).
package struct SSHAgentConstraints: Sendable {
    /// Seconds the agent keeps the key (SSH_AGENT_CONSTRAIN_LIFETIME); nil for ever.
    package var lifetime: UInt32?
    /// The agent asks the user before each use of the key (SSH_AGENT_CONSTRAIN_CONFIRM).
    package var confirm: Bool
    /// The security key provider the agent signs through (the sk-provider@openssh.com
    /// extension), for security keys only.
    package var securityKeyProvider: String?

    package init(lifetime: UInt32? = nil, confirm: Bool = false, securityKeyProvider: String? = nil) {
        self.lifetime = lifetime
        self.confirm = confirm
        self.securityKeyProvider = securityKeyProvider
    }

    /// Whether any constraint is set, so the key goes in SSH_AGENTC_ADD_ID_CONSTRAINED.
    var isEmpty: Bool { self.lifetime == nil && !self.confirm && self.securityKeyProvider == nil }

    /// encode_constraints: byte 1 + uint32 seconds; byte 2; byte 255 + string name + string provider.
    func write(to w: inout SSHWireWriter) {
        if let lifetime = self.lifetime {
            w.writeByte(1)
            w.writeUInt32(lifetime)
        }
        if self.confirm { w.writeByte(2) }
        if let provider = self.securityKeyProvider {
            w.writeByte(255)
            w.writeString("sk-provider@openssh.com")
            w.writeString(provider)
        }
    }
}

/// One key an agent holds, as SSH2_AGENT_IDENTITIES_ANSWER lists it.
package struct SSHAgentIdentity: Sendable {
    package var publicKey: SSHPublicKey
    package var comment: String
}

/// The messages that manage an agent's keys, as ssh-add sends them (authfd.c).
extension SSHAgentClient {
    /// OpenSSH's MAX_AGENT_IDENTITIES: a longer list is malformed.
    static let maximumIdentities: UInt32 = 2048

    /// The agent's keys (SSH_AGENTC_REQUEST_IDENTITIES) as ssh_fetch_identitylist reads them:
    /// keys of types keysmith does not know are skipped; anything else malformed fails.
    /// - Throws: `.agentRefused` for SSH_AGENT_FAILURE, `.protocolViolation` for a malformed
    ///   answer, `.connectionFailed` when the agent cannot be talked to.
    package func listIdentities() throws(SSHProtocolError) -> [SSHAgentIdentity] {
        let reply = try self.request([Message.requestIdentities])
        try Self.checkNotFailure(reply)
        guard reply.first == Message.identitiesAnswer else {
            throw self.malformed("answered the key list with another message")
        }
        var r = SSHWireReader(reply.dropFirst())
        var out: [SSHAgentIdentity] = []
        do {
            let count = try r.readUInt32()
            guard count <= Self.maximumIdentities else { throw self.malformed("lists \(count) keys") }
            for _ in 0..<count {
                let blob = try r.readString()
                let comment = try r.readString()
                // sshbuf_get_cstring refuses a NUL inside a string.
                guard !comment.contains(0) else { throw self.malformed("sent a comment holding a NUL byte") }
                var typeReader = SSHWireReader(blob)
                guard let name = try? typeReader.readString(), SSHKeyType(sshName: name) != nil else { continue }
                guard let key = try? SSHPublicKey(wireBlob: blob) else { throw self.malformed("sent a malformed key") }
                out.append(SSHAgentIdentity(publicKey: key, comment: String(decoding: comment, as: UTF8.self)))
            }
        } catch let error as SSHProtocolError {
            throw error
        } catch {
            throw self.malformed("sent a malformed key list")
        }
        return out
    }

    /// Gives the agent a private key, with its certificate when `certificate` is given
    /// (SSH_AGENTC_ADD_IDENTITY, or SSH_AGENTC_ADD_ID_CONSTRAINED with `constraints`).
    /// The message, which holds the private key, is built in wiped storage.
    package func addIdentity(
        _ key: SSHPrivateKey,
        certificate: SSHCertificate? = nil,
        comment: String,
        constraints: SSHAgentConstraints = SSHAgentConstraints()
    ) throws(SSHProtocolError) {
        var w = SSHWireWriter(capacity: 8192)
        w.writeByte(constraints.isEmpty ? Message.addIdentity : Message.addIdentityConstrained)
        if let certificate {
            key.writePrivateFields(certifiedBy: certificate, to: &w)
        } else {
            key.writePrivateFields(to: &w)
        }
        w.writeString(comment)
        constraints.write(to: &w)
        let message = w.takeSecure()
        let reply = try message.withUnsafeBytes { body in
            Result { () throws(SSHProtocolError) in try self.request(body) }
        }.get()
        try self.checkSuccess(reply)
    }

    /// Asks the agent to forget one key (SSH_AGENTC_REMOVE_IDENTITY).
    package func removeIdentity(_ key: SSHPublicKey) throws(SSHProtocolError) {
        var w = SSHWireWriter()
        w.writeByte(Message.removeIdentity)
        w.writeString(key.wireBlob)
        try self.checkSuccess(try self.request(w.bytes))
    }

    /// Asks the agent to forget every key (SSH_AGENTC_REMOVE_ALL_IDENTITIES); as ssh-add,
    /// the protocol 1 request follows, and its answer is ignored.
    package func removeAllIdentities() throws(SSHProtocolError) {
        var failure: SSHProtocolError?
        do {
            try self.checkSuccess(try self.request([Message.removeAllIdentities]))
        } catch {
            failure = error
        }
        _ = try? self.request([Message.removeAllV1])
        if let failure { throw failure }
    }

    /// Locks (SSH_AGENTC_LOCK) or unlocks (SSH_AGENTC_UNLOCK) the agent with `password`.
    package func setLocked(_ lock: Bool, password: SecureBytes) throws(SSHProtocolError) {
        var w = SSHWireWriter()
        w.writeByte(lock ? Message.lock : Message.unlock)
        w.writeString(password)
        let message = w.takeSecure()
        let reply = try message.withUnsafeBytes { body in
            Result { () throws(SSHProtocolError) in try self.request(body) }
        }.get()
        try self.checkSuccess(reply)
    }

    /// authfd.c's agent_failed: SSH_AGENT_FAILURE, SSH2_AGENT_FAILURE or SSH_COM_AGENT2_FAILURE.
    private static func checkNotFailure(_ reply: [UInt8]) throws(SSHProtocolError) {
        if let type = reply.first, type == 5 || type == 30 || type == 102 {
            throw SSHProtocolError(.agentRefused, "agent refused operation")
        }
    }

    /// decode_reply: SSH_AGENT_SUCCESS, a refusal, or a malformed answer.
    private func checkSuccess(_ reply: [UInt8]) throws(SSHProtocolError) {
        try Self.checkNotFailure(reply)
        guard reply.first == Message.success else { throw self.malformed("answered with another message") }
    }

    private func malformed(_ what: String) -> SSHProtocolError {
        SSHProtocolError(.protocolViolation, "ssh-agent at \(self.path) \(what)")
    }
}
