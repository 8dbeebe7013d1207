import ArgumentParser
import SSHCrypto

@main
struct Keysmith: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keysmith",
        abstract: "An SSH key toolkit, byte-compatible with OpenSSH: generate, inspect, convert, sign and deploy keys.",
        discussion: """
            keysmith does what ssh-keygen and ssh-copy-id do for Ed25519, RSA and ECDSA keys. \
            Every file it writes OpenSSH reads, every file OpenSSH writes it reads, and what it \
            prints (fingerprints, public key lines, randomart) is byte for byte what ssh-keygen \
            prints. Deploying a key uses keysmith's own SSH client, so no ssh binary is needed.

            Results go to standard output; prompts, progress and diagnostics to standard error. \
            Exit status: 0 on success; 1 on failure or refusal (wrong passphrase, malformed \
            file, file exists, bad signature, changed host key); 64 on a usage error.
            """,
        version: "0.1.0",
        subcommands: [
            Generate.self,
            Public.self,
            Fingerprint.self,
            Passphrase.self,
            Comment.self,
            Convert.self,
            KnownHosts.self,
            Sign.self,
            Verify.self,
            FindPrincipals.self,
            MatchPrincipals.self,
            CheckNoValidate.self,
            Cert.self,
            CopyID.self,
            RemoveID.self,
            ListIDs.self,
            Rotate.self,
            Challenge.self,
            Serve.self,
            KRLCommand.self,
            Agent.self,
            SecurityKeyCommand.self,
        ]
    )

    /// Every command first forbids core files and marks the process not dumpable: most
    /// commands read or make a private key, and the two system calls cost nothing measurable.
    static func main() {
        ProcessHardening.disableCoreDumps()
        if let link = OpenSSHLink(programPath: CommandLine.arguments.first ?? "") {
            link.runAndExit(Array(CommandLine.arguments.dropFirst()))
        }
        Self.main(bareIdentityOption(splittingJoinedValues(Array(CommandLine.arguments.dropFirst()))))
    }
}

/// The command line with each `-Xvalue=more` word before `--` split after its letter, as
/// getopt splits it: `-Ohashalg=sha256` is `-O hashalg=sha256`, as ssh-keygen and git write it.
/// ArgumentParser joins other values itself (`.customShort(_, allowingJoined: true)`), but reads
/// a single-dash word holding `=` as a long option (`-Ohashalg` with the value `sha256`);
/// keysmith has no single-dash long options, so such a word was always a usage error.
func splittingJoinedValues(_ arguments: [String]) -> [String] {
    var out: [String] = []
    var rest = arguments[...]
    while let argument = rest.popFirst() {
        if argument == "--" {
            out.append(argument)
            out += rest
            break
        }
        let characters = Array(argument)
        if characters.count > 2, characters[0] == "-", characters[1].isLetter || characters[1].isNumber,
            characters.contains("=")
        {
            out += [String(characters[0...1]), String(characters[2...])]
        } else {
            out.append(argument)
        }
    }
    return out
}
