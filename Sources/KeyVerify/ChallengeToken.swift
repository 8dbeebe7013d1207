import SSHCrypto
import SSHKeys

/// A challenge issued by a ``ChallengeVerifier``: a random nonce, a lifetime and the
/// audience (the verifier's name or URL) it is for, authenticated with the verifier's secret.
///
/// Wire layout, then base64url without padding (RFC 4648 §5):
///
///     byte[1]   version (2)
///     byte[32]  nonce, random
///     uint64    issued at, seconds since the epoch, big-endian
///     uint64    expires at, seconds since the epoch, big-endian
///     byte      audience length, 1 to 255
///     byte[n]   audience, printable ASCII without spaces
///     byte[32]  HMAC-SHA256(secret, all of the above)
///
/// The response signs the token's text, so the audience is inside the signed data: a user
/// who answers only tokens for the verifier they mean to talk to (`respond --audience`)
/// cannot be made to answer, through another verifier, a token someone else issued.
/// Version 1 tokens, which named no audience, are refused.
///
/// The token carries everything needed to check it, so a verifier keeps no record of the
/// tokens it issued, only of those already used (see ``ChallengeVerifier``).
public struct ChallengeToken: Sendable, Hashable, CustomStringConvertible {
    /// The random nonce.
    public let nonce: [UInt8]
    /// When the token was issued, in seconds since the epoch.
    public let issuedAt: Int64
    /// When the token stops being accepted, in seconds since the epoch.
    public let expiresAt: Int64
    /// The verifier the token is for: a name or URL, printable ASCII without spaces.
    public let audience: String
    /// The MAC over the other fields.
    let mac: [UInt8]
    /// The token as printed and as signed: base64url text.
    public let text: String

    static let version: UInt8 = 2
    static let nonceSize = 32
    static let macSize = 32
    /// The most bytes an audience may have.
    public static let maximumAudienceLength = 255

    /// The authenticated part of the token.
    static func body(nonce: [UInt8], issuedAt: Int64, expiresAt: Int64, audience: String) -> [UInt8] {
        var out: [UInt8] = [version]
        out += nonce
        out += bigEndian(UInt64(bitPattern: issuedAt))
        out += bigEndian(UInt64(bitPattern: expiresAt))
        out.append(UInt8(truncatingIfNeeded: audience.utf8.count))
        out += audience.utf8
        return out
    }

    init(nonce: [UInt8], issuedAt: Int64, expiresAt: Int64, audience: String, mac: [UInt8]) {
        self.nonce = nonce
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.audience = audience
        self.mac = mac
        self.text = Base64URL.encode(
            Self.body(nonce: nonce, issuedAt: issuedAt, expiresAt: expiresAt, audience: audience) + mac
        )
    }

    /// Whether `audience` can name a verifier: 1 to 255 bytes of printable ASCII, no spaces.
    public static func isValidAudience(_ audience: some StringProtocol) -> Bool {
        let bytes = audience.utf8
        return !bytes.isEmpty && bytes.count <= Self.maximumAudienceLength
            && bytes.allSatisfy { $0 > 0x20 && $0 < 0x7F }
    }

    /// Decodes a token's text. Whether it is genuine is for ``ChallengeVerifier`` to say.
    ///
    /// Leading and trailing white space is ignored.
    /// - Throws: ``KeyVerifyError/Code/malformedToken``, also for a version 1 token (it
    ///   names no audience).
    public init(text: some StringProtocol) throws(KeyVerifyError) {
        let trimmed = text.utf8.drop(while: isSpace).reversed().drop(while: isSpace).reversed()
        let fixed = 1 + Self.nonceSize + 16
        guard let bytes = Base64URL.decode(Array(trimmed)), bytes.count > fixed + 1 else {
            throw KeyVerifyError(.malformedToken, "the token is not a keysmith challenge token")
        }
        guard bytes[0] == Self.version else {
            throw KeyVerifyError(
                .malformedToken,
                bytes[0] == 1 && bytes.count == fixed + Self.macSize
                    ? "the token names no audience (an older keysmith issued it); ask for a new one"
                    : "the token is not a keysmith challenge token"
            )
        }
        let length = Int(bytes[fixed])
        let audience = bytes[(fixed + 1)...].prefix(length)
        guard audience.count == length, bytes.count == fixed + 1 + length + Self.macSize,
            let audienceText = String(validating: audience, as: UTF8.self), Self.isValidAudience(audienceText)
        else {
            throw KeyVerifyError(.malformedToken, "the token is not a keysmith challenge token")
        }
        self.init(
            nonce: Array(bytes[1...Self.nonceSize]),
            issuedAt: Int64(bitPattern: readBigEndian(bytes[(1 + Self.nonceSize)...])),
            expiresAt: Int64(bitPattern: readBigEndian(bytes[(9 + Self.nonceSize)...])),
            audience: audienceText,
            mac: Array(bytes.suffix(Self.macSize))
        )
        // Only the canonical encoding: one token, one text, one thing to sign.
        guard self.text.utf8.elementsEqual(trimmed) else {
            throw KeyVerifyError(.malformedToken, "the token is not a keysmith challenge token")
        }
    }

    /// The bytes a response signs: the token's text in UTF-8.
    public var signedBytes: [UInt8] { Array(self.text.utf8) }

    public var description: String { self.text }
}

private func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D }

private func bigEndian(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (56 - 8 * $0)) } }

private func readBigEndian(_ bytes: ArraySlice<UInt8>) -> UInt64 {
    bytes.prefix(8).reduce(0) { $0 << 8 | UInt64($1) }
}

/// base64url without padding (RFC 4648 §5), over SSHKeys' base64.
enum Base64URL {
    static func encode(_ bytes: [UInt8]) -> String {
        // On UTF-8 bytes, not Characters: mapping Characters costs a grapheme break per
        // character, which made parsing a token cost as much as recording it as used.
        var text = Array(Base64.encode(bytes).utf8)
        while text.last == UInt8(ascii: "=") { text.removeLast() }
        for i in text.indices {
            if text[i] == UInt8(ascii: "+") {
                text[i] = UInt8(ascii: "-")
            } else if text[i] == UInt8(ascii: "/") {
                text[i] = UInt8(ascii: "_")
            }
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// Strict: only the URL-safe alphabet, no padding, no blanks.
    static func decode(_ text: [UInt8]) -> [UInt8]? {
        var standard = [UInt8]()
        for c in text {
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"):
                standard.append(c)
            case UInt8(ascii: "-"): standard.append(UInt8(ascii: "+"))
            case UInt8(ascii: "_"): standard.append(UInt8(ascii: "/"))
            default: return nil
            }
        }
        guard standard.count % 4 != 1 else { return nil }
        while standard.count % 4 != 0 { standard.append(UInt8(ascii: "=")) }
        return Base64.decode(standard)
    }
}
