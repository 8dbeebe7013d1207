import SSHConnect
import SSHKeys
import SSHProtocol
import Testing

@Suite("the words printed for a failure")
struct FailureTextTests {
    struct Other: Error, CustomStringConvertible {
        var description: String { "something else broke" }
    }

    @Test("a refused login says nothing was changed; the host comes first")
    func authenticationFailed() {
        let error = SSHProtocolError(.authenticationFailed, "no authentication method worked")
        #expect(
            FailureText.reason(error)
                == "no authentication method worked (the password or keys were refused; nothing was changed)"
        )
        #expect(
            FailureText.line(error, destination: "alice@web1")
                == "alice@web1: no authentication method worked (the password or keys were refused; nothing was changed)"
        )
    }

    @Test("other protocol errors and unknown errors are named by host")
    func hostFirst() {
        let error = SSHProtocolError(.connectionFailed, "cannot connect to web1 port 22: Connection refused")
        #expect(FailureText.reason(error) == "cannot connect to web1 port 22: Connection refused")
        #expect(
            FailureText.line(error, destination: "web1") == "web1: cannot connect to web1 port 22: Connection refused"
        )
        #expect(FailureText.reason(Other()) == "something else broke")
        #expect(FailureText.line(Other(), destination: "web1") == "web1: something else broke")
    }

    @Test("errors that name their own file or program are printed alone")
    func selfNaming() throws {
        let connect = SSHConnectError(.badFile, "the ssh_config file /x does not exist")
        #expect(FailureText.line(connect, destination: "web1") == "the ssh_config file /x does not exist")
        let keyError: SSHKeyError
        do {
            _ = try SSHPrivateKey(fileContents: Array("not a key".utf8))
            Issue.record("a file that holds no key was read")
            return
        } catch { keyError = error }
        #expect(FailureText.line(keyError, destination: "web1") == keyError.message)
        #expect(FailureText.reason(keyError) == keyError.message)
    }

    @Test("a sentence ends with one period")
    func period() {
        #expect(sentence("done") == "done.")
        #expect(sentence("done.") == "done.")
        #expect(sentence("done?") == "done?")
    }
}
