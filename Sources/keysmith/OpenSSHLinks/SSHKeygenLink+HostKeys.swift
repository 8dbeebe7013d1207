import CommandLineText
import SSHCrypto
import SSHKeys

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// ssh-keygen -A: the host keys sshd wants that are missing (do_gen_all_hostkeys).
extension SSHKeygenLink.Invocation {
    /// The host keys of OpenSSH 9.2 built with OpenSSL: type, the name printed, the path.
    static let hostKeys: [(type: SSHKeyType, display: String, path: String)] = [
        (.rsa, "RSA", "/etc/ssh/ssh_host_rsa_key"),
        (.ecdsa(.p256), "ECDSA", "/etc/ssh/ssh_host_ecdsa_key"),
        (.ed25519, "ED25519", "/etc/ssh/ssh_host_ed25519_key"),
    ]

    /// ssh-keygen -A [-f PREFIX] [-m format]: each host key under PREFIX/etc/ssh whose private
    /// key file is missing or empty made, unencrypted, with the comment USER@HOST, written to
    /// temporary files (mkstemp) renamed into place. A key that fails is reported and the
    /// next one tried; the "generating new host keys:" line starts again after a failure, as
    /// ssh-keygen's does, and the exit status is 0.
    func generateHostKeys() throws -> Int32 {
        let prefix = self.identityFile ?? ""
        let comment = defaultComment()
        var started = false
        for hostKey in Self.hostKeys {
            let privatePath = prefix + hostKey.path
            var st = stat()
            if stat(privatePath, &st) == 0 {
                if st.st_size != 0 { continue }
            } else if errno != ENOENT {
                SSHKeygenLink.log("Could not stat \(hostKey.path): \(String(cString: strerror(errno)))")
                started = false
                continue
            }
            if !started {
                started = true
                writeOut("ssh-keygen: generating new host keys: ")
            }
            writeOut("\(hostKey.display) ")
            if !self.generateHostKey(hostKey.type, privatePath: privatePath, shownPath: hostKey.path, comment: comment)
            {
                started = false
            }
        }
        if started { writeOut("\n") }
        return 0
    }

    /// One host key made and moved into place; false (after ssh-keygen's error line) when a
    /// step failed, its temporary files left where they are as ssh-keygen leaves them.
    private func generateHostKey(_ type: SSHKeyType, privatePath: String, shownPath: String, comment: String) -> Bool {
        let privateTemporary: String
        switch Self.makeTemporary(privatePath + ".XXXXXXXXXX") {
        case .success(let (fd, path)):
            close(fd)
            privateTemporary = path
        case .failure(let failure):
            SSHKeygenLink.log("Could not save your private key in \(failure.template): \(failure.reason)")
            return false
        }
        var key: SSHPrivateKey
        do { key = try SSHPrivateKey(generating: type, comment: comment) } catch {
            SSHKeygenLink.log("sshkey_generate failed: \(Self.reason(error))")
            return false
        }
        key.comment = comment
        do {
            let contents = try key.fileRepresentation(
                format: self.fileFormat(for: type),
                passphrase: SecureBytes(utf8: ""),
                options: self.fileOptions
            )
            try contents.withUnsafeBytes { try Self.writeFile(privateTemporary, $0) }
        } catch {
            SSHKeygenLink.log("Saving key \"\(privateTemporary)\" failed: \(Self.reason(error))")
            return false
        }
        let publicTemporary: String
        switch Self.makeTemporary(privatePath + ".pub.XXXXXXXXXX") {
        case .success(let (fd, path)):
            fchmod(fd, 0o644)
            close(fd)
            publicTemporary = path
        case .failure(let failure):
            SSHKeygenLink.log("Could not save your public key in \(failure.template): \(failure.reason)")
            return false
        }
        do {
            let line = Array(key.publicKey.publicKeyFileContents(comment: comment).utf8)
            try line.withUnsafeBytes { try Self.writeFile(publicTemporary, $0) }
        } catch {
            SSHKeygenLink.log("Unable to save public key to \(self.identityFile ?? ""): \(Self.reason(error))")
            return false
        }
        if rename(publicTemporary, privatePath + ".pub") != 0 {
            SSHKeygenLink.log("Unable to move \(privatePath).pub into position: \(String(cString: strerror(errno)))")
            return false
        }
        if rename(privateTemporary, privatePath) != 0 {
            SSHKeygenLink.log("Unable to move \(shownPath) into position: \(String(cString: strerror(errno)))")
            return false
        }
        return true
    }

    /// Why mkstemp(3) failed, with the template as it left it.
    struct TemporaryFailure: Error {
        var template: String
        var reason: String
    }

    /// mkstemp(3) on `template` (ending in X's): the open descriptor and the file's path.
    static func makeTemporary(_ template: String) -> Result<(Int32, String), TemporaryFailure> {
        var buffer = Array(template.utf8CString)
        let fd = buffer.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        let path = String(decoding: buffer.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard fd >= 0 else {
            return .failure(TemporaryFailure(template: path, reason: String(cString: strerror(errno))))
        }
        return .success((fd, path))
    }

    /// The file written over (as sshkey_save_private and sshkey_save_public open theirs:
    /// O_TRUNC, its mode kept), synced to disk before it is renamed into place.
    static func writeFile(_ path: String, _ bytes: UnsafeRawBufferPointer) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw SSHKeyError(.fileError, "\(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var offset = 0
        while offset < bytes.count {
            let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw SSHKeyError(.fileError, "\(path): \(String(cString: strerror(errno)))") }
            offset += n
        }
        guard fsync(fd) == 0 else { throw SSHKeyError(.fileError, "\(path): \(String(cString: strerror(errno)))") }
    }
}
