/// A JSON value as keysmith prints it (`--json`): no spaces, object members in the order
/// given, strings escaped as JSON requires and nothing more (non-ASCII stays as it is).
package struct JSON {
    /// The value's text.
    package let text: String

    private init(text: String) { self.text = text }

    package static func string(_ value: String) -> JSON { JSON(text: jsonString(value)) }
    /// A string, or null when there is none.
    package static func string(orNull value: String?) -> JSON { value.map { .string($0) } ?? .null }
    package static func int(_ value: Int) -> JSON { JSON(text: String(value)) }
    /// An unsigned 64-bit number written whole (a certificate's serial, `forever` as 2^64 − 1).
    package static func uint64(_ value: UInt64) -> JSON { JSON(text: String(value)) }
    package static func bool(_ value: Bool) -> JSON { JSON(text: value ? "true" : "false") }
    package static let null = JSON(text: "null")
    package static func array(_ items: [JSON]) -> JSON {
        JSON(text: "[" + items.map(\.text).joined(separator: ",") + "]")
    }
    package static func object(_ members: [(String, JSON)]) -> JSON {
        JSON(text: "{" + members.map { jsonString($0.0) + ":" + $0.1.text }.joined(separator: ",") + "}")
    }
}

/// `s` as a JSON string: quotes, backslashes and control characters escaped.
private func jsonString(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if u.value < 0x20 {
                let hex = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            } else {
                out.unicodeScalars.append(u)
            }
        }
    }
    return out + "\""
}
