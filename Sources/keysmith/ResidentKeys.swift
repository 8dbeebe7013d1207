import CommandLineText
import SSHConnect
import SSHCrypto
import SSHKeys
import SecurityKey

/// A resident key read back from an authenticator, as ssh-keygen -K saves it: the private
/// key file (the key handle and the application) named after its type, application and user.
struct DownloadedResidentKey {
    /// The key, its comment the application (ssh-keygen -K saves it so).
    let key: SSHPrivateKey
    /// `id_ed25519_sk_rk` or `id_ecdsa_sk_rk`, then `_` and ``suffix`` when that is not empty.
    let fileName: String
    /// The application without `ssh:` or `ssh://`, then `_` and the user ID when one is set.
    let suffix: String

    /// The keys of `resident` that SSH uses, in the authenticator's order: applications
    /// starting `ssh:` (ssh-sk.c sshsk_load_resident skips the others, a website's passkeys).
    static func keys(_ resident: [SecurityKeyResidentKey]) throws -> [DownloadedResidentKey] {
        try resident.filter { $0.application.hasPrefix("ssh:") }.map { rk in
            let type: SSHKeyType = rk.enrollment.algorithm == .ed25519 ? .skEd25519 : .skECDSA
            let credential = SecurityKeyCredential(
                application: Array(rk.application.utf8),
                flags: SecurityKeyCredential.Flags(rawValue: rk.enrollment.flags.rawValue),
                keyHandle: SecureBytes(rk.enrollment.keyHandle)
            )
            let key = try SSHPrivateKey(
                securityKey: type,
                publicKey: rk.enrollment.publicKey,
                credential: credential,
                comment: rk.application
            )
            let suffix = Self.suffix(application: rk.application, userID: rk.userID)
            let base = type == .skEd25519 ? "id_ed25519_sk_rk" : "id_ecdsa_sk_rk"
            return DownloadedResidentKey(
                key: key,
                fileName: suffix.isEmpty ? base : base + "_" + suffix,
                suffix: suffix
            )
        }
    }

    /// ssh-keygen.c sk_suffix: the application without its `ssh://` or `ssh:`, and when the
    /// user ID is not all zeros, `_` (when the application is not empty) and the user ID
    /// without its trailing zeros as asmprintf's `%.*s` shows it (up to a NUL in it, what
    /// the locale cannot print escaped); in hexadecimal when that holds `/`, `..` or `\`
    /// (so also when anything was escaped).
    static func suffix(application: String, userID: [UInt8]) -> String {
        var name = application
        if name.hasPrefix("ssh://") {
            name.removeFirst(6)
        } else if name.hasPrefix("ssh:") {
            name.removeFirst(4)
        }
        guard let last = userID.lastIndex(where: { $0 != 0 }) else { return name }
        let user = userID[...last]
        var text = ""
        appendEscapedForTerminal(user, to: &text)
        let digits = Array("0123456789abcdef")
        let shown =
            text.contains("/") || text.contains("..") || text.contains("\\")
            ? String(user.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0x0F)]] }) : text
        // xextendf: no separator after an empty application.
        return name.isEmpty ? shown : name + "_" + shown
    }
}
