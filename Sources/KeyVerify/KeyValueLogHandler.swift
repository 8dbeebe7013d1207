public import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A swift-log handler that writes one line per message to standard error:
///
/// ```
/// 2026-11-25T22:10:04Z notice authenticated comment=alice@laptop fingerprint=SHA256:… outcome=accepted peer=127.0.0.1:50312 user=alice
/// ```
///
/// The UTC time, the level, the message, then the metadata as `key=value` pairs sorted by
/// key; a value with blanks, quotes, `=` or control characters is written in double quotes
/// with `\"`, `\\` and `\n`-style escapes, so one event is always one line a script can split.
public struct KeyValueLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let fd: Int32

    /// - Parameters:
    ///   - label: unused; swift-log's factories pass it.
    ///   - level: the least severe level written.
    ///   - fileDescriptor: where lines go (standard error by default).
    public init(label: String = "keysmith", level: Logger.Level = .info, fileDescriptor: Int32 = 2) {
        self.logLevel = level
        self.fd = fileDescriptor
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var all = self.metadata
        if let provided = self.metadataProvider?.get() { all.merge(provided) { $1 } }
        if let extra = event.metadata { all.merge(extra) { $1 } }
        var line = Self.timestamp() + " \(event.level) " + Self.quoted(event.message.description)
        for key in all.keys.sorted() {
            line += " \(key)=" + Self.quoted(all[key].map { "\($0)" } ?? "")
        }
        line += "\n"
        var bytes = Array(line.utf8)
        bytes.withUnsafeMutableBytes { p in
            // One write per line keeps lines from several threads whole.
            var offset = 0
            while offset < p.count {
                let n = write(self.fd, p.baseAddress! + offset, p.count - offset)
                if n <= 0 { break }
                offset += n
            }
        }
    }

    /// The text as is when it is a plain word, else in double quotes with escapes.
    static func quoted(_ text: String) -> String {
        let plain =
            !text.isEmpty
            && text.unicodeScalars.allSatisfy {
                $0.value > 0x20 && $0.value != 0x7F && $0 != "\"" && $0 != "=" && $0 != "\\"
            }
        if plain { return text }
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\x" + (hex.count == 1 ? "0" : "") + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// Now as `YYYY-MM-DDTHH:MM:SSZ`.
    static func timestamp() -> String {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    }
}
