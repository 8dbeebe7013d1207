internal import CFIDO2

#if canImport(Glibc)
import Glibc
#endif

/// libfido2, loaded at run time: `libfido2.so.1` opened with dlopen and every function
/// FIDO2Provider calls resolved with dlsym, once per process.
///
/// keysmith does not link libfido2: its release build is a static executable, and Debian
/// ships no static libfido2 (nor libcbor or libudev, which it needs). A machine without
/// libfido2 still runs every other command; only FIDO2Provider fails, saying what to
/// install. The table's field types come from fido.h (`CFIDO2/shim.h`), so every call is
/// checked against the header at compile time.
package final class FIDO2Library: Sendable {
    /// The library's soname (libfido2 1.x, Debian's libfido2-1).
    package static let soname = "libfido2.so.1"

    /// The process's libfido2, loaded and initialised at first use (a `static let` is
    /// initialised once, thread-safely), or why it cannot be.
    private static let loaded = Result { () throws(SecurityKeyError) in
        try FIDO2Library(soname: FIDO2Library.soname, staticExecutable: StaticExecutable.isRunning)
    }

    /// The functions; valid as long as the library is loaded, which is for good.
    let functions: keysmith_fido2

    /// The process's libfido2.
    ///
    /// - Throws: ``SecurityKeyError/Code/providerUnavailable`` when it is not installed or
    ///   lacks a function.
    static func shared() throws(SecurityKeyError) -> keysmith_fido2 {
        try Self.loaded.get().functions
    }

    /// Loads the library named `soname` (as the dynamic loader finds it) and resolves the
    /// functions; it is never unloaded. Tests name a missing library here.
    ///
    /// - Parameter staticExecutable: Whether this process is a static executable, which
    ///   cannot use libfido2 (``StaticExecutable``): then nothing is loaded.
    /// - Throws: ``SecurityKeyError/Code/providerUnavailable`` when it cannot be loaded or
    ///   lacks a function, or in a static executable.
    package init(soname: String, staticExecutable: Bool = StaticExecutable.isRunning) throws(SecurityKeyError) {
        guard !staticExecutable else { throw StaticExecutable.refusal(soname) }
        guard let handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL) else {
            let reason = dlerror().map { String(cString: $0) } ?? "unknown error"
            throw SecurityKeyError(
                .providerUnavailable,
                "cannot load \(soname) for FIDO2 security keys (install the Debian package libfido2-1): \(reason)"
            )
        }
        func function<F>(_ name: String) throws(SecurityKeyError) -> F {
            guard let pointer = dlsym(handle, name) else {
                dlclose(handle)
                throw SecurityKeyError(
                    .providerUnavailable,
                    "\(soname) has no function \(name)"
                )
            }
            return unsafeBitCast(pointer, to: F.self)
        }
        let functions = try keysmith_fido2(
            fido_init: function("fido_init"),
            fido_strerr: function("fido_strerr"),
            fido_dev_info_new: function("fido_dev_info_new"),
            fido_dev_info_free: function("fido_dev_info_free"),
            fido_dev_info_manifest: function("fido_dev_info_manifest"),
            fido_dev_info_ptr: function("fido_dev_info_ptr"),
            fido_dev_info_path: function("fido_dev_info_path"),
            fido_dev_new: function("fido_dev_new"),
            fido_dev_open: function("fido_dev_open"),
            fido_dev_close: function("fido_dev_close"),
            fido_dev_free: function("fido_dev_free"),
            fido_dev_has_uv: function("fido_dev_has_uv"),
            fido_dev_supports_cred_prot: function("fido_dev_supports_cred_prot"),
            fido_dev_make_cred: function("fido_dev_make_cred"),
            fido_dev_get_assert: function("fido_dev_get_assert"),
            fido_cred_new: function("fido_cred_new"),
            fido_cred_free: function("fido_cred_free"),
            fido_cred_set_type: function("fido_cred_set_type"),
            fido_cred_set_clientdata_hash: function("fido_cred_set_clientdata_hash"),
            fido_cred_set_rk: function("fido_cred_set_rk"),
            fido_cred_set_user: function("fido_cred_set_user"),
            fido_cred_set_rp: function("fido_cred_set_rp"),
            fido_cred_set_prot: function("fido_cred_set_prot"),
            fido_cred_verify: function("fido_cred_verify"),
            fido_cred_verify_self: function("fido_cred_verify_self"),
            fido_cred_type: function("fido_cred_type"),
            fido_cred_prot: function("fido_cred_prot"),
            fido_cred_pubkey_ptr: function("fido_cred_pubkey_ptr"),
            fido_cred_pubkey_len: function("fido_cred_pubkey_len"),
            fido_cred_id_ptr: function("fido_cred_id_ptr"),
            fido_cred_id_len: function("fido_cred_id_len"),
            fido_cred_sig_ptr: function("fido_cred_sig_ptr"),
            fido_cred_sig_len: function("fido_cred_sig_len"),
            fido_cred_x5c_ptr: function("fido_cred_x5c_ptr"),
            fido_cred_x5c_len: function("fido_cred_x5c_len"),
            fido_cred_authdata_ptr: function("fido_cred_authdata_ptr"),
            fido_cred_authdata_len: function("fido_cred_authdata_len"),
            fido_cred_user_id_ptr: function("fido_cred_user_id_ptr"),
            fido_cred_user_id_len: function("fido_cred_user_id_len"),
            fido_assert_new: function("fido_assert_new"),
            fido_assert_free: function("fido_assert_free"),
            fido_assert_set_clientdata_hash: function("fido_assert_set_clientdata_hash"),
            fido_assert_set_rp: function("fido_assert_set_rp"),
            fido_assert_allow_cred: function("fido_assert_allow_cred"),
            fido_assert_set_up: function("fido_assert_set_up"),
            fido_assert_set_uv: function("fido_assert_set_uv"),
            fido_assert_count: function("fido_assert_count"),
            fido_assert_sig_ptr: function("fido_assert_sig_ptr"),
            fido_assert_sig_len: function("fido_assert_sig_len"),
            fido_assert_flags: function("fido_assert_flags"),
            fido_assert_sigcount: function("fido_assert_sigcount"),
            fido_credman_rp_new: function("fido_credman_rp_new"),
            fido_credman_rp_free: function("fido_credman_rp_free"),
            fido_credman_get_dev_rp: function("fido_credman_get_dev_rp"),
            fido_credman_rp_count: function("fido_credman_rp_count"),
            fido_credman_rp_id: function("fido_credman_rp_id"),
            fido_credman_rk_new: function("fido_credman_rk_new"),
            fido_credman_rk_free: function("fido_credman_rk_free"),
            fido_credman_get_dev_rk: function("fido_credman_get_dev_rk"),
            fido_credman_rk_count: function("fido_credman_rk_count"),
            fido_credman_rk: function("fido_credman_rk")
        )
        // fido_init(3): once, before any other call.
        functions.fido_init(0)
        self.functions = functions
    }
}
