public import SSHCrypto

/// The kinds of SSH public key keysmith reads: every type OpenSSH 9.x reads.
///
/// keysmith generates Ed25519, RSA and ECDSA keys from software (`allCases`), and
/// security-key types through a FIDO authenticator. `ssh-dss` is read, listed and
/// removed only: OpenSSH no longer generates or accepts DSA keys by default.
public enum SSHKeyType: Sendable, Hashable, CustomStringConvertible {
    case ed25519
    case rsa
    case ecdsa(ECCurve)
    /// `sk-ssh-ed25519@openssh.com`: an Ed25519 key held by a FIDO security key.
    case skEd25519
    /// `sk-ecdsa-sha2-nistp256@openssh.com`: a P-256 key held by a FIDO security key.
    case skECDSA
    /// `ssh-dss`: legacy, never generated or used to log in.
    case dsa
    /// `*-cert-v01@openssh.com`: a certificate of a key of the given (plain) type (PROTOCOL.certkeys).
    indirect case certificate(SSHKeyType)

    /// The key types keysmith generates from software.
    public static let allCases: [SSHKeyType] = [.ed25519, .rsa, .ecdsa(.p256), .ecdsa(.p384), .ecdsa(.p521)]

    /// The plain (non-certificate) key types keysmith reads.
    public static let everyPlain: [SSHKeyType] = allCases + [.skEd25519, .skECDSA, .dsa]

    /// Every key type keysmith reads: the plain types and a certificate of each.
    ///
    /// Computed on each use rather than stored: a certificate type is an indirect case, and a
    /// global holding its boxes behind tagged pointers reads as a leak to LeakSanitizer.
    public static var everyReadable: [SSHKeyType] { everyPlain + everyPlain.map { .certificate($0) } }

    /// The key type name on the wire and in key lines (`ssh-ed25519`, `ssh-rsa`, `ecdsa-sha2-nistp256`,
    /// `sk-ssh-ed25519@openssh.com`, `ssh-ed25519-cert-v01@openssh.com`, …).
    public var sshName: String {
        switch self {
        case .ed25519: "ssh-ed25519"
        case .rsa: "ssh-rsa"
        case .ecdsa(let curve): "ecdsa-sha2-\(curve.sshIdentifier)"
        case .skEd25519: "sk-ssh-ed25519@openssh.com"
        case .skECDSA: "sk-ecdsa-sha2-nistp256@openssh.com"
        case .dsa: "ssh-dss"
        case .certificate(let plain): plain.certificateName
        }
    }

    /// The name of a certificate of a key of this (plain) type.
    private var certificateName: String {
        switch self {
        case .skEd25519: "sk-ssh-ed25519-cert-v01@openssh.com"
        case .skECDSA: "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com"
        case .certificate(let plain): plain.certificateName
        default: self.sshName + "-cert-v01@openssh.com"
        }
    }

    /// Looks a key type up by its wire name.
    public init?(sshName: some Collection<UInt8>) {
        guard sshName.count <= 64 else { return nil }
        let name = String(decoding: sshName, as: UTF8.self)
        guard let found = Self.byName[name] else { return nil }
        self = found.isCertificate ? .certificate(found.plain) : found.plain
    }

    /// Names to types; the certificate case is rebuilt on lookup so the table holds no indirect boxes.
    private static let byName: [String: (plain: SSHKeyType, isCertificate: Bool)] = Dictionary(
        uniqueKeysWithValues: everyPlain.flatMap { plain in
            [(plain.sshName, (plain, false)), (plain.certificateName, (plain, true))]
        }
    )

    /// The name ssh-keygen prints in parentheses and in randomart titles (`ED25519`, `RSA`, `ECDSA`,
    /// `ED25519-SK`, `ECDSA-SK`, `DSA`, and `-CERT` after any of them for a certificate).
    public var displayName: String {
        switch self {
        case .ed25519: "ED25519"
        case .rsa: "RSA"
        case .ecdsa: "ECDSA"
        case .skEd25519: "ED25519-SK"
        case .skECDSA: "ECDSA-SK"
        case .dsa: "DSA"
        case .certificate(let plain): plain.displayName + "-CERT"
        }
    }

    /// Whether this is a certificate type.
    public var isCertificate: Bool {
        if case .certificate = self { return true }
        return false
    }

    /// The type of the key a certificate certifies; a plain type itself.
    public var plainType: SSHKeyType {
        if case .certificate(let plain) = self { return plain.plainType }
        return self
    }

    /// Whether the key (or the certified key) lives on a FIDO security key.
    public var isSecurityKey: Bool {
        switch self.plainType {
        case .skEd25519, .skECDSA: true
        default: false
        }
    }

    /// Whether the type is legacy (`ssh-dss`): read, listed and removed, never generated or used.
    public var isLegacy: Bool { self.plainType == .dsa }

    public var description: String { self.sshName }
}
