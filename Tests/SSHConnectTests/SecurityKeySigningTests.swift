import SSHConnect
import Testing

@Suite("the security key provider, as ssh.c and readconf.c pick it")
struct SecurityKeySigningTests {
    @Test(
        "SecurityKeyProvider wins over SSH_SK_PROVIDER; $NAME is read from the environment; unset is none",
        arguments: [
            (nil, ["SSH_SK_PROVIDER": "/env.so"], "/env.so"),
            ("/config.so", ["SSH_SK_PROVIDER": "/env.so"], "/config.so"),
            ("$OTHER", ["SSH_SK_PROVIDER": "/env.so", "OTHER": "/other.so"], "/other.so"),
            ("$OTHER", ["SSH_SK_PROVIDER": "/env.so"], nil),
            (nil, [:], nil),
            ("internal", [:], "internal"),
        ] as [(String?, [String: String], String?)]
    )
    func providerPath(configured: String?, environment: [String: String], expected: String?) {
        #expect(SecurityKeySigning.providerPath(configured: configured, environment: { environment[$0] }) == expected)
    }
}
