import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The software security key of `Tests/Fixtures/SoftAuthenticator/soft_authenticator.c`: a
/// shared library implementing OpenSSH's security-key middleware API (`sk_api_version`,
/// `sk_enroll`, `sk_sign`, `sk_load_resident_keys`) over software keys, for tests only.
///
/// It is compiled once per test process with the machine's `cc` against libcrypto
/// (`make deps` installs libssl-dev), into the process's shared scratch directory. Its
/// behaviour is steered by the environment of the process that loads it (``environment(_:)``
/// for a child such as ssh-keygen), or in this process by ``withSettings(_:_:)`` for one
/// thread; ``Setting`` names the variables and the C file's header comment says what each does.
public enum SoftAuthenticator {
    /// The path of the compiled library (`ssh-keygen -w PATH`, `SecurityKeyProvider=PATH`).
    ///
    /// - Throws: ``FixtureError`` with the compiler's output when it cannot be built.
    public static func path() throws -> String { try Self.built.get() }

    /// An environment variable the library reads at each call.
    public enum Setting: String, Sendable, CaseIterable {
        /// What `sk_api_version` returns (default `0x000a0000`, OpenSSH 9.2's major version).
        case apiVersion = "KEYSMITH_SOFTSK_API_VERSION"
        /// The flags byte `sk_sign` returns and signs (default: user presence when the
        /// key's flags require it, user verification when a PIN was given or is required).
        case flags = "KEYSMITH_SOFTSK_FLAGS"
        /// The signature counter (default 1).
        case counter = "KEYSMITH_SOFTSK_COUNTER"
        /// Comma-separated operations that fail: `enroll`, `sign`, `load`.
        case fail = "KEYSMITH_SOFTSK_FAIL"
        /// The code the failing operations return (default -1, `SSH_SK_ERR_GENERAL`).
        case error = "KEYSMITH_SOFTSK_ERROR"
        /// The PIN every operation then requires (`SSH_SK_ERR_PIN_REQUIRED` without it).
        case pin = "KEYSMITH_SOFTSK_PIN"
        /// A directory for resident keys; without it a resident enrolment is unsupported.
        case residentDirectory = "KEYSMITH_SOFTSK_RESIDENT_DIR"
        /// A file every call appends one line to (operation, algorithm, application,
        /// flags, whether a PIN came, the data's length, the options).
        case log = "KEYSMITH_SOFTSK_LOG"
    }

    /// An environment for a child process (`runProcess(environment:)`) with `settings`.
    public static func environment(_ settings: [Setting: String]) -> [String: String] {
        Dictionary(uniqueKeysWithValues: settings.map { ($0.key.rawValue, $0.value) })
    }

    /// Runs `body` with the library, loaded in this process, reading `settings` (and no
    /// environment variable) on the calling thread only, so that tests running at once on
    /// other threads keep theirs. `body` must not suspend: the settings belong to the thread.
    ///
    /// - Throws: What `body` throws, or ``FixtureError`` when the library cannot be loaded.
    public static func withSettings<R, E: Error>(
        _ settings: [Setting: String],
        _ body: () throws(E) -> R
    ) throws -> R {
        let configure = try Self.configureFunction.get()
        let text = settings.map { "\($0.key.rawValue)=\($0.value)" }.joined(separator: "\n")
        text.withCString { configure($0) }
        defer { configure(nil) }
        return try body()
    }

    /// How many non-NULL pointers the calling thread has freed through the library's
    /// exported `free` (what `dlsym(handle, "free")` finds), counted by the library.
    ///
    /// - Throws: ``FixtureError`` when the library cannot be loaded.
    public static func frees() throws -> UInt {
        let path = try Self.built.get()
        guard let handle = dlopen(path, RTLD_NOW) else {
            throw FixtureError("cannot load \(path): \(dlerror().map { String(cString: $0) } ?? "")")
        }
        // Left loaded, as for `configureFunction`: unloading would lose the counts.
        guard let symbol = dlsym(handle, "keysmith_softsk_frees") else {
            throw FixtureError("\(path) has no keysmith_softsk_frees")
        }
        return unsafeBitCast(symbol, to: (@convention(c) () -> UInt).self)()
    }

    private typealias Configure = @convention(c) (UnsafePointer<CChar>?) -> Void

    /// `keysmith_softsk_configure` of the library loaded in this process (it stays loaded).
    private static let configureFunction: Result<Configure, FixtureError> = Result { () throws(FixtureError) in
        let path = try Self.built.get()
        guard let handle = dlopen(path, RTLD_NOW) else {
            throw FixtureError("cannot load \(path): \(dlerror().map { String(cString: $0) } ?? "")")
        }
        guard let symbol = dlsym(handle, "keysmith_softsk_configure") else {
            throw FixtureError("\(path) has no keysmith_softsk_configure")
        }
        return unsafeBitCast(symbol, to: Configure.self)
    }

    /// The C source, found beside this file's folder.
    public static let sourcePath: String =
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/SoftAuthenticator/soft_authenticator.c").path

    private static let built: Result<String, FixtureError> = Result { () throws(FixtureError) in
        let directory: String
        do { directory = try ProcessScratch.newDirectory() } catch { throw FixtureError("\(error)") }
        let library = directory + "/soft_authenticator.so"
        let compiled: ProcessResult
        do {
            compiled = try runProcess(
                "/usr/bin/cc",
                ["-shared", "-fPIC", "-O1", "-Wall", "-Werror", "-o", library, Self.sourcePath, "-lcrypto"]
            )
        } catch {
            throw FixtureError("cannot run cc: \(error)")
        }
        guard compiled.status == 0 else {
            throw FixtureError("cc could not build \(Self.sourcePath): \(compiled.stderr)")
        }
        return library
    }
}
