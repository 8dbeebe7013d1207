import SSHCrypto
package import SSHKeys

/// One key the client can prove it holds: a loaded private key or a key held by ssh-agent.
///
/// The user authentication state machine only needs the public key and a way to sign, so
/// a key file and an agent look the same to it.
package struct SSHAuthIdentity {
    /// How the key is named in messages: a file path, or `agent: COMMENT`.
    package var label: String
    package var publicKey: SSHPublicKey
    /// Signs data with the named signature algorithm (`ssh-ed25519`, `rsa-sha2-512`, …).
    package var sign: (_ data: [UInt8], _ algorithm: String) throws(SSHProtocolError) -> SSHSignature

    package init(
        label: String,
        publicKey: SSHPublicKey,
        sign: @escaping (_ data: [UInt8], _ algorithm: String) throws(SSHProtocolError) -> SSHSignature
    ) {
        self.label = label
        self.publicKey = publicKey
        self.sign = sign
    }

    /// An identity backed by a private key in memory.
    package init(label: String, privateKey: SSHPrivateKey) {
        self.label = label
        self.publicKey = privateKey.publicKey
        self.sign = { (data, algorithm) throws(SSHProtocolError) in
            try Self.sign(data, with: privateKey, algorithm: algorithm, label: label)
        }
    }

    /// An identity that signs through `signer` (a security key signs on its authenticator).
    ///
    /// Its one algorithm is the key's (`sk-ssh-ed25519@openssh.com`, …); the signature
    /// carries what the signer made, a security key's flags and counter included (PROTOCOL.u2f).
    package init(label: String, signer: SSHKeySigner) {
        self.label = label
        self.publicKey = signer.publicKey
        self.sign = { (data, algorithm) throws(SSHProtocolError) in
            do throws(SSHKeyError) {
                return try signer.sign(data)
            } catch {
                throw SSHProtocolError(.cryptoFailure, "cannot sign with \(label): \(error.message)")
            }
        }
    }

    private static func sign(
        _ data: [UInt8],
        with key: SSHPrivateKey,
        algorithm: String,
        label: String
    ) throws(SSHProtocolError) -> SSHSignature {
        do {
            switch (key.backing, algorithm) {
            case (.rsa(let rsa), "ssh-rsa"):
                // RFC 8332 §3: SHA-1 only for a server that accepts nothing newer.
                let raw = try wrapCrypto("signing") { () throws(CryptoError) in try rsa.sign(data, hash: .sha1) }
                return SSHSignature(algorithm: "ssh-rsa", rawSignature: raw)
            case (.rsa, "rsa-sha2-256"):
                return try key.signature(for: data, rsaHash: .sha256)
            case (.rsa, _):
                return try key.signature(for: data, rsaHash: .sha512)
            default:
                return try key.signature(for: data)
            }
        } catch {
            throw SSHProtocolError(.cryptoFailure, "cannot sign with \(label): \(error.message)")
        }
    }

    /// The public key algorithm to use with `key` (RFC 8332 §3.3, RFC 8308 §3.1), as
    /// sshconnect2.c `key_sig_algorithm` picks it from PubkeyAcceptedAlgorithms (`accepted`);
    /// nil when there is none ("no mutual signature algorithm": the key is not offered).
    ///
    /// An RSA key or certificate, when the server sent server-sig-algs, takes the first
    /// entry of `accepted` of its type (`rsa-sha2-512`, `rsa-sha2-256`, `ssh-rsa`, or their
    /// certificate names) whose signature algorithm the server lists. Any other key, and an
    /// RSA key when the server sent no list, takes its own name (`ssh-rsa` for RSA) if
    /// `accepted` holds it. What is signed with is ``SSHAlgorithms/signatureAlgorithm(of:)``
    /// of the answer.
    package static func signatureAlgorithm(
        for key: SSHPublicKey,
        serverAlgorithms: [String]?,
        accepted: [String] = SSHAlgorithms.defaultPublicKey
    ) -> String? {
        let isRSA = key.type == .rsa || key.type == .certificate(.rsa)
        guard let listed = serverAlgorithms, isRSA else {
            return accepted.contains(key.type.sshName) ? key.type.sshName : nil
        }
        return accepted.first { name in
            Self.rsaKeyType(of: name) == key.type && listed.contains(SSHAlgorithms.signatureAlgorithm(of: name))
        }
    }

    /// sshkey.c `sshkey_type_from_name` for the RSA names: the key type an algorithm is for.
    private static func rsaKeyType(of algorithm: String) -> SSHKeyType? {
        switch algorithm {
        case "ssh-rsa", "rsa-sha2-256", "rsa-sha2-512": .rsa
        case "ssh-rsa-cert-v01@openssh.com", "rsa-sha2-256-cert-v01@openssh.com",
            "rsa-sha2-512-cert-v01@openssh.com":
            .certificate(.rsa)
        default: nil
        }
    }

    /// Whether PubkeyAcceptedAlgorithms (`accepted`) lets `key` be offered at all
    /// (sshconnect2.c `key_type_allowed_by_config`): its own name is listed, or for RSA a
    /// SHA-2 signature algorithm of its type.
    package static func isAllowed(_ key: SSHPublicKey, accepted: [String]) -> Bool {
        if accepted.contains(key.type.sshName) { return true }
        switch key.type {
        case .rsa: return accepted.contains("rsa-sha2-512") || accepted.contains("rsa-sha2-256")
        case .certificate(.rsa):
            return accepted.contains("rsa-sha2-512-cert-v01@openssh.com")
                || accepted.contains("rsa-sha2-256-cert-v01@openssh.com")
        default: return false
        }
    }

    /// The identity of a user certificate, signing through `holder`, the identity of the key
    /// it certifies (sshconnect2.c `sign_and_send_pubkey` looks for "a matching private key").
    package init(label: String, certificate: SSHPublicKey, signingWith holder: SSHAuthIdentity) {
        self.label = label
        self.publicKey = certificate
        self.sign = holder.sign
    }
}
