import CommandLineText
import SSHCrypto
import SSHKeys

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension SSHKeygenLink.Invocation {
    /// ssh-keygen.c main(): the host keys -r reads when -f is not given (_PATH_HOST_*_KEY_FILE
    /// under Debian's /etc/ssh), in its order.
    static let hostKeyFiles = ["rsa", "dsa", "ecdsa", "ed25519", "xmss"].map { "/etc/ssh/ssh_host_\($0)_key" }

    /// ssh-keygen -r HOSTNAME [-g] [-f FILE]: the SSHFP resource records (RFC 4255) of the key
    /// in FILE, or of each host key under /etc/ssh that exists.
    func printResourceRecords() throws -> Int32 {
        let host = self.getopt.last("r") ?? ""
        let generic = self.getopt.has("g")
        // Records go out once ssh-keygen is done: its fatal() ends with _exit, and what was
        // still in stdio's buffer (all of it, on a pipe) is lost.
        var output = ""
        if let path = self.identityFile {
            guard try Self.resourceRecords(path, host: host, generic: generic, into: &output) else {
                throw SSHKeygenLink.fatal("\(path): \(String(cString: strerror(ENOENT)))")
            }
        } else {
            var found = 0
            for path in Self.hostKeyFiles
            where try Self.resourceRecords(path, host: host, generic: generic, into: &output) {
                found += 1
            }
            guard found > 0 else { throw SSHKeygenLink.fatal("no keys found.") }
        }
        writeOut(output)
        return 0
    }

    /// do_print_resource_record: false when PATH does not exist; the records of the key it
    /// holds (sshkey_load_public) otherwise, and fatal when it holds none.
    private static func resourceRecords(
        _ path: String,
        host: String,
        generic: Bool,
        into output: inout String
    ) throws -> Bool {
        var st = stat()
        guard stat(path, &st) == 0 else {
            if errno == ENOENT { return false }
            throw SSHKeygenLink.fatal("\(path): \(String(cString: strerror(errno)))")
        }
        // sshkey_load_public ends every failure "pretending we couldn't find the key".
        guard let key = SSHKeygenLink.loadPublicKey(path) else {
            throw SSHKeygenLink.fatal(
                "Failed to read v2 public key from \"\(path)\": \(String(cString: strerror(ENOENT)))"
            )
        }
        output += Self.exportDNSRecords(key, host: host, generic: generic)
        return true
    }

    /// dns.c export_dns_rr: one record per digest type, SHA-1 (1) then SHA-256 (2), of the
    /// key's blob, in the SSHFP presentation format or, with -g, RFC 3597's generic one (type
    /// 44). Key types without an SSHFP number (RFC 4255, 6594, 7479: RSA 1, DSA 2, ECDSA 3,
    /// Ed25519 4), certificates and security keys among them, get none, and an error line.
    static func exportDNSRecords(_ key: SSHPublicKey, host: String, generic: Bool) -> String {
        let algorithm: Int? =
            switch key.type {
            case .rsa: 1
            case .dsa: 2
            case .ecdsa: 3
            case .ed25519: 4
            default: nil
            }
        guard let algorithm else {
            SSHKeygenLink.log("export_dns_rr: unsupported algorithm and/or digest_type")
            return ""
        }
        var records = ""
        for (digestType, function) in [(1, HashFunction.sha1), (2, .sha256)] {
            let digest = key.fingerprint(function).digest
            let rdata = digest.map { hex($0) }.joined()
            if generic {
                records += "\(host) IN TYPE44 \\# \(2 + digest.count) \(hex(algorithm)) \(hex(digestType)) \(rdata)\n"
            } else {
                records += "\(host) IN SSHFP \(algorithm) \(digestType) \(rdata)\n"
            }
        }
        return records
    }

    /// printf's `%02x`.
    private static func hex(_ value: some BinaryInteger) -> String {
        let digits = String(value, radix: 16)
        return digits.count < 2 ? "0" + digits : digits
    }
}
