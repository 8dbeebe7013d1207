import SecurityKey
import Testing

@Suite("FIDO2Provider without hardware")
struct FIDO2ProviderTests {
    @Test("with no token present, every operation says so in one sentence")
    func noToken() throws {
        let provider = FIDO2Provider()
        let error = refusal {
            try provider.enroll(
                algorithm: .ed25519,
                application: "ssh:",
                challenge: [1],
                flags: [.userPresenceRequired],
                pin: nil,
                options: SecurityKeyOptions()
            )
        }
        #expect(error?.code == .deviceNotFound)
        #expect(error?.message == "no FIDO authenticator found")
        let signError = refusal {
            try provider.sign(
                algorithm: .ecdsaP256,
                message: [1],
                application: "ssh:",
                keyHandle: [1],
                flags: [],
                pin: nil,
                options: SecurityKeyOptions()
            )
        }
        #expect(signError?.message == "no FIDO authenticator found")
        #expect(refusal { try FIDO2Provider.devicePaths() }?.code == .deviceNotFound)
    }

    @Test("a named device that is not there is not found")
    func namedDevice() throws {
        let error = refusal {
            try FIDO2Provider().sign(
                algorithm: .ed25519,
                message: [1],
                application: "ssh:",
                keyHandle: [1],
                flags: [],
                pin: nil,
                options: SecurityKeyOptions(device: "/nonexistent/hidraw")
            )
        }
        #expect(error?.code == .deviceNotFound)
        #expect(error?.message.hasPrefix("cannot open the FIDO authenticator /nonexistent/hidraw: ") == true)
    }

    @Test("listing resident keys wants the PIN before it looks for a token")
    func residentNeedsPIN() throws {
        #expect(
            refusal { try FIDO2Provider().loadResidentKeys(pin: nil, options: SecurityKeyOptions()) }?.code
                == .pinRequired
        )
    }
}
