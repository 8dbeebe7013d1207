import Foundation
import KeysmithTestSupport
import Testing

/// BindInterface against OpenSSH's sshd: the connection comes from the interface's address
/// (sshconnect.c `check_ifaddrs`: `lo` has only loopback addresses, which it takes when
/// nothing else is there), and an interface that does not exist is one sentence, as ssh
/// fails ("getifaddrs: NAME: no suitable addresses").
@Suite("BindInterface against OpenSSH's sshd")
struct BindInterfaceTests {
    @Test("BindInterface lo reaches a loopback sshd: copy-id deploys, ssh logs in with the new key")
    func loopback() throws {
        let s = try CopyIDTests.Setup()
        let r = try s.copy(["-o", "BindInterface=lo", "-v"])
        #expect(r.status == 0, "\(r.stderr)\n\(s.sshd.log)")
        let login = try s.sshd.sshLogin(identity: s.key, command: "id -un", extraOptions: ["-o", "BindInterface=lo"])
        #expect(login.status == 0 && login.stdout == s.sshd.user + "\n", "\(login.stderr)")
    }

    @Test("the connection comes from the interface's address: a veth end's, as sshd sees it")
    func sourceAddress() throws {
        let s = try CopyIDTests.Setup()
        let network = try NetworkNamespace()
        let option = ["-o", "BindInterface=\(network.interface)"]
        let r = try s.copy(option)
        #expect(r.status == 0, "\(r.stderr)\n\(s.sshd.log)")
        let login = try s.sshd.sshLogin(identity: s.key, extraOptions: option)
        #expect(login.status == 0, "\(login.stderr)")
        // keysmith's login (keyboard-interactive) and ssh's (publickey), both from the veth end.
        let accepted = s.sshd.log.split(whereSeparator: \.isNewline).filter {
            $0.hasPrefix("Accepted ") && $0.contains(" for ")
        }
        #expect(accepted.count == 2, "\(s.sshd.log)")
        #expect(accepted.allSatisfy { $0.contains(" for \(s.sshd.user) from \(network.hostAddress) port ") })
    }

    @Test("an interface that does not exist: one sentence, exit 1, as ssh fails")
    func missing() throws {
        let s = try CopyIDTests.Setup()
        let ssh = try s.sshd.sshLogin(identity: s.key, extraOptions: ["-o", "BindInterface=nosuch0"])
        #expect(ssh.status == 255 && ssh.stderr.contains("getifaddrs: nosuch0: no suitable addresses"), "\(ssh.stderr)")
        let r = try s.copy(["-o", "BindInterface=nosuch0"])
        #expect(r.status == 1)
        let lines = r.stderr.split(separator: "\n")
        #expect(
            lines.last
                == "keysmith: \(s.destination): cannot connect to 127.0.0.1:\(s.sshd.port) from the BindInterface nosuch0: it has no IPv4 address that is up.",
            "\(r.stderr)"
        )
        #expect(lines.count == 2, "\(r.stderr)")
        #expect(s.sshd.authorizedKeys() == nil)
        // BindAddress wins over BindInterface, as sshconnect.c `ssh_create_socket`.
        let both = try s.copy(["-o", "BindAddress=127.0.0.1", "-o", "BindInterface=nosuch0"])
        #expect(both.status == 0, "\(both.stderr)")
    }
}
