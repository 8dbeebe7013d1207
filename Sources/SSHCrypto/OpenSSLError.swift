internal import COpenSSL

/// Drains OpenSSL's error queue into one `CryptoError`.
///
/// Every failing OpenSSL call is checked where it is made and turned into our
/// error here, so the thread's queue never carries stale entries into the next call.
func openSSLError(_ code: CryptoError.Code = .libraryFailure, _ what: String) -> CryptoError {
    var first: UInt = 0
    while true {
        let e = ERR_get_error()
        if e == 0 { break }
        if first == 0 { first = e }
    }
    guard first != 0 else { return CryptoError(code, what) }
    var buffer = [CChar](repeating: 0, count: 256)
    ERR_error_string_n(first, &buffer, buffer.count)
    let detail = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return CryptoError(code, "\(what) (\(detail))")
}

/// Discards whatever OpenSSL left in this thread's error queue.
func clearOpenSSLErrors() {
    ERR_clear_error()
}
