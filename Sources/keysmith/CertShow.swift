import ArgumentParser
import CommandLineText
import SSHConnect
import SSHKeys

struct CertShow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Print the certificates in files (ssh-keygen -L -f FILE).",
        discussion: """
            Prints each certificate line of each FILE (- for standard input) as ssh-keygen -L \
            prints it, byte for byte: the file name (with the line number after the first \
            line, and always for standard input), then the type, the certified key's and the \
            CA's fingerprints, the CA's signature algorithm, key ID, serial, validity in local \
            time, principals, critical options and extensions. A line that holds no key, or a \
            key that is not a certificate, is reported on standard error as ssh-keygen reports \
            it; a file without a certificate makes the exit status 1. --json prints one JSON \
            array of the certificates instead (times as seconds since the epoch).
            """
    )

    @Flag(help: "Print the certificates as a JSON array.")
    var json = false

    @Argument(help: ArgumentHelp("Files of certificates; - for standard input.", valueName: "file"))
    var files: [String]

    func validate() throws {
        guard !self.files.isEmpty else { throw ValidationError("Give at least one certificate file.") }
        if self.files.filter({ $0 == "-" }).count > 1 {
            throw ValidationError("Standard input (-) can be read only once.")
        }
    }

    func run() throws {
        var failed = false
        var objects: [JSON] = []
        for file in self.files {
            let isStandardInput = file == "-"
            let name = isStandardInput ? "(stdin)" : file
            let contents: [UInt8]
            do {
                contents = isStandardInput ? try readStandardInput() : try KeyFileIO.readFile(expandTilde(file))
            } catch let error as SSHKeyError {
                printError("keysmith: \(sentence(error.message))")
                failed = true
                continue
            }
            var found = false
            for (index, line) in keygenLines(contents).enumerated() {
                let number = index + 1
                switch CertificateLine(line) {
                case .skipped:
                    continue
                case .invalid(let reason):
                    printError("\(name):\(number): invalid key: \(reason)")
                case .notCertificate:
                    printError("\(name):\(number) is not a certificate")
                case .certificate(let certificate):
                    found = true
                    if self.json {
                        objects.append(certificateJSON(certificate, file: name, line: number))
                    } else {
                        let header = !isStandardInput && number == 1 ? "\(name):\n" : "\(name):\(number):\n"
                        writeOut(escapeControlCharacters(header + certificate.keygenDescription))
                    }
                }
            }
            if !found { failed = true }
        }
        if self.json { writeOut(JSON.array(objects).text + "\n") }
        if failed { throw ExitCode(1) }
    }
}

/// The lines of `contents` as getline reads them: each with its line feed, the last one
/// without when the file does not end in one.
func keygenLines(_ contents: [UInt8]) -> [ArraySlice<UInt8>] {
    var lines: [ArraySlice<UInt8>] = []
    var start = 0
    while start < contents.count {
        let end = contents[start...].firstIndex(of: 0x0A).map { $0 + 1 } ?? contents.count
        lines.append(contents[start..<end])
        start = end
    }
    return lines
}

/// One line as ssh-keygen's do_show_cert judges it.
enum CertificateLine {
    /// Blank up to its end, or a comment.
    case skipped
    case invalid(String)
    case notCertificate
    case certificate(SSHCertificate)

    init(_ line: ArraySlice<UInt8>) {
        // getline's line is a C string: it ends at the first NUL.
        let text = line.prefix { $0 != 0 }
        let rest = text.drop { $0 == 0x20 || $0 == 0x09 }
        guard let first = rest.first, first != UInt8(ascii: "#") else {
            self = .skipped
            return
        }
        guard let (key, _) = KeygenLineReader.firstKey(inPublicKeyFile: rest) else {
            self = .invalid(Self.reason(rest))
            return
        }
        guard let certificate = key.certificate else {
            self = .notCertificate
            return
        }
        self = .certificate(certificate)
    }

    /// Why the text holds no key: ssh-keygen's "invalid format", or that a certificate's
    /// CA signature does not verify.
    private static func reason(_ text: ArraySlice<UInt8>) -> String {
        let words = text.split(whereSeparator: { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D })
        guard words.count >= 2, let blob = Base64.decode(words[1]) else { return "invalid format" }
        do throws(SSHKeyError) {
            _ = try SSHPublicKey(wireBlob: blob)
        } catch  where error.code == .signatureInvalid {
            return error.message
        } catch {}
        return "invalid format"
    }
}

/// A certificate as `cert show --json` prints it.
private func certificateJSON(_ certificate: SSHCertificate, file: String, line: Int) -> JSON {
    func fields(_ list: [SSHCertificate.Field]) -> JSON {
        .array(
            list.map { field in
                .object([
                    ("name", .string(field.name)),
                    ("value", .string(orNull: field.stringValue)),
                    ("data", .string(field.data.map(hex2).joined())),
                ])
            }
        )
    }
    let key = certificate.key
    let certificateType = SSHKeyType.certificate(key.type)
    return .object([
        ("file", .string(file)),
        ("line", .int(line)),
        ("type", .string(certificateType.sshName)),
        ("kind", .string(certificate.kind.label)),
        (
            "public_key",
            .object([
                ("type", .string(certificateType.displayName)), ("fingerprint", .string(key.fingerprint().description)),
            ])
        ),
        (
            "signing_ca",
            .object([
                ("type", .string(certificate.signatureKey.type.displayName)),
                ("fingerprint", .string(certificate.signatureKey.fingerprint().description)),
                ("algorithm", .string(certificate.signature.algorithm)),
            ])
        ),
        ("key_id", .string(certificate.keyID)),
        ("serial", .uint64(certificate.serial)),
        ("valid_after", .uint64(certificate.validAfter)),
        ("valid_before", .uint64(certificate.validBefore)),
        ("valid", .string(certificate.validityDescription)),
        ("principals", .array(certificate.principals.map { .string($0) })),
        ("critical_options", fields(certificate.criticalOptions)),
        ("extensions", fields(certificate.extensions)),
    ])
}
