#if canImport(Glibc)
import CommandLineText
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// keysmith run as `ssh-keygen` (see OpenSSHLink): ssh-keygen 9.2's command line, its mode
/// chosen in the order of ssh-keygen.c's main(), its messages, prompts and exit statuses
/// (255 where ssh-keygen calls fatal(), 1 where it exits 1). docs/drop-in.md lists what is
/// covered and what is refused.
enum SSHKeygenLink {
    /// ssh-keygen's getopt(3) option string (OpenSSH 9.2).
    static let optionString = "ABHKLQUXceghiklopquvyC:D:E:F:I:M:N:O:P:R:V:Y:Z:a:b:f:g:m:n:r:s:t:w:z:"

    /// ssh-keygen's usage text, as its usage() prints it on stderr.
    static let usageText = """
        usage: ssh-keygen [-q] [-a rounds] [-b bits] [-C comment] [-f output_keyfile]
                          [-m format] [-N new_passphrase] [-O option]
                          [-t dsa | ecdsa | ecdsa-sk | ed25519 | ed25519-sk | rsa]
                          [-w provider] [-Z cipher]
               ssh-keygen -p [-a rounds] [-f keyfile] [-m format] [-N new_passphrase]
                           [-P old_passphrase] [-Z cipher]
               ssh-keygen -i [-f input_keyfile] [-m key_format]
               ssh-keygen -e [-f input_keyfile] [-m key_format]
               ssh-keygen -y [-f input_keyfile]
               ssh-keygen -c [-a rounds] [-C comment] [-f keyfile] [-P passphrase]
               ssh-keygen -l [-v] [-E fingerprint_hash] [-f input_keyfile]
               ssh-keygen -B [-f input_keyfile]
               ssh-keygen -D pkcs11
               ssh-keygen -F hostname [-lv] [-f known_hosts_file]
               ssh-keygen -H [-f known_hosts_file]
               ssh-keygen -K [-a rounds] [-w provider]
               ssh-keygen -R hostname [-f known_hosts_file]
               ssh-keygen -r hostname [-g] [-f input_keyfile]
               ssh-keygen -M generate [-O option] output_file
               ssh-keygen -M screen [-f input_file] [-O option] output_file
               ssh-keygen -I certificate_identity -s ca_key [-hU] [-D pkcs11_provider]
                          [-n principals] [-O option] [-V validity_interval]
                          [-z serial_number] file ...
               ssh-keygen -L [-f input_keyfile]
               ssh-keygen -A [-a rounds] [-f prefix_path]
               ssh-keygen -k -f krl_file [-u] [-s ca_public] [-z version_number]
                          file ...
               ssh-keygen -Q [-l] -f krl_file [file ...]
               ssh-keygen -Y find-principals -s signature_file -f allowed_signers_file
               ssh-keygen -Y match-principals -I signer_identity -f allowed_signers_file
               ssh-keygen -Y check-novalidate -n namespace -s signature_file
               ssh-keygen -Y sign -f key_file -n namespace file [-O option] ...
               ssh-keygen -Y verify -f allowed_signers_file -I signer_identity
                          -n namespace -s signature_file [-r krl_file] [-O option]

        """

    /// Prints ssh-keygen's usage text on stderr and returns its exit status, 1.
    static func usage() -> Int32 {
        writeAll(2, Self.usageText)
        return 1
    }

    static func run(_ arguments: [String]) -> Int32 {
        let getopt: Getopt
        do {
            getopt = try Getopt(arguments, optionString: Self.optionString)
        } catch {
            Self.log(error.message)
            return Self.usage()
        }
        if getopt.has("Y") { return Self.signatureOperation(getopt) }
        do {
            let invocation = try Invocation(getopt)
            return try invocation.run()
        } catch let exit as Exit {
            return exit.status
        } catch let failure as Failure {
            Self.log(failure.message)
            return 255
        } catch {
            Self.log("\(error)")
            return 255
        }
    }

    /// How the link ends early: the message is already printed, the status is ssh-keygen's.
    struct Exit: Error {
        var status: Int32
    }

    /// ssh-keygen's fatal(): the message and CR LF on stderr, exit status 255.
    static func fatal(_ message: String) -> Exit {
        Self.log(message)
        return Exit(status: 255)
    }

    /// ssh-keygen's error() and logit(): the message and CR LF on stderr (log.c ends every
    /// line it writes to stderr so).
    static func log(_ message: String) {
        writeAll(2, message + "\r\n")
    }

    /// An error() followed by the usage text, as ssh-keygen refuses a combination of options.
    static func usageError(_ message: String) -> Exit {
        Self.log(message)
        return Exit(status: Self.usage())
    }
}
