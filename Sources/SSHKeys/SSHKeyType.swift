public import SSHCrypto

/// The kinds of SSH key keysmith works with.
public enum SSHKeyType: Sendable, Hashable, CustomStringConvertible {
    case ed25519
    case rsa
    case ecdsa(ECCurve)

    /// Every supported key type.
    public static let allCases: [SSHKeyType] = [.ed25519, .rsa, .ecdsa(.p256), .ecdsa(.p384), .ecdsa(.p521)]

    /// The key type name on the wire and in key lines (`ssh-ed25519`, `ssh-rsa`, `ecdsa-sha2-nistp256`).
    public var sshName: String {
        switch self {
        case .ed25519: "ssh-ed25519"
        case .rsa: "ssh-rsa"
        case .ecdsa(let curve): "ecdsa-sha2-\(curve.sshIdentifier)"
        }
    }

    /// Looks a key type up by its wire name.
    public init?(sshName: some Collection<UInt8>) {
        switch String(decoding: sshName, as: UTF8.self) {
        case "ssh-ed25519": self = .ed25519
        case "ssh-rsa": self = .rsa
        case "ecdsa-sha2-nistp256": self = .ecdsa(.p256)
        case "ecdsa-sha2-nistp384": self = .ecdsa(.p384)
        case "ecdsa-sha2-nistp521": self = .ecdsa(.p521)
        default: return nil
        }
    }

    /// The name ssh-keygen prints in parentheses and in randomart titles (`ED25519`, `RSA`, `ECDSA`).
    public var displayName: String {
        switch self {
        case .ed25519: "ED25519"
        case .rsa: "RSA"
        case .ecdsa: "ECDSA"
        }
    }

    public var description: String { self.sshName }
}
