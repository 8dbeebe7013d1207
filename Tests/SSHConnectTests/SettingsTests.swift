import SSHConnect
import SSHProtocol
import Synchronization
import Testing

@Suite("hosts files, destinations and configuration")
struct SettingsTests {
    @Test("a hosts file: one destination a line; comments, blank lines and blanks ignored")
    func hostsFile() throws {
        let text = "# fleet\nweb1\n\n  alice@web2 # the second\nssh://bob@web3:2222\t\n#web4\n"
        #expect(
            try ConnectionSettings.hostsFileDestinations(text, path: "hosts")
                == ["web1", "alice@web2", "ssh://bob@web3:2222"]
        )
    }

    @Test("a hosts file with CR LF line ends: one destination a line, as with LF")
    func hostsFileCRLF() throws {
        let text = "# fleet\r\nweb1\r\n\r\nalice@web2\r\nssh://bob@web3:2222\r\n"
        #expect(
            try ConnectionSettings.hostsFileDestinations(text, path: "hosts")
                == ["web1", "alice@web2", "ssh://bob@web3:2222"]
        )
        #expect {
            try ConnectionSettings.hostsFileDestinations("web1\r\nweb2 web3\r\n", path: "hosts")
        } throws: {
            ($0 as? SSHConnectError)?.message == "hosts line 2 holds more than one destination; give one a line"
        }
    }

    @Test("a hosts file line with two words or a bad destination is refused, naming the line")
    func hostsFileErrors() throws {
        #expect {
            try ConnectionSettings.hostsFileDestinations("web1\nweb2 web3\n", path: "hosts")
        } throws: {
            ($0 as? SSHConnectError)?.message == "hosts line 2 holds more than one destination; give one a line"
        }
        #expect {
            try ConnectionSettings.hostsFileDestinations("ssh://web1:99999\n", path: "hosts")
        } throws: { ($0 as? SSHConnectError)?.message.hasPrefix("hosts line 1: ") == true }
    }

    @Test("the destinations: the command line's, then the hosts file's, each once")
    func allDestinations() throws {
        let home = try Home()
        try home.directory.write("hosts", "web2\nweb1\nweb3\n")
        var settings = ConnectionSettings(hostsFile: home.path("hosts"), destinations: ["web1", "web2"])
        #expect(try settings.allDestinations() == ["web1", "web2", "web3"])
        try home.directory.write("empty", "# nothing\n")
        settings = ConnectionSettings(hostsFile: home.path("empty"))
        #expect {
            try settings.allDestinations()
        } throws: { ($0 as? SSHConnectError)?.message == "the hosts file \(home.path("empty")) names no destination" }
        settings = ConnectionSettings(hostsFile: home.path("absent"))
        #expect {
            try settings.allDestinations()
        } throws: {
            ($0 as? SSHConnectError)?.message.hasPrefix("cannot read the hosts file \(home.path("absent")): ") == true
        }
    }

    @Test("-p wins over -o Port and ssh_config; the first -o value wins; -F must exist")
    func resolve() throws {
        let home = try Home()
        try home.directory.write("ssh_config", "Host web1\n  Port 2200\n  User carol\n")
        let path = home.path("ssh_config")
        #expect(try ConnectionSettings(configFile: path).resolve("web1", home: home.directory.url.path).port == 2200)
        let first = ConnectionSettings(options: ["Port=2300", "Port=2400"], configFile: path)
        #expect(try first.resolve("web1", home: home.directory.url.path).port == 2300)
        let explicit = ConnectionSettings(port: 2500, options: ["Port=2300"], configFile: path)
        #expect(try explicit.resolve("web1", home: home.directory.url.path).port == 2500)
        #expect(try explicit.resolve("web1", home: home.directory.url.path).user == "carol")
        let missing = ConnectionSettings(configFile: home.path("nope"))
        #expect {
            try missing.resolve("web1")
        } throws: { ($0 as? SSHConnectError)?.message == "the ssh_config file \(home.path("nope")) does not exist" }
    }
}

@Suite("the runner over one host or many")
struct RunnerTests {
    final class Reporter: FleetReporter {
        let calls = Mutex<[String]>([])
        func hostEnded(_ ended: Int, of total: Int) { self.calls.withLock { $0.append("\(ended)/\(total)") } }
        func runEnded() { self.calls.withLock { $0.append("end") } }
    }

    @Test("every host gets a result in order; the reporter hears each host end, then the run")
    func reported() throws {
        let settings = ConnectionSettings(configFile: "/nonexistent/ssh_config", parallel: 3)
        let connector = Connector(settings: settings, prompter: ScriptedPrompter())
        let reporter = Reporter()
        let hosts = ["web1", "web2", "web3", "web4"]
        let results = connector.run(hosts, password: .ask, reporter: reporter) { _, _, _ in 1 }
        #expect(results.map(\.destination) == hosts)
        for host in results {
            #expect {
                try host.outcome.get()
            } throws: {
                ($0 as? SSHConnectError)?.message == "the ssh_config file /nonexistent/ssh_config does not exist"
            }
        }
        #expect(reporter.calls.withLock { $0 } == ["1/4", "2/4", "3/4", "4/4", "end"])
    }

    @Test("one host runs on the calling thread and needs no reporter")
    func oneHost() throws {
        let connector = Connector(
            settings: ConnectionSettings(configFile: "/nonexistent"),
            prompter: ScriptedPrompter()
        )
        #expect {
            try connector.withConnection(to: "web1", password: .ask) { _, _ in 1 }
        } throws: { $0 is SSHConnectError }
    }
}
