import SSHKeys

/// Algorithm preferences for one connection, each list in order of preference.
public struct SSHAlgorithms: Sendable, Hashable {
    public var keyExchange: [String]
    public var hostKey: [String]
    public var ciphers: [String]
    public var macs: [String]

    public init(keyExchange: [String], hostKey: [String], ciphers: [String], macs: [String]) {
        self.keyExchange = keyExchange
        self.hostKey = hostKey
        self.ciphers = ciphers
        self.macs = macs
    }

    // OpenSSH 9.2's myproposal.h (KEX_CLIENT_KEX, KEX_DEFAULT_PK_ALG, KEX_CLIENT_ENCRYPT,
    // KEX_CLIENT_MAC) in its order, keeping only what keysmith implements.

    /// The key exchange methods keysmith implements, in OpenSSH's default order.
    public static let supportedKeyExchange = [
        "curve25519-sha256",
        "curve25519-sha256@libssh.org",
        "ecdh-sha2-nistp256",
        "ecdh-sha2-nistp384",
        "ecdh-sha2-nistp521",
        "diffie-hellman-group-exchange-sha256",
        "diffie-hellman-group16-sha512",
        "diffie-hellman-group18-sha512",
        "diffie-hellman-group14-sha256",
    ]

    /// The host key (signature) algorithms keysmith implements, in OpenSSH's default order.
    public static let supportedHostKey = [
        "ssh-ed25519",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "rsa-sha2-512",
        "rsa-sha2-256",
    ]

    /// The host certificate algorithms keysmith implements, in OpenSSH's default order
    /// (PROTOCOL.certkeys). A client offers them first for a host that has a matching
    /// `@cert-authority` line in known_hosts (``HostKeyPolicy/orderingHostKeyAlgorithms(_:)``),
    /// or when `HostKeyAlgorithms` names them.
    public static let supportedHostCertificate = [
        "ssh-ed25519-cert-v01@openssh.com",
        "ecdsa-sha2-nistp256-cert-v01@openssh.com",
        "ecdsa-sha2-nistp384-cert-v01@openssh.com",
        "ecdsa-sha2-nistp521-cert-v01@openssh.com",
        "rsa-sha2-512-cert-v01@openssh.com",
        "rsa-sha2-256-cert-v01@openssh.com",
    ]

    /// ssh's default PubkeyAcceptedAlgorithms: OpenSSH 9.2's myproposal.h `KEX_DEFAULT_PK_ALG`,
    /// in its order. keysmith signs with every one of them (security keys through their
    /// authenticator), so none is left out.
    public static let defaultPublicKey = [
        "ssh-ed25519-cert-v01@openssh.com",
        "ecdsa-sha2-nistp256-cert-v01@openssh.com",
        "ecdsa-sha2-nistp384-cert-v01@openssh.com",
        "ecdsa-sha2-nistp521-cert-v01@openssh.com",
        "sk-ssh-ed25519-cert-v01@openssh.com",
        "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
        "rsa-sha2-512-cert-v01@openssh.com",
        "rsa-sha2-256-cert-v01@openssh.com",
        "ssh-ed25519",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
        "rsa-sha2-512",
        "rsa-sha2-256",
    ]

    /// What a PubkeyAcceptedAlgorithms list may name: the defaults and SHA-1 RSA, plain and
    /// certified, in the order of ssh's `sshkey_alg_list` (sshkey.c `keyimpls`), which is the
    /// order a pattern selects them in; less DSA and webauthn, which keysmith cannot sign with.
    public static let supportedPublicKey = [
        "ssh-ed25519",
        "ssh-ed25519-cert-v01@openssh.com",
        "sk-ssh-ed25519@openssh.com",
        "sk-ssh-ed25519-cert-v01@openssh.com",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp256-cert-v01@openssh.com",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp384-cert-v01@openssh.com",
        "ecdsa-sha2-nistp521",
        "ecdsa-sha2-nistp521-cert-v01@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
        "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
        "ssh-rsa",
        "ssh-rsa-cert-v01@openssh.com",
        "rsa-sha2-256",
        "rsa-sha2-256-cert-v01@openssh.com",
        "rsa-sha2-512",
        "rsa-sha2-512-cert-v01@openssh.com",
    ]

