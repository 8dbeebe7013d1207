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
    /// asks for more work than the caps allow. Anything that is not an
    /// EncryptedPrivateKeyInfo passes: OpenSSL decides what it is.
    /// - Throws: `.unsupported`, with one sentence naming the parameter and the cap.
    package static func checkPKCS8(_ data: some Collection<UInt8>) throws(SSHKeyError) {
        let bytes = Array(data)
        if KeyFileKind.looksLikeDER(bytes) {
            try checkEncryptedPrivateKeyInfo(bytes[...])
            return
        }
        for block in pemBlocks(bytes) {
            guard let der = Base64.decode(block) else { continue }
            try checkEncryptedPrivateKeyInfo(der[...])
        }
    }

    /// The base64 bodies of the PEM blocks in `text` that have no headers (Proc-Type,
    /// DEK-Info: legacy PEM encryption derives its key with one MD5 pass, nothing to bound).
    static func pemBlocks(_ text: [UInt8]) -> [ArraySlice<UInt8>] {
        let begin = Array("-----BEGIN ".utf8)
        let end = Array("-----END ".utf8)
        var out: [ArraySlice<UInt8>] = []
        var rest = text[...]
        while let b = rest.firstRange(of: begin) {
            guard let lineEnd = rest[b.upperBound...].firstIndex(of: UInt8(ascii: "\n")) else { break }
            guard let e = rest[lineEnd...].firstRange(of: end) else { break }
            let body = rest[(lineEnd + 1)..<e.lowerBound]
            if !body.contains(UInt8(ascii: ":")) { out.append(body) }
            rest = rest[e.upperBound...]
        }
        return out
    }

    // DER object identifiers (contents octets only).
    /// 1.2.840.113549.1.5.13, PBES2 (RFC 8018 §A.4).
    static let pbes2: [UInt8] = [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x05, 0x0D]
    /// 1.2.840.113549.1.5.12, PBKDF2 (RFC 8018 §A.2).
    static let pbkdf2: [UInt8] = [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x05, 0x0C]
    /// 1.3.6.1.4.1.11591.4.11, id-scrypt (RFC 7914 §7).
    static let scrypt: [UInt8] = [0x2B, 0x06, 0x01, 0x04, 0x01, 0xDA, 0x47, 0x04, 0x0B]
    /// 1.2.840.113549.1.5, the PKCS#5 arc (PBES1's pbeWith… schemes live here).
    static let pkcs5Arc: [UInt8] = [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x05]
    /// 1.2.840.113549.1.12.1, PKCS#12's pbeWithSHAAnd… schemes (RFC 7292 §C).
    static let pkcs12PBEArc: [UInt8] = [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x0C, 0x01]

    /// RFC 5208 §6: EncryptedPrivateKeyInfo ::= SEQUENCE { encryptionAlgorithm
    /// AlgorithmIdentifier, encryptedData OCTET STRING }.
    static func checkEncryptedPrivateKeyInfo(_ der: ArraySlice<UInt8>) throws(SSHKeyError) {
        var outer = DERReader(der)
        guard var info = outer.read(0x30),
            var algorithm = info.read(0x30),
            let oid = algorithm.contents(0x06),
            info.read(0x04) != nil
        else { return }
        if oid.elementsEqual(pbes2) {
            // RFC 8018 §A.4: PBES2-params ::= SEQUENCE { keyDerivationFunc, encryptionScheme }.
            guard var params = algorithm.read(0x30), var kdf = params.read(0x30), let kdfOID = kdf.contents(0x06),
                var kdfParams = kdf.read(0x30)
            else { return }
            if kdfOID.elementsEqual(pbkdf2) {
                // §A.2: PBKDF2-params ::= SEQUENCE { salt CHOICE { OCTET STRING, AlgorithmIdentifier },
                // iterationCount INTEGER, keyLength INTEGER OPTIONAL, prf AlgorithmIdentifier DEFAULT }.
                guard kdfParams.skip() else { return }
                try checkIterations(kdfParams.readInteger(), "PBKDF2")
            } else if kdfOID.elementsEqual(scrypt) {
                // RFC 7914 §7.1: scrypt-params ::= SEQUENCE { salt OCTET STRING, costParameter,
                // blockSize, parallelizationParameter INTEGER, keyLength INTEGER OPTIONAL }.
                guard kdfParams.skip() else { return }
                try checkScrypt(n: kdfParams.readInteger(), r: kdfParams.readInteger(), p: kdfParams.readInteger())
            }
        } else if oid.starts(with: pkcs5Arc) || oid.starts(with: pkcs12PBEArc) {
            // RFC 8018 §A.3 and RFC 7292 §C: PBEParameter ::= SEQUENCE { salt OCTET STRING,
            // iterationCount INTEGER }.
            guard var params = algorithm.read(0x30), params.skip() else { return }
            try checkIterations(params.readInteger(), "password-based encryption")
        }
    }

    /// A DER INTEGER as read by ``DERReader/readInteger()``: nil when absent or not an
    /// integer, `.max` for anything beyond 63 bits, negative values as they are.
    static func checkIterations(_ count: Int?, _ what: String) throws(SSHKeyError) {
        guard let count else { return }
        guard count >= 1, count <= maximumIterations else {
            throw SSHKeyError(
                .unsupported,
                "the key's \(what) iteration count \(describe(count)) is outside 1 to \(maximumIterations); re-encrypt it with fewer"
            )
        }
    }

    static func checkScrypt(n: Int?, r: Int?, p: Int?) throws(SSHKeyError) {
        guard let n, let r, let p else { return }
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

/// Just enough DER (X.690 §8, §10) to walk an EncryptedPrivateKeyInfo: one-byte tags,
/// definite lengths. Any surprise ends the walk (nil) rather than throwing.
struct DERReader {
    private var bytes: ArraySlice<UInt8>

    init(_ bytes: ArraySlice<UInt8>) { self.bytes = bytes }

    /// A reader over the next element's contents when its tag is `tag`; the reader moves past it.
    mutating func read(_ tag: UInt8) -> DERReader? { self.contents(tag).map(DERReader.init) }

    /// The next element's contents when its tag is `tag`; the reader moves past it.
    mutating func contents(_ tag: UInt8) -> ArraySlice<UInt8>? {
        guard let (t, contents) = self.next(), t == tag else { return nil }
        return contents
    }

    /// Skips the next element, whatever it is.
    mutating func skip() -> Bool { self.next() != nil }

    /// X.690 §8.3: a two's complement INTEGER; `.max` when it does not fit 63 bits.
    mutating func readInteger() -> Int? {
        guard var value = self.contents(0x02), let first = value.first else { return nil }
        if first & 0x80 != 0 { return -1 }
        while value.first == 0 && value.count > 1 { value = value.dropFirst() }
        guard value.count <= 8, value.count < 8 || value.first! < 0x80 else { return .max }
        return value.reduce(0) { $0 << 8 | Int($1) }
    }

    private mutating func next() -> (UInt8, ArraySlice<UInt8>)? {
        var r = self.bytes
        guard let tag = r.popFirst(), tag & 0x1F != 0x1F, let first = r.popFirst() else { return nil }
        var length = Int(first)
        if first & 0x80 != 0 {
            let octets = Int(first & 0x7F)
            guard octets >= 1, octets <= 4, r.count >= octets else { return nil }
            length = r.prefix(octets).reduce(0) { $0 << 8 | Int($1) }
            r = r.dropFirst(octets)
        }
        guard length <= r.count else { return nil }
        self.bytes = r.dropFirst(length)
        return (tag, r.prefix(length))
    }
}
