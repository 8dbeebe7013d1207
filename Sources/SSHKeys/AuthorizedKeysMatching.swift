#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The C library's number parsing, as OpenSSH calls it.
enum CNumber {
    /// OpenBSD `strtonum(s, 0, max)`: strtoll in base 10 (leading blanks and a sign
    /// allowed), the whole string consumed, the value within 0…max.
    static func strtonum(_ text: String, max: Int64) -> Int64? {
        guard !text.utf8.contains(0) else { return nil }
        return text.withCString { p -> Int64? in
            var end: UnsafeMutablePointer<CChar>? = nil
            errno = 0
            let v = strtoll(p, &end, 10)
            guard let end, end != UnsafeMutablePointer(mutating: p), end.pointee == 0, errno != ERANGE else {
                return nil
            }
            return v >= 0 && v <= max ? Int64(v) : nil
        }
    }

    /// misc.c `a2port`: a number 0…65535, else a TCP service name from the services database.
    static func tcpPort(_ text: String) -> Int? {
        if let n = strtonum(text, max: 65535) { return Int(n) }
        guard !text.utf8.contains(0), let entry = getservbyname(text, "tcp") else { return nil }
        return Int(UInt16(bigEndian: UInt16(truncatingIfNeeded: entry.pointee.s_port)))
    }
}

/// misc.c `parse_absolute_time`, the `expiry-time=` format.
enum AbsoluteTime {
    /// `YYYYMMDD`, `YYYYMMDDHHMM` or `YYYYMMDDHHMMSS`, in local time unless it ends in
    /// `Z` or `UTC` (any case). Fields go through the C library's `strptime` and then
    /// `mktime` / `timegm`, as in OpenSSH, so out-of-range days roll over as there.
    /// Returns seconds since the epoch, or nil when the text is invalid or before 1970.
    static func parse(_ text: String) -> Int64? {
        var s = Array(text.utf8)
        guard !s.contains(0) else { return nil }
        var utc = false
        func endsWith(_ suffix: String) -> Bool {
            let n = suffix.utf8.count
            return s.count > n && AuthorizedKeyOptions.hasPrefix(s, at: s.count - n, suffix)
        }
        if s.count > 1 && endsWith("Z") {
            utc = true
            s.removeLast()
        } else if s.count > 3 && endsWith("UTC") {
            utc = true
            s.removeLast(3)
        }
        // POSIX strptime wants separators between conversions, so OpenSSH inserts them.
        func part(_ from: Int, _ n: Int) -> String { String(decoding: s[from..<(from + n)], as: UTF8.self) }
        let buffer: String
        let format: String
        switch s.count {
        case 8:
            buffer = "\(part(0, 4))-\(part(4, 2))-\(part(6, 2))"
            format = "%Y-%m-%d"
        case 12:
            buffer = "\(part(0, 4))-\(part(4, 2))-\(part(6, 2))T\(part(8, 2)):\(part(10, 2))"
            format = "%Y-%m-%dT%H:%M"
        case 14:
            buffer = "\(part(0, 4))-\(part(4, 2))-\(part(6, 2))T\(part(8, 2)):\(part(10, 2)):\(part(12, 2))"
            format = "%Y-%m-%dT%H:%M:%S"
        default:
            return nil
        }
        // memset(&tm, 0) leaves tm_isdst 0, so mktime reads the time as standard time.
        var tm = tm()
        guard strptime(Array(buffer.utf8), format: Array(format.utf8), into: &tm) else { return nil }
        let t = utc ? timegm(&tm) : mktime(&tm)
        return t < 0 ? nil : Int64(t)
    }

