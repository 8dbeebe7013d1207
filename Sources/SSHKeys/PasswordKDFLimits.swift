internal import SSHCrypto

/// Upper bounds on the work a key file may ask for when its passphrase is turned into a key.
///
/// An encrypted key file names its own key derivation cost: bcrypt_pbkdf rounds in
/// openssh-key-v1, PBKDF2 iterations or scrypt parameters in PKCS#8 (PKCS#5 PBES2,
/// RFC 8018 §6.2 and RFC 7914 §7). Neither ssh-keygen nor OpenSSL bounds the CPU time
/// that costs, so a hostile file could keep `keysmith` busy for hours. These caps are far
/// above what any tool writes by default; docs/security.md compares them.
public enum PasswordKDFLimits {
    /// bcrypt_pbkdf rounds in openssh-key-v1 (ssh-keygen writes 16, or 24 since 9.4;
    /// `-a 100` is the common advice). About 9 s of ssh-keygen's time on a slow core.
    public static let maximumBcryptRounds = 1024
    /// PBKDF2 iterations, and the iterations of PKCS#5 v1.5 / PKCS#12 PBE (OpenSSL and
    /// ssh-keygen write 2048; OWASP's 2023 advice is 600,000 for HMAC-SHA-256).
    public static let maximumIterations = 10_000_000
    /// scrypt's memory, 128·r·(N + p) bytes: OpenSSL's own decoding limit (SCRYPT_MAX_MEM).
    public static let maximumScryptMemory = 32 << 20
    /// scrypt's work, N·r·p (`openssl pkcs8 -scrypt` writes N = 16384, r = 8, p = 1: 2^17).
    public static let maximumScryptWork = 1 << 22

    /// Throws when an encrypted PKCS#8 key in `data` (PEM, any number of blocks, or DER)
    /// asks for more work than the caps allow, or names KDF parameters that cannot be read.
    ///
    /// The parameters come from OpenSSL's own parse of the structure
    /// (``PKCS8KDFParameters/find(in:)``), so every encoding OpenSSL would go on to decrypt
    /// (BER indefinite lengths, long length fields) is bounded too; anything that is not
    /// an EncryptedPrivateKeyInfo passes: OpenSSL decides what it is.
    /// - Throws: `.unsupported`, with one sentence naming the parameter and the cap.
    package static func checkPKCS8(_ data: some Collection<UInt8>) throws(SSHKeyError) {
        for parameters in PKCS8KDFParameters.find(in: data) {
            switch parameters {
            case .pbkdf2(let iterations): try checkIterations(iterations, "PBKDF2")
            case .scrypt(let n, let r, let p): try checkScrypt(n: n, r: r, p: p)
            case .pbe(let iterations): try checkIterations(iterations, "password-based encryption")
            case .unreadable(let what):
                throw SSHKeyError(
                    .unsupported,
                    "the key is encrypted PKCS#8 but \(what), so the work it asks for is unknown; re-encrypt it with openssl pkcs8 -topk8"
                )
            }
        }
    }

    /// An iteration count as OpenSSL reads it: `.max` for anything beyond 63 bits,
    /// negative values as they are.
    static func checkIterations(_ count: Int, _ what: String) throws(SSHKeyError) {
        guard count >= 1, count <= maximumIterations else {
            throw SSHKeyError(
                .unsupported,
                "the key's \(what) iteration count \(describe(count)) is outside 1 to \(maximumIterations); re-encrypt it with fewer"
            )
        }
    }

    static func checkScrypt(n: Int, r: Int, p: Int) throws(SSHKeyError) {
        let (nr, o1) = n.multipliedReportingOverflow(by: r)
        let (work, o2) = nr.multipliedReportingOverflow(by: p)
        let (np, o3) = n.addingReportingOverflow(p)
        let (memory, o4) = np.multipliedReportingOverflow(by: 128 &* max(r, 0))
        guard n >= 2, r >= 1, p >= 1, !o1, !o2, !o3, !o4, r <= maximumScryptMemory / 128,
            work <= maximumScryptWork, memory <= maximumScryptMemory
        else {
            throw SSHKeyError(
                .unsupported,
                "the key's scrypt parameters (N \(describe(n)), r \(describe(r)), p \(describe(p))) ask for more than N·r·p ≤ \(maximumScryptWork) and \(maximumScryptMemory >> 20) MiB; re-encrypt it with smaller ones"
            )
        }
    }

    private static func describe(_ value: Int) -> String { value == .max ? "beyond 2^63" : String(value) }
}
