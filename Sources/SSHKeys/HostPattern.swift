/// OpenSSH's host pattern lists (match.c), over bytes as the C code sees them.
///
/// A list is comma-separated subpatterns; each may start with `!` (negation) and may use
/// `*` (any run of bytes, including none) and `?` (exactly one byte). A negated subpattern
/// that matches makes the whole list fail, whatever else matches.
package enum HostPattern {
    /// The result of matching a host against a pattern list.
    package enum Match: Sendable, Equatable {
        /// A negated subpattern matched (match.c returns -1).
        case negated
        /// Nothing matched (0).
        case none
        /// A positive subpattern matched and no negated one did (1).
        case positive
    }

    /// match.c `match_pattern`: whether `string` matches one glob `pattern`.
    package static func matches(_ string: some Collection<UInt8>, glob pattern: some Collection<UInt8>) -> Bool {
        let s = Array(string)
        let p = Array(pattern)
        var si = 0
        var pi = 0
        // Where the last `*` was seen, and the string position it has absorbed up to.
        var starP = -1
        var starS = 0
        while si < s.count {
            if pi < p.count && p[pi] == UInt8(ascii: "*") {
                starP = pi
                starS = si
                pi += 1
            } else if pi < p.count && (p[pi] == UInt8(ascii: "?") || p[pi] == s[si]) {
                si += 1
                pi += 1
            } else if starP >= 0 {
                // Let the last star absorb one more byte and try again from there.
                starS += 1
                si = starS
                pi = starP + 1
            } else {
                return false
            }
        }
        while pi < p.count && p[pi] == UInt8(ascii: "*") { pi += 1 }
        return pi == p.count
    }

    /// match.c `match_pattern_list`: matches `string` against a comma-separated list.
    ///
    /// With `lowercasingPattern`, ASCII capitals in each subpattern are lowered first (the
    /// string is used as given). A subpattern of 1023 bytes or more ends the scan with
    /// `.none`, as OpenSSH's fixed 1024-byte buffer does.
    package static func matchList(
        _ string: some Collection<UInt8>,
        patterns list: some Collection<UInt8>,
        lowercasingPattern: Bool
    ) -> Match {
        let s = Array(string)
        let p = Array(list)
        var gotPositive = false
        var i = 0
        while i < p.count {
            var negated = false
            if p[i] == UInt8(ascii: "!") {
                negated = true
                i += 1
            }
            var sub = [UInt8]()
            while i < p.count && p[i] != UInt8(ascii: ",") {
                if sub.count >= 1023 { return .none }
                sub.append(lowercasingPattern ? asciiLowercased(p[i]) : p[i])
                i += 1
            }
            if sub.count >= 1023 { return .none }
            if i < p.count && p[i] == UInt8(ascii: ",") { i += 1 }
            if matches(s, glob: sub) {
                if negated { return .negated }
                gotPositive = true
            }
        }
        return gotPositive ? .positive : .none
    }

    /// match.c `match_hostname`: lowercases `host` and matches it against `list`, whose
    /// subpatterns are lowercased too.
    package static func matchHostname(_ host: some Collection<UInt8>, patterns list: some Collection<UInt8>) -> Match {
        matchList(host.map(asciiLowercased), patterns: list, lowercasingPattern: true)
    }

    /// `tolower` in the C locale: only A–Z change.
    package static func asciiLowercased(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte + 32 : byte
    }
}