    /// glibc `strptime` for the conversions OpenSSH uses here (`%Y %m %d %H %M %S`), which
    /// must consume the whole input. Each number skips leading white space and reads up to
    /// its width while the value can still grow within range (glibc's `get_number`); any
    /// other format byte must match the input byte.
    static func strptime(_ input: [UInt8], format: [UInt8], into tm: inout tm) -> Bool {
        var r = 0
        var f = 0
        func number(_ low: Int32, _ high: Int32, _ width: Int) -> Int32? {
            while r < input.count && (input[r] == 0x20 || (input[r] >= 0x09 && input[r] <= 0x0D)) { r += 1 }
            func digit() -> Int32? {
                guard r < input.count, input[r] >= UInt8(ascii: "0"), input[r] <= UInt8(ascii: "9") else { return nil }
                return Int32(input[r] - UInt8(ascii: "0"))
            }
            guard var value = digit() else { return nil }
            r += 1
            var left = width - 1
            while left > 0 && value * 10 <= high, let d = digit() {
                value = value * 10 + d
                r += 1
                left -= 1
            }
            return value >= low && value <= high ? value : nil
        }
        while f < format.count {
            if format[f] != UInt8(ascii: "%") {
                guard r < input.count, input[r] == format[f] else { return false }
                r += 1
                f += 1
                continue
            }
            guard f + 1 < format.count else { return false }
            switch format[f + 1] {
            case UInt8(ascii: "Y"):
                guard let v = number(0, 9999, 4) else { return false }
                tm.tm_year = v - 1900
            case UInt8(ascii: "m"):
                guard let v = number(1, 12, 2) else { return false }
                tm.tm_mon = v - 1
            case UInt8(ascii: "d"):
                guard let v = number(1, 31, 2) else { return false }
                tm.tm_mday = v
            case UInt8(ascii: "H"):
                guard let v = number(0, 23, 2) else { return false }
                tm.tm_hour = v
            case UInt8(ascii: "M"):
                guard let v = number(0, 59, 2) else { return false }
                tm.tm_min = v
            case UInt8(ascii: "S"):
                guard let v = number(0, 61, 2) else { return false }
                tm.tm_sec = v
            default:
                return false
            }
            f += 2
        }
        return r == input.count
    }

    /// `YYYY-MM-DDTHH:MM:SS` in local time, as misc.c `format_absolute_time` prints it.
    static func format(_ t: Int64) -> String {
        var time = time_t(t)
        var tm = tm()
        localtime_r(&time, &tm)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(tm.tm_year + 1900)-\(two(tm.tm_mon + 1))-\(two(tm.tm_mday))T\(two(tm.tm_hour)):"
            + "\(two(tm.tm_min)):\(two(tm.tm_sec))"
    }
}

/// An IPv4 or IPv6 address as addr.c's `struct xaddr` holds it.
struct NetworkAddress: Equatable {
    var isIPv6: Bool
    var bytes: [UInt8]
    var scopeID: UInt32

    /// addr.c `addr_pton`: `getaddrinfo` with `AI_NUMERICHOST`, so exactly the forms the C
    /// library accepts (`127.1`, `::ffff:10.0.0.1`, `fe80::1%2`).
    init?(_ text: some StringProtocol) {
        let string = String(text)
        guard !string.utf8.contains(0) else { return nil }
        var hints = addrinfo()
        hints.ai_flags = AI_NUMERICHOST
        var result: UnsafeMutablePointer<addrinfo>? = nil
        guard getaddrinfo(string, nil, &hints, &result) == 0, let first = result else { return nil }
        defer { freeaddrinfo(result) }
        guard let sa = first.pointee.ai_addr else { return nil }
        switch Int32(sa.pointee.sa_family) {
        case AF_INET:
            guard Int(first.pointee.ai_addrlen) >= MemoryLayout<sockaddr_in>.size else { return nil }
            let v4 = UnsafeRawPointer(sa).loadUnaligned(as: sockaddr_in.self)
            self.isIPv6 = false
            self.bytes = withUnsafeBytes(of: v4.sin_addr) { Array($0) }
            self.scopeID = 0
        case AF_INET6:
            guard Int(first.pointee.ai_addrlen) >= MemoryLayout<sockaddr_in6>.size else { return nil }
            let v6 = UnsafeRawPointer(sa).loadUnaligned(as: sockaddr_in6.self)
            self.isIPv6 = true
            self.bytes = withUnsafeBytes(of: v6.sin6_addr) { Array($0) }
            self.scopeID = v6.sin6_scope_id
        default:
            return nil
        }
    }

