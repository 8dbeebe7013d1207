import CommandLineText
import SSHKeys

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The KRL as `ssh-keygen -Q -l` lists it (krl.c `krl_dump`), byte for byte: a header of
/// comments, then its keys, hashes and, per CA, serials and key IDs, in the spec format
/// where it has a keyword.
///
/// krl_dump's quirks are kept: SHA-256 hashes print as hexadecimal after `hash: SHA256:`
/// (which the spec reader would not take back), SHA-1 hashes as comments, and the date in
/// the local time zone.
func listing(of krl: KeyRevocationList) -> String {
    var out = "# KRL version \(krl.version)\n"
    out += "# Generated at \(localTimestamp(krl.generatedDate))\n"
    if !krl.commentBytes.isEmpty {
        out += "# Comment: "
        appendEscapedForTerminal(krl.commentBytes, to: &out)
        out += "\n"
    }
    out += "\n"
    for blob in krl.explicitKeys.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
        guard let key = try? SSHPublicKey(wireBlob: blob) else {
            printError("parse KRL key: invalid format")
            continue
        }
        out += "hash: \(key.fingerprint()) # \(key.type.sshName)\n"
    }
    for digest in krl.sha256Digests.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
        out += "hash: SHA256:\(hex(digest))\n"
    }
    for digest in krl.sha1Digests.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
        out += "# hash SHA1:\(hex(digest))\n"
    }
    for section in krl.authorities {
        out += "\n"
        if let ca = section.authority {
            out += "# CA key \(ca.type.sshName) \(ca.fingerprint())\n"
        } else {
            out += "# Wildcard CA\n"
        }
        for run in section.serials.runs {
            out += run.lo == run.hi ? "serial: \(run.lo)\n" : "serial: \(run.lo)-\(run.hi)\n"
        }
        for id in section.keyIDs.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            out += "id: "
            appendEscapedForTerminal(id, to: &out)
            out += "\n"
        }
    }
    return out
}

private func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    for b in bytes {
        out.append(digits[Int(b >> 4)])
        out.append(digits[Int(b & 15)])
    }
    return String(decoding: out, as: UTF8.self)
}

/// krl.c `format_timestamp`: strftime "%Y%m%dT%H%M%S" in local time, or `<INVALID>`.
private func localTimestamp(_ seconds: UInt64) -> String {
    guard var t = time_t(exactly: seconds) else { return "<INVALID>" }
    var tm = tm()
    guard localtime_r(&t, &tm) != nil else { return "<INVALID>" }
    var buffer = [CChar](repeating: 0, count: 64)
    let n = strftime(&buffer, buffer.count, "%Y%m%dT%H%M%S", &tm)
    return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
