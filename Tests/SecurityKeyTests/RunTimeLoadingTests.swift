import Foundation
import KeysmithTestSupport
import SecurityKey
import Testing

/// keysmith's release build is a static executable, and Debian ships no static libfido2:
/// SecurityKey must load libfido2 at run time and never link it, and a static executable
/// must refuse to load security key libraries rather than crash (docs/architecture.md).
@Suite("SecurityKey loads libfido2 at run time")
struct RunTimeLoadingTests {
    /// The directory of the running test executable, where SwiftPM also puts each
    /// module's object files (`SecurityKey.build`).
    private static let buildDirectory = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        .deletingLastPathComponent()

    @Test("without libfido2, one sentence names the library and the Debian package")
    func missingLibrary() {
        let error = refusal { try FIDO2Library(soname: "libfido2-keysmith-missing.so.1", staticExecutable: false) }
        #expect(error?.code == .providerUnavailable)
        #expect(
            error?.message.hasPrefix(
                "cannot load libfido2-keysmith-missing.so.1 for FIDO2 security keys "
                    + "(install the Debian package libfido2-1): "
            ) == true
        )
        #expect(error?.message.contains("\n") == false)
    }

    @Test("a static executable refuses to load libfido2 or a middleware library, in one sentence")
    func staticExecutableRefuses() throws {
        #expect(!StaticExecutable.isRunning, "the test executable is dynamically linked")
        let reason =
            "(glibc gives a library loaded by a static program no thread-local storage): "
            + "use a dynamically linked keysmith for security keys"
        let fido = refusal { try FIDO2Library(soname: FIDO2Library.soname, staticExecutable: true) }
        #expect(fido?.code == .providerUnavailable)
        #expect(fido?.message == "this keysmith is a static executable, which cannot load libfido2.so.1 " + reason)
        let path = try SoftAuthenticator.path()
        let middleware = refusal { try MiddlewareProvider(path: path, staticExecutable: true) }
        #expect(middleware?.code == .providerUnavailable)
        #expect(middleware?.message == "this keysmith is a static executable, which cannot load \(path) " + reason)
        // The same library loads in this dynamically linked process.
        #expect(try MiddlewareProvider(path: path, staticExecutable: false).version == 0x000a_0000)
    }

    @Test("the installed libfido2 loads, with every function")
    func installedLibrary() throws {
        #expect(FIDO2Library.soname == "libfido2.so.1")
        _ = try FIDO2Library(soname: FIDO2Library.soname, staticExecutable: false)
    }

    @Test("the CFIDO2 module map links nothing")
    func moduleMapLinksNothing() throws {
        let moduleMap = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources/CFIDO2/module.modulemap")
        let text = try String(contentsOf: moduleMap, encoding: .utf8)
        #expect(text.contains("module CFIDO2"))
        let linkLines = text.split(separator: "\n").filter { $0.trimmingCharacters(in: .whitespaces).hasPrefix("link") }
        #expect(linkLines.isEmpty, "a link line makes a static keysmith fail to link")
    }

    @Test("the test executable does not need libfido2")
    func executableDoesNotNeedLibfido2() throws {
        let dynamic = try runProcess("/usr/bin/readelf", ["--dynamic", "/proc/self/exe"]).checked("readelf")
        let needed = dynamic.stdout.split(separator: "\n").filter { $0.contains("(NEEDED)") }
        #expect(!needed.isEmpty, "readelf listed no needed library: \(dynamic.stdout)")
        #expect(!needed.contains { $0.contains("libfido2") }, "\(needed)")
    }

    @Test("SecurityKey's object code refers to no libfido2 function")
    func objectsReferToNoLibfido2Symbol() throws {
        let directory = Self.buildDirectory.appendingPathComponent("SecurityKey.build")
        let objects = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".o") }.map { directory.appendingPathComponent($0).path }
        #expect(objects.contains { $0.hasSuffix("FIDO2Provider.swift.o") }, "no objects in \(directory.path)")
        let undefined = try runProcess("/usr/bin/nm", ["--undefined-only", "--format=just-symbols"] + objects)
            .checked("nm")
        #expect(undefined.stdout.contains("dlsym"), "nm listed no dlsym among \(objects)")
        let fido = undefined.stdout.split(separator: "\n").filter { $0.hasPrefix("fido_") }
        #expect(fido.isEmpty, "\(fido)")
    }
}