    /// Whether the bits after the first `length` are all zero (addr.c `addr_host_is_all0s`).
    func hostBitsAreZero(prefixLength length: Int) -> Bool {
        self.masked(to: length).bytes == self.bytes
    }

    /// The address with every bit after the first `length` cleared.
    func masked(to length: Int) -> NetworkAddress {
        var out = self
        for i in 0..<out.bytes.count {
            let keep = max(0, min(8, length - 8 * i))
            out.bytes[i] &= keep == 8 ? 0xFF : ~(UInt8(0xFF) >> keep)
        }
        return out
    }

    /// addr.c `addr_pton_cidr`: `address[/length]`. Returns nil when it is not an address
    /// (-1 in C), `.inconsistent` for a bad length or host bits set (-2).
    static func parseNetwork(_ text: some StringProtocol) -> NetworkParse {
        let bytes = Array(text.utf8)
        // The C copy goes through a 64-byte buffer.
        guard bytes.count < 64 else { return .notANetwork }
        var addressPart = bytes[...]
        var length: Int? = nil
        if let slash = bytes.firstIndex(of: UInt8(ascii: "/")) {
            addressPart = bytes[..<slash]
            let digits = bytes[(slash + 1)...]
            // strtoul with a leading digit required and nothing after; > 128 is refused.
            guard let first = digits.first, first >= UInt8(ascii: "0"), first <= UInt8(ascii: "9"),
                digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
            else { return .notANetwork }
            let significant = digits.drop(while: { $0 == UInt8(ascii: "0") })
            guard significant.count <= 3 else { return .notANetwork }
            let value = significant.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
            guard value <= 128 else { return .notANetwork }
            length = value
        }
        guard let address = NetworkAddress(String(decoding: addressPart, as: UTF8.self)) else {
            return .notANetwork
        }
        let bits = address.isIPv6 ? 128 : 32
        let prefix = length ?? bits
        guard prefix <= bits, address.hostBitsAreZero(prefixLength: prefix) else { return .inconsistent }
        return .network(address, prefix)
    }

    enum NetworkParse {
        case network(NetworkAddress, Int)
        case inconsistent
        case notANetwork
    }

    /// addr.c `addr_netmatch`: same family, and equal under the mask (scope included).
    func isIn(_ network: NetworkAddress, prefixLength: Int) -> Bool {
        self.isIPv6 == network.isIPv6 && self.masked(to: prefixLength) == network
    }
}

/// match.c / addrmatch.c matching of `from="…"` lists.
enum SourcePattern {
    /// addrmatch.c `addr_match_list`: 1 on a positive match, 0 on none, -1 on a negated
    /// match, -2 on a malformed list (an empty entry, or a network with host bits set).
    /// Entries that are not networks are globs against the address text.
    static func matchAddress(_ address: String?, list: String) -> Int {
        var parsedAddress: NetworkAddress? = nil
        if let address {
            guard let a = NetworkAddress(address) else { return 0 }
            parsedAddress = a
        }
        var result = 0
        for rawEntry in list.utf8.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) {
            var entry = rawEntry[...]
            let negated = entry.first == UInt8(ascii: "!")
            if negated { entry = entry.dropFirst() }
            if entry.isEmpty { return -2 }
            var found = false
            switch NetworkAddress.parseNetwork(Substring(entry)) {
            case .inconsistent:
                return -2
            case .network(let network, let length):
                if let parsedAddress, parsedAddress.isIn(network, prefixLength: length) { found = true }
            case .notANetwork:
                if let address, HostPattern.matches(address.utf8, glob: entry) { found = true }
            }
            if found {
                if negated { return -1 }
                result = 1
            }
        }
        return result
    }

    /// match.c `match_host_and_ip`: 1 when the address or the host name matches and
    /// neither is negated; 0 otherwise; -1 when the list is malformed.
    static func matchHostAndAddress(host: String?, address: String?, list: String) -> Int {
        let ip = matchAddress(address, list: list)
        if ip == -2 { return -1 }
        guard let host, address != nil, ip != -1 else { return 0 }
        let name = HostPattern.matchHostname(host.utf8, patterns: list.utf8)
        if name == .negated { return 0 }
        if name == .none && ip == 0 { return 0 }
        return 1
    }
}
