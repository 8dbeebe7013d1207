/// A certificate's validity interval as ssh-keygen's `-V` reads it (ssh-keygen.c
/// `parse_cert_times`, `parse_relative_time`; misc.c `parse_absolute_time`, `convtime`).
///
/// Forms, each time relative to `now` or absolute:
/// - `+52w`: from one minute ago (rounded down to the minute) to 52 weeks from now.
/// - `FROM:TO`, where FROM is `always`, and TO is `forever`, or either is
///   - `+TIME` / `-TIME` relative to now (`convtime`: seconds, or numbers with s, m, h, d, w),
///   - `YYYYMMDD`, `YYYYMMDDHHMM` or `YYYYMMDDHHMMSS`, local time unless it ends in `Z`
///     or `UTC`,
///   - `0x` and hexadecimal seconds since the epoch.
public struct CertificateValidity: Sendable, Hashable {
    /// Seconds since the epoch; 0 is "always".
    public var validAfter: UInt64
    /// Seconds since the epoch; `UInt64.max` is "forever".
    public var validBefore: UInt64

    /// always:forever, ssh-keygen's default.
    public static let forever = CertificateValidity(validAfter: 0, validBefore: .max)

    public init(validAfter: UInt64, validBefore: UInt64) {
        self.validAfter = validAfter
        self.validBefore = validBefore
    }

    /// Reads `text` as ssh-keygen `-V` does, relative to `now` (seconds since the epoch).
    ///
    /// - Throws: `SSHKeyError` (`.invalidParameter`) with ssh-keygen's reason when the text
    ///   is not a validity interval, or the interval is empty.
    public init(parsing text: String, now: Int64) throws(SSHKeyError) {
        func invalid(_ why: String) -> SSHKeyError { SSHKeyError(.invalidParameter, why) }
        if text.hasPrefix("+") && !text.contains(":") {
            guard let seconds = OpenSSHDuration.seconds(text.dropFirst()) else {
                throw invalid("invalid relative certificate life \(text)")
            }
            // ssh-keygen backdates by up to a minute for hosts with poorly synchronised clocks.
            self.init(
                validAfter: UInt64(clamping: ((now - 59) / 60) * 60),
                validBefore: UInt64(clamping: now + seconds)
            )
            return
        }
        guard let colon = text.firstIndex(of: ":"), colon != text.startIndex, text.index(after: colon) != text.endIndex
        else {
            throw invalid("invalid certificate life specification \(text)")
        }
        let after = try Self.time(text[..<colon], named: "always", is: 0, side: "from", now: now)
        let before = try Self.time(text[text.index(after: colon)...], named: "forever", is: .max, side: "to", now: now)
        guard before > after else { throw invalid("empty certificate validity interval \(text)") }
        self.init(validAfter: after, validBefore: before)
    }

    /// One end of `FROM:TO`: relative, the end's keyword, hexadecimal or absolute.
    private static func time(
        _ s: Substring,
        named keyword: String,
        is keywordValue: UInt64,
        side: String,
        now: Int64
    ) throws(SSHKeyError) -> UInt64 {
        if s.hasPrefix("-") || s.hasPrefix("+") { return try relative(s, now: now) }
        if s == keyword { return keywordValue }
        if s.hasPrefix("0x") { return try hexadecimal(s) }
        guard let t = AbsoluteTime.parse(String(s)) else {
            throw SSHKeyError(.invalidParameter, "invalid \(side) time \"\(s)\"")
        }
        return UInt64(t)
    }

    /// parse_relative_time: `+TIME` or `-TIME` from now.
    private static func relative(_ s: Substring, now: Int64) throws(SSHKeyError) -> UInt64 {
        guard let seconds = OpenSSHDuration.seconds(s.dropFirst()) else {
            throw SSHKeyError(.invalidParameter, "invalid relative certificate time \(s)")
        }
        if s.hasPrefix("-") {
            guard seconds <= now else {
                throw SSHKeyError(.invalidParameter, "certificate time \(s) cannot be represented")
            }
            return UInt64(now - seconds)
        }
        return UInt64(clamping: now + seconds)
    }

    /// parse_hex_u64: `0x` and hexadecimal digits (strtoull base 16).
    private static func hexadecimal(_ s: Substring) throws(SSHKeyError) -> UInt64 {
        guard let value = UInt64(s.dropFirst(2), radix: 16) else {
            throw SSHKeyError(.invalidParameter, "invalid certificate time \(s): not a hexadecimal number")
        }
        return value
    }
}
