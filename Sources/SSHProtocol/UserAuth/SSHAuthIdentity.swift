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

    /// The public key algorithm to use with `key` (RFC 8332 §3.3, RFC 8308 §3.1).
    ///
    /// RSA keys sign with rsa-sha2-512 or rsa-sha2-256 as the server's server-sig-algs
    /// allow, rsa-sha2-512 when the server sent no list, and SHA-1 `ssh-rsa` only when the
    /// server lists that and no SHA-2 variant. An RSA certificate takes the same choice under
    /// its certificate name (`rsa-sha2-512-cert-v01@openssh.com`, sshconnect2.c
    /// `key_sig_algorithm`, which matches the plain signature name against server-sig-algs).
    /// Other keys and certificates have one algorithm each. What is signed with is
    /// ``SSHAlgorithms/signatureAlgorithm(of:)`` of the answer.
    package static func signatureAlgorithm(for key: SSHPublicKey, serverAlgorithms: [String]?) -> String {
        switch key.type {
        case .rsa: return self.rsaSignatureAlgorithm(serverAlgorithms)
        case .certificate(.rsa): return self.rsaSignatureAlgorithm(serverAlgorithms) + "-cert-v01@openssh.com"
        default: return key.type.sshName
        }
    }

    private static func rsaSignatureAlgorithm(_ serverAlgorithms: [String]?) -> String {
        guard let listed = serverAlgorithms else { return "rsa-sha2-512" }
        if listed.contains("rsa-sha2-512") { return "rsa-sha2-512" }
        if listed.contains("rsa-sha2-256") { return "rsa-sha2-256" }
        if listed.contains("ssh-rsa") { return "ssh-rsa" }
        return "rsa-sha2-512"
    }

    /// The identity of a user certificate, signing through `holder`, the identity of the key
    /// it certifies (sshconnect2.c `sign_and_send_pubkey` looks for "a matching private key").
    package init(label: String, certificate: SSHPublicKey, signingWith holder: SSHAuthIdentity) {
        self.label = label
        self.publicKey = certificate
        self.sign = holder.sign
    }
}
