import Hummingbird
import NIOCore

/// A JSON value as the service writes it: members in the order given, no spaces.
enum JSONValue {
    case string(String)
    case int(Int64)
    case null

    var text: String {
        switch self {
        case .string(let value): return jsonString(value)
        case .int(let value): return String(value)
        case .null: return "null"
        }
    }
}

/// A response whose body is the JSON object of `members`.
func jsonResponse(_ status: HTTPResponse.Status, _ members: [(String, JSONValue)]) -> Response {
    let text = "{" + members.map { jsonString($0.0) + ":" + $0.1.text }.joined(separator: ",") + "}\n"
    return Response(
        status: status,
        headers: [.contentType: "application/json"],
        body: .init(byteBuffer: ByteBuffer(string: text))
    )
}

/// `{"error": message}` with `status`.
func jsonError(_ status: HTTPResponse.Status, _ message: String) -> Response {
    jsonResponse(status, [("error", .string(message))])
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
