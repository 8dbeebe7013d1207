internal import CFIDO2

#if canImport(Glibc)
import Glibc
#endif

/// Whether this process is a static executable, where no security key library can be used.
///
/// keysmith's release build is a fully static glibc program. glibc lets such a program
/// dlopen a shared library, but sizes every thread's thread-local storage when the program
/// starts: a library it loads later that keeps thread-local variables (libfido2 and libudev
/// do, and so does keysmith's software authenticator) gets none and crashes at the first
/// access, and a library that uses OpenSSL then misbehaves beside the program's own static
/// copy. So SecurityKey refuses, in one sentence, rather than crash.
package enum StaticExecutable {
    /// True when the running program has no program interpreter (no `PT_INTERP` among its
    /// program headers): the kernel started it without the dynamic loader.
    package static let isRunning: Bool = {
        guard let headers = UnsafePointer<Elf64_Phdr>(bitPattern: UInt(getauxval(UInt(AT_PHDR)))) else {
            return false
        }
        let count = Int(getauxval(UInt(AT_PHNUM)))
        return !(0..<count).contains { headers[$0].p_type == UInt32(PT_INTERP) }
    }()

    /// The refusal for loading `library` in a static executable.
    static func refusal(_ library: String) -> SecurityKeyError {
        SecurityKeyError(
            .providerUnavailable,
            "this keysmith is a static executable, which cannot load \(library) "
                + "(glibc gives a library loaded by a static program no thread-local storage): "
                + "use a dynamically linked keysmith for security keys"
        )
    }
}
