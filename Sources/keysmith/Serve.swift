import ArgumentParser
import CommandLineText
import Dispatch
import KeyVerify
import Logging
import SSHConnect
import SSHCrypto
import SSHKeys

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run an SSH server that proves who holds a key, and runs nothing.",
        discussion: """
            Clients authenticate with a public key listed in the authorized_keys file \
            (from= and expiry-time= honoured, as sshd does; a security key's signature \
            must assert user presence unless its line has no-touch-required, and user \
            verification where it has verify-required); password and \
            keyboard-interactive are refused. User certificates log in through a \
            cert-authority line holding their CA key (its principals= list, else the user \
            name, must be one of the certificate's principals) and through \
            --trusted-user-ca-keys (sshd's TrustedUserCAKeys: the user name must be one of \
            the certificate's principals, or, with --authorized-principals, a principal \
            listed in that file), with the certificate's validity, source-address and \
            critical options checked as sshd checks them. With --revoked-keys (a KRL or \
            a list of public keys, read for each key offered) a listed key, certificate or \
            certificate's CA is refused; a file that cannot be used refuses every key, as \
            in sshd. For an exec or shell request the server \
            writes "authenticated SHA256:... COMMENT" and exits 0; it never runs a command \
            or gives a shell. Without --listen it listens on every IPv4 and IPv6 address, \
            as sshd does. Logs go to standard error as key=value lines (peer, user, \
            fingerprint, outcome; for a certificate its ID, serial and CA; the reason of \
            a refusal). SIGTERM or SIGINT stops it.
            """
    )

    @Option(
        name: .customShort("p", allowingJoined: true),
        help: ArgumentHelp("Port to listen on (0 picks a free one).", valueName: "port")
    )
    var port: Int

    @Option(
        name: .customLong("listen"),
        help: ArgumentHelp("Address to listen on, repeatable (default 0.0.0.0 and ::).", valueName: "addr")
    )
    var listen: [String] = []

    @Option(
        name: .customLong("host-key"),
        help: ArgumentHelp("Host private key file (unencrypted, mode 600), repeatable.", valueName: "file")
    )
    var hostKeys: [String] = []

    @Option(
        name: .customLong("authorized-keys"),
        help: ArgumentHelp("The authorized_keys file, read again for each key offered.", valueName: "file")
    )
    var authorizedKeys: String

    @Option(
        name: .customLong("trusted-user-ca-keys"),
        help: ArgumentHelp(
            "CA public keys whose user certificates may log in (sshd's TrustedUserCAKeys).",
            valueName: "file"
        )
    )
    var trustedUserCAKeys: String?

    @Option(
        name: .customLong("authorized-principals"),
        help: ArgumentHelp(
            "Principals a trusted CA's certificate must list one of (sshd's AuthorizedPrincipalsFile).",
            valueName: "file"
        )
    )
    var authorizedPrincipals: String?

    @Option(
        name: .customLong("revoked-keys"),
        help: ArgumentHelp(
            "Keys, certificates and CA keys refused: a KRL or a list of public keys (sshd's RevokedKeys).",
            valueName: "file"
        )
    )
    var revokedKeys: String?

    @Option(
        name: .customLong("login-grace-time"),
        help: ArgumentHelp("Seconds a client has to authenticate (default 120).", valueName: "seconds")
    )
    var loginGraceTime: Double = 120

    @Option(
        name: .customLong("max-startups"),
        help: ArgumentHelp("Unauthenticated connections at once; more are dropped (default 10).", valueName: "n")
    )
    var maxStartups: Int = 10

    @Option(
        name: .customLong("log-level"),
        help: ArgumentHelp("Least severe log level: debug, info, notice, warning, error (default info).")
    )
    var logLevel: String = "info"

    func validate() throws {
        guard (0...65535).contains(self.port) else { throw ValidationError("The port must be 0-65535.") }
        guard !self.hostKeys.isEmpty else { throw ValidationError("At least one --host-key is needed.") }
        guard self.loginGraceTime > 0 && self.loginGraceTime.isFinite else {
            throw ValidationError("The login grace time must be a positive number of seconds.")
        }
        guard self.maxStartups > 0 else { throw ValidationError("--max-startups must be positive.") }
        if self.authorizedPrincipals != nil && self.trustedUserCAKeys == nil {
            throw ValidationError("--authorized-principals applies only with --trusted-user-ca-keys.")
        }
        guard Logger.Level(rawValue: self.logLevel) != nil else {
            throw ValidationError("Unknown log level \"\(self.logLevel)\".")
        }
    }

    func run() throws {
        try reportingFailures {
            var keys: [SSHPrivateKey] = []
            for path in self.hostKeys {
                let file = expandTilde(path)
                do throws(SSHKeyError) {
                    var contents = try KeyFileIO.readPrivateKeyFile(file)
                    // An unencrypted host key's file bytes are the key: zero them once decoded.
                    defer { secureWipe(&contents) }
                    keys.append(try SSHPrivateKey(fileContents: contents))
                } catch {
                    throw Failure("\(path): \(error.message)")
                }
            }
            let level = Logger.Level(rawValue: self.logLevel) ?? .info
            let logger = Logger(label: "keysmith.serve") { KeyValueLogHandler(label: $0, level: level) }
            let server: AuthorizedKeysServer
            do throws(KeyVerifyError) {
                server = try AuthorizedKeysServer(
                    configuration: .init(
                        addresses: self.listen.isEmpty ? ["0.0.0.0", "::"] : self.listen,
                        port: self.port,
                        hostKeys: keys,
                        authorizedKeysPath: expandTilde(self.authorizedKeys),
                        loginGraceTime: self.loginGraceTime,
                        maxStartups: self.maxStartups,
                        trustedUserCAKeysPath: self.trustedUserCAKeys.map(expandTilde),
                        authorizedPrincipalsPath: self.authorizedPrincipals.map(expandTilde),
                        revokedKeysPath: self.revokedKeys.map(expandTilde)
                    ),
                    logger: logger
                )
            } catch {
                throw Failure(error.message)
            }
            // Signals become events on a queue instead of killing the process.
            var sources: [any DispatchSourceSignal] = []
            for number in [SIGTERM, SIGINT] {
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler { server.stop() }
                source.resume()
                sources.append(source)
            }
            server.run()
            for source in sources { source.cancel() }
        }
    }
}
