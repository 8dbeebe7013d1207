#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a line to standard error.
package func printError(_ message: String) {
    var line = Array(escapeControlCharacters(message).utf8)
    line.append(UInt8(ascii: "\n"))
    line.withUnsafeBytes { p in _ = write(2, p.baseAddress, p.count) }
}

/// Writes text to standard output as is.
package func writeOut(_ text: String) {
    var text = text
    text.withUTF8 { p in
        var offset = 0
        while offset < p.count {
            let n = write(1, p.baseAddress! + offset, p.count - offset)
            if n <= 0 { break }
            offset += n
        }
    }
}

/// A failure the command line reports as one sentence on stderr and exit status 1.
package struct Failure: Error {
    package let message: String
    package init(_ message: String) { self.message = message }
}

/// Reads all of standard input, up to 16 MiB.
package func readStandardInput() throws -> [UInt8] {
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n < 0 { throw Failure("cannot read standard input: \(String(cString: strerror(errno)))") }
        if n == 0 { break }
        out += chunk[0..<n]
        if out.count > 16 << 20 { throw Failure("standard input is larger than 16 MiB") }
    }
    return out
}
