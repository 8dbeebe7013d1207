import SSHCrypto

/// A signature in SSH wire form: an algorithm name and the signature bytes (RFC 4253 §6.6).
public struct SSHSignature: Sendable, Hashable {
    /// The signature algorithm: `ssh-ed25519`, `rsa-sha2-256`, `rsa-sha2-512`, `ssh-rsa` or `ecdsa-sha2-*`.
    public let algorithm: String
    /// The algorithm-specific bytes (for ECDSA: mpint r, mpint s).
    public let rawSignature: [UInt8]

    public init(algorithm: String, rawSignature: [UInt8]) {
        self.algorithm = algorithm
        self.rawSignature = rawSignature
    }

    /// `string algorithm, string signature`.
    public var wireEncoding: [UInt8] {
        var w = SSHWireWriter()
        w.writeString(self.algorithm)
        w.writeString(self.rawSignature)
        return w.bytes
    }

    /// Decodes `string algorithm, string signature` with nothing after it.
    public init(wireEncoding: some Collection<UInt8>) throws(SSHKeyError) {
        var r = SSHWireReader(Array(wireEncoding))
        self.algorithm = try r.readUTF8()
        self.rawSignature = Array(try r.readString())
        try r.expectEnd("the signature")
    }
}

/// The hash an RSA signature uses.
public enum RSASignatureHash: Sendable {
    /// `rsa-sha2-256`.
    case sha256
    /// `rsa-sha2-512`.
    case sha512

    var algorithmName: String { self == .sha256 ? "rsa-sha2-256" : "rsa-sha2-512" }
    var hash: HashFunction { self == .sha256 ? .sha256 : .sha512 }
}

extension SSHPrivateKey {
    /// Signs `data`: Ed25519, ECDSA with its curve's hash, RSA with `rsaHash` (rsa-sha2-512 by default).
    public func signature(
        for data: some Collection<UInt8>,
        rsaHash: RSASignatureHash = .sha512
    ) throws(SSHKeyError) -> SSHSignature {
        switch self.backing {
        case .ed25519(let seed, _):
            let sig = try wrapCrypto("signing") { () throws(CryptoError) in try Ed25519.sign(seed: seed, message: data)
            }
            return SSHSignature(algorithm: "ssh-ed25519", rawSignature: sig)
        case .rsa(let key):
            let sig = try wrapCrypto("signing") { () throws(CryptoError) in try key.sign(data, hash: rsaHash.hash) }
            return SSHSignature(algorithm: rsaHash.algorithmName, rawSignature: sig)
        case .ecdsa(let key):
            let (r, s) = try wrapCrypto("signing") { () throws(CryptoError) in try key.sign(data) }
            var w = SSHWireWriter()
            w.writeMPInt(r)
            w.writeMPInt(s)
            return SSHSignature(algorithm: self.type.sshName, rawSignature: w.bytes)
        }
    }
}

extension SSHPublicKey {
    /// Whether `signature` is a valid signature of `data` by this key. RSA accepts
    /// rsa-sha2-256, rsa-sha2-512 and (for old peers) ssh-rsa with SHA-1.
    public func isValidSignature(_ signature: SSHSignature, for data: some Collection<UInt8>) -> Bool {
        switch self.backing {
        case .ed25519(let pk):
            guard signature.algorithm == "ssh-ed25519", signature.rawSignature.count == 64 else { return false }
            return Ed25519.verify(publicKey: pk, signature: signature.rawSignature, message: data)
        case .rsa(let key):
            let hash: HashFunction
            switch signature.algorithm {
            case "rsa-sha2-256": hash = .sha256
            case "rsa-sha2-512": hash = .sha512
            case "ssh-rsa": hash = .sha1
            default: return false
            }
            return key.verify(signature.rawSignature, for: data, hash: hash)
        case .ecdsa(let key):
            guard signature.algorithm == self.type.sshName else { return false }
            var r = SSHWireReader(signature.rawSignature)
            guard let rr = try? r.readPositiveMPInt(), let ss = try? r.readPositiveMPInt(), r.isAtEnd else {
                return false
            }
            return key.verify(r: rr, s: ss, for: data)
        case .certificate(let certificate):
            // A certificate signs as the key it certifies.
            return certificate.key.isValidSignature(signature, for: data)
        case .skEd25519, .skECDSA, .dsa:
            return false
        }
    }
}
