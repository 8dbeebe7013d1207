import Foundation
import KeysmithTestSupport
import SSHCrypto
import SSHKeys
import Testing

@testable import SSHProtocol

/// A password connection to the fixture's sshd.
private func connect(_ sshd: SSHDFixture) throws -> SSHClient {
    let trusted = Set(sshd.hostKeys.values.compactMap { try? SSHPublicKey(openSSHLine: $0) })
    let secret = sshd.password
    return try SSHClient.connect(
        SSHClientOptions(
            host: sshd.host,
            port: sshd.port,
            user: sshd.user,
            credentials: SSHCredentials(password: { _ in SecureBytes(utf8: secret) }),
            authenticationOrder: [.password],
            connectTimeout: 5,
            overallTimeout: 30,
            idleTimeout: 15
        ) { (key: SSHPublicKey) throws(SSHProtocolError) in
            guard trusted.contains(key) else { throw SSHProtocolError(.hostKeyRejected, "unknown host key") }
        }
    )
}

@Suite("SFTP client against OpenSSH's sftp-server")
struct SFTPClientTests {
    @Test("version, extensions, REALPATH of the home directory")
    func handshake() throws {
        let sshd = try SSHDFixture()
        let client = try connect(sshd)
        defer { client.close() }
        let sftp = try SFTPClient(over: client)
        #expect(sftp.version == 3)
        #expect(sftp.supports("posix-rename@openssh.com"))
        #expect(sftp.supports("fsync@openssh.com"))
        #expect(try sftp.realPath(".") == sshd.home)
        try sftp.close()
        // The connection is still usable after the SFTP channel closed.
        #expect(try client.exec("echo ok").stdout == Array("ok\n".utf8))
    }

    @Test("write, fsync, read back, rename over, stat modes, remove")
    func roundTrip() throws {
        let sshd = try SSHDFixture()
        let client = try connect(sshd)
        defer { client.close() }
        let sftp = try SFTPClient(over: client)
        defer { try? sftp.close() }

        #expect(try sftp.stat("dir") == nil)
        try sftp.makeDirectory("dir", permissions: 0o700)
        let dir = try #require(try sftp.stat("dir"))
        #expect(dir.isDirectory)
        #expect(dir.modeString == "drwx------")

        // Many chunks in each direction.
        let data = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) }
        let handle = try sftp.open("dir/tmp", flags: [.write, .create, .exclusive, .truncate], permissions: 0o600)
        try sftp.write(handle, offset: 0, data)
        #expect(try sftp.fsync(handle))
        try sftp.close(handle)
        #expect(try sftp.readFile("dir/tmp") == data)
        #expect(try readBytes(sshd.home + "/dir/tmp") == Data(data))

        try writeText(sshd.home + "/dir/old", "old\n")
        try sftp.posixRename("dir/tmp", to: "dir/old")
        #expect(try readBytes(sshd.home + "/dir/old") == Data(data))
        #expect(try sftp.lstat("dir/tmp") == nil)
        #expect(try sftp.readFile("dir/tmp") == nil)

        let file = try #require(try sftp.lstat("dir/old"))
        #expect(file.size == UInt64(data.count))
        #expect(file.modeString == "-rw-------")
        try sftp.setPermissions("dir/old", 0o644)
        #expect(try sftp.stat("dir/old")?.permissions.map { $0 & 0o7777 } == 0o644)

        try sftp.remove("dir/old")
        try sftp.removeDirectory("dir")
        #expect(try sftp.stat("dir") == nil)
    }

    @Test(
        "listDirectory: every name across several READDIR replies, odd names included; a missing directory is one sentence"
    )
    func listing() throws {
        let sshd = try SSHDFixture()
        let dir = sshd.home + "/many"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
        // More names than one READDIR reply carries (sftp-server sends up to 100 at a time).
        var expected = Set((0..<250).map { "f\($0)" })
        expected.formUnion(["with space", "tab\there", "line\nbreak", ".hidden", "ünïcode", "sub"])
        for name in expected where name != "sub" { try writeText(dir + "/" + name, "x") }
        try FileManager.default.createDirectory(atPath: dir + "/sub", withIntermediateDirectories: false)
        _ = try runProcess("/bin/chown", ["-R", sshd.user, dir]).checked("chown")

        let client = try connect(sshd)
        defer { client.close() }
        let sftp = try SFTPClient(over: client)
        defer { try? sftp.close() }
        let names = try sftp.listDirectory("many")
        #expect(names.count == expected.count, "no name twice, no . or ..")
        #expect(Set(names) == expected)
        #expect(try sftp.listDirectory("many/sub").isEmpty)
        do {
            _ = try sftp.listDirectory("many", maximumCount: 100)
            Issue.record("a listing beyond maximumCount was returned")
        } catch {
            #expect(error.message == "many on the server holds more than 100 names")
        }
        do {
            _ = try sftp.listDirectory("missing")
            Issue.record("listing a missing directory succeeded")
        } catch {
            #expect(error.message == "the SFTP server could not list missing: no such file")
        }
        // The handle was closed each time: the channel still answers.
        #expect(try sftp.realPath("/") == "/")
    }

    @Test("a STATUS error is one sentence naming the operation and path")
    func statusErrors() throws {
        let sshd = try SSHDFixture()
        let client = try connect(sshd)
        defer { client.close() }
        let sftp = try SFTPClient(over: client)
        defer { try? sftp.close() }
        do {
            try sftp.remove("missing")
            Issue.record("remove of a missing file succeeded")
        } catch {
            #expect(error.code == .channelFailure)
            #expect(error.message == "the SFTP server could not remove missing: no such file")
        }
        do {
            _ = try sftp.open("/etc/shadow", flags: .read)
            Issue.record("opening /etc/shadow succeeded")
        } catch {
            #expect(error.message == "the SFTP server could not open /etc/shadow: permission denied")
        }
        // The channel is still usable after errors.
        #expect(try sftp.realPath("/") == "/")
    }

    @Test("mode strings as ls -l prints them")
    func modeStrings() {
        #expect(SFTPAttributes(permissions: 0o040777).modeString == "drwxrwxrwx")
        #expect(SFTPAttributes(permissions: 0o041777).modeString == "drwxrwxrwt")
        #expect(SFTPAttributes(permissions: 0o100620).modeString == "-rw--w----")
        #expect(SFTPAttributes(permissions: 0o104644).modeString == "-rwSr--r--")
    }

    @Test("the packet reader refuses oversized and empty packets")
    func packetCaps() throws {
        var reader = SFTPPacketReader()
        reader.append([0, 4, 0, 1])
        #expect(throws: SSHProtocolError.self) { try reader.next() }
        var empty = SFTPPacketReader()
        empty.append([0, 0, 0, 0])
        #expect(throws: SSHProtocolError.self) { try empty.next() }
        var partial = SFTPPacketReader()
        partial.append([0, 0, 0, 2, 101])
        #expect(try partial.next() == nil)
        partial.append([7])
        #expect(try partial.next() == [101, 7])
    }
}
