/// OpenSSH's time spans (misc.c `convtime`), as ssh_config, ssh-add `-t` and ssh-keygen
/// `-V` read them: one parser for every place keysmith takes one.
package enum OpenSSHDuration {
    /// misc.c `convtime`: a sum of decimal numbers, each optionally followed by s, m, h, d
    /// or w (any case), at most INT_MAX seconds; nil when malformed.
    package static func seconds(_ s: some StringProtocol) -> Int64? {
        let limit = Int64(Int32.max)
        var total: Int64 = 0
        var rest = Array(s.utf8)[...]
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let digits = rest.prefix { (0x30...0x39).contains($0) }
            guard !digits.isEmpty else { return nil }
            var value: Int64 = 0
            for d in digits {
                value = value * 10 + Int64(d - 0x30)
                if value > limit { return nil }
            }
            rest = rest.dropFirst(digits.count)
            var multiplier: Int64 = 1
            if let unit = rest.first {
                switch unit | 0x20 {
                case UInt8(ascii: "s"): multiplier = 1
                case UInt8(ascii: "m"): multiplier = 60
                case UInt8(ascii: "h"): multiplier = 3600
                case UInt8(ascii: "d"): multiplier = 86400
                case UInt8(ascii: "w"): multiplier = 604800
                default: return nil
                }
                rest = rest.dropFirst()
            }
            guard value <= limit / multiplier else { return nil }
            value *= multiplier
            guard total <= limit - value else { return nil }
            total += value
        }
        return total
    }
}