    /// The signature algorithm a key algorithm signs with: a certificate algorithm signs as
    /// the key it certifies (`rsa-sha2-512-cert-v01@openssh.com` with `rsa-sha2-512`,
    /// `sk-ssh-ed25519-cert-v01@openssh.com` with `sk-ssh-ed25519@openssh.com`; sshkey.c
    /// `sshkey_sigalg_by_name`); any other algorithm is its own.
    public static func signatureAlgorithm(of keyAlgorithm: String) -> String {
        let suffix = "-cert-v01@openssh.com"
        guard keyAlgorithm.hasSuffix(suffix) else { return keyAlgorithm }
        let plain = String(keyAlgorithm.dropLast(suffix.count))
        return plain.hasPrefix("sk-") ? plain + "@openssh.com" : plain
    }

    /// The transport ciphers keysmith implements, in OpenSSH's default order.
    public static let supportedCiphers = [
        "chacha20-poly1305@openssh.com",
        "aes128-ctr",
        "aes192-ctr",
        "aes256-ctr",
        "aes128-gcm@openssh.com",
        "aes256-gcm@openssh.com",
    ]

    /// The MACs keysmith implements, in OpenSSH's default order (encrypt-then-MAC first).
    public static let supportedMACs = [
        "hmac-sha2-256-etm@openssh.com",
        "hmac-sha2-512-etm@openssh.com",
        "hmac-sha2-256",
        "hmac-sha2-512",
    ]

    /// Everything keysmith implements, in OpenSSH's default client order.
    public static var clientDefaults: SSHAlgorithms {
        SSHAlgorithms(
            keyExchange: Self.supportedKeyExchange,
            hostKey: Self.supportedHostKey,
            ciphers: Self.supportedCiphers,
            macs: Self.supportedMACs
        )
    }

    /// Applies an ssh_config algorithm list (`KexAlgorithms=…`): a plain list replaces,
    /// `+list` appends, `-list` removes, `^list` puts first; patterns with `*`/`?` allowed.
    ///
    /// As OpenSSH's `kex_assemble_names`: names and patterns select from `supported` in its
    /// order, a name already in the result is not added twice, and names that select nothing
    /// are dropped.
    /// - Throws: `.invalidConfiguration` when the result is empty or names nothing we support,
    ///   or when a pattern is negated (`!name`), which ssh_config does not allow here.
    public static func applying(
        _ spec: String,
        to current: [String],
        supported: [String]
    ) throws(SSHProtocolError) -> [String] {
        let trimmed = spec.trimmingASCIIWhitespace()
        guard let first = trimmed.first else {
            throw SSHProtocolError(.invalidConfiguration, "the algorithm list is empty")
        }
        let rest = String(trimmed.dropFirst())
        let list: [String]
        switch first {
        case "+":
            list = current + Self.names(rest)
        case "-":
            let patterns = Self.names(rest)
            let kept = current.filter { name in
                !patterns.contains { HostPattern.matches(name.utf8, glob: $0.utf8) }
            }
            guard !kept.isEmpty else {
                throw SSHProtocolError(.invalidConfiguration, "\"\(spec)\" leaves no algorithm")
            }
            return kept
        case "^":
            list = Self.names(rest) + current
        default:
            list = Self.names(String(trimmed))
        }
        var result: [String] = []
        for pattern in list {
            guard !pattern.hasPrefix("!") else {
                throw SSHProtocolError(.invalidConfiguration, "negated algorithm \"\(pattern)\" is not allowed")
            }
            for name in supported where HostPattern.matches(name.utf8, glob: pattern.utf8) {
                if !result.contains(name) { result.append(name) }
            }
        }
        guard !result.isEmpty else {
            throw SSHProtocolError(.invalidConfiguration, "\"\(spec)\" names no algorithm keysmith supports")
        }
        return result
    }

    private static func names(_ list: String) -> [String] {
        list.split(separator: ",", omittingEmptySubsequences: true).map { String($0) }
    }
}

extension String {
    fileprivate func trimmingASCIIWhitespace() -> Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let start = self.firstIndex(where: { !isSpace($0) }),
            let end = self.lastIndex(where: { !isSpace($0) })
        else { return "" }
        return self[start...end]
    }
}
