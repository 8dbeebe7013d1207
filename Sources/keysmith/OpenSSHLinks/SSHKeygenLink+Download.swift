import CommandLineText
import SSHConnect
import SSHCrypto
import SSHKeys
import SecurityKey

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// ssh-keygen -K: the resident keys of a security key saved in the current directory.
extension SSHKeygenLink.Invocation {
    /// ssh-keygen.c do_download_sk, with main()'s check of the -O options before it: the
    /// PIN asked first (read_passphrase, standard input allowed), the keys loaded through
    /// the provider (-w, else SSH_SK_PROVIDER, else `internal`), then each key saved after
    /// the overwrite question, its passphrase asked once (-P, else -N, else twice). A refused
    /// overwrite or a failure stops at that key: exit 255, the keys before it saved.
    func downloadResidentKeys() throws -> Int32 {
        var options = SecurityKeyOptions()
        for option in self.getopt.all("O") {
            guard option.lowercased().hasPrefix("device=") else {
                throw SSHKeygenLink.fatal("Option \"\(option)\" is unsupported for FIDO authenticator download")
            }
            options.device = String(option.dropFirst(7))
        }
        let quiet = self.getopt.has("q")
        let providerName =
            self.getopt.last("w") ?? getenv("SSH_SK_PROVIDER").map { String(cString: $0) } ?? "internal"
        var pin: SecureBytes? = Self.readPassphrase("Enter PIN for authenticator: ")
        // ssh-sk-helper's null_empty: an empty answer is no PIN.
        if pin?.count == 0 { pin = nil }
        if !quiet { writeOut("You may need to touch your authenticator to authorize key download.\n") }
        let resident: [SecurityKeyResidentKey]
        do {
            let provider = try SecurityKeySigning.provider(path: providerName)
            resident = try provider.loadResidentKeys(pin: pin, options: options)
        } catch {
            Self.reportLoadFailure(error, provider: providerName)
            return 255
        }
        pin = nil
        let keys: [DownloadedResidentKey]
        do { keys = try DownloadedResidentKey.keys(resident) } catch {
            SSHKeygenLink.log("Unable to load resident keys: invalid format")
            return 255
        }
        if keys.isEmpty && !quiet { SSHKeygenLink.log("No keys to download") }
        var passphrase: SecureBytes? = nil
        for downloaded in keys {
            let path = downloaded.fileName
            if KeyFileIO.fileExists(path) {
                writeOut("\(path) already exists.\nOverwrite (y/n)? ")
                guard let answer = Self.readLine(), answer.first == "y" || answer.first == "Y" else { return 255 }
            }
            if passphrase == nil {
                passphrase =
                    self.getopt.last("P").map { SecureBytes(utf8: $0) }
                    ?? self.getopt.last("N").map { SecureBytes(utf8: $0) } ?? Self.readNewPassphrase()
            }
            let key = downloaded.key
            guard let passphrase, self.save(key, path: path, passphrase: passphrase) else { return 255 }
            if !quiet {
                // The application is the authenticator's text: escaped before it reaches the terminal.
                let application = downloaded.suffix.isEmpty ? "" : " " + escapePeerText(key.comment)
                writeOut("Saved \(key.type.displayName) key\(application) to \(path)\n")
            }
            do {
                try KeyFileIO.writeAtomically(
                    path: path + ".pub",
                    contents: Array(key.publicKey.publicKeyFileContents(comment: key.comment).utf8),
                    mode: 0o644,
                    overwrite: true
                )
            } catch {
                SSHKeygenLink.log("Saving public key \"\(path).pub\" failed: \(Self.reason(error))")
                return 255
            }
        }
        return 0
    }

    /// What ssh-keygen says when sshsk_load_resident fails: the provider's failure as
    /// ssh-sk.c logs it (the middleware's number), then the ssherr.h sentence that
    /// skerr_to_ssherr makes of it.
    private static func reportLoadFailure(_ error: any Error, provider: String) {
        guard let error = error as? SecurityKeyError else {
            SSHKeygenLink.log("Unable to load resident keys: invalid format")
            return
        }
        let (number, reason): (Int, String) =
            switch error.code {
            case .unsupported: (-2, "requested feature not supported")
            case .pinRequired: (-3, "incorrect passphrase supplied to decrypt private key")
            case .deviceNotFound: (-4, "device not found")
            case .credentialExists: (-5, "bad permissions")
            default: (-1, "invalid format")
            }
        switch error.code {
        case .providerUnavailable, .unsupportedVersion:
            // sshsk_open refused the library before any call.
            SSHKeygenLink.log("provider \(provider) is not an OpenSSH FIDO library")
        case .invalidResponse:
            break
        default:
            SSHKeygenLink.log("Provider \"\(provider)\" returned failure \(number)")
        }
        SSHKeygenLink.log("Unable to load resident keys: \(reason)")
    }
}
