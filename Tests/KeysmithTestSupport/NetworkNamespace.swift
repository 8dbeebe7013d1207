import Foundation
import Synchronization

/// A network namespace of its own (`ip netns add`) joined to this one by a veth pair on a
/// private /30: hosts that listen on its ``address`` are reachable from here, and hosts that
/// listen on its own 127.0.0.1 are not (only through something running inside it, such as
/// a jump host). Needs root and iproute2; removed (with the veth pair) in `deinit`.
///
/// Setting it up fails loudly (a thrown ``FixtureError``), never by skipping: the tests
/// that need it prove that a host reachable only through a jump host is reached.
public final class NetworkNamespace: Sendable {
    /// The namespace's name, for `ip netns exec NAME`.
    public let name: String
    /// This namespace's end of the veth pair.
    public let hostAddress: String
    /// The namespace's end of the veth pair: reachable from here.
    public let address: String

    private static let counter = Atomic<Int>(0)

    public init() throws {
        let n = Self.counter.wrappingAdd(1, ordering: .relaxed).newValue % 60
        let pid = Int(getpid())
        self.name = "keysmith-\(pid)-\(n)"
        // Distinct per process and per namespace: 10.(100 + pid % 100).(4n)/30.
        let prefix = "10.\(100 + pid % 100).\(4 * n)"
        self.hostAddress = "\(prefix).1"
        self.address = "\(prefix).2"
        let outside = "ksv\(pid % 100_000)x\(n)"
        let inside = "ksv\(pid % 100_000)y\(n)"
        self.outside = outside
        // Left over by an earlier process with the same pid that was killed.
        _ = try? runProcess("/usr/sbin/ip", ["netns", "del", self.name])
        _ = try? runProcess("/usr/sbin/ip", ["link", "del", outside])
        let steps: [[String]] = [
            ["netns", "add", self.name],
            ["link", "add", outside, "type", "veth", "peer", "name", inside],
            ["link", "set", inside, "netns", self.name],
            ["addr", "add", "\(self.hostAddress)/30", "dev", outside],
            ["link", "set", outside, "up"],
            ["-n", self.name, "addr", "add", "\(self.address)/30", "dev", inside],
            ["-n", self.name, "link", "set", inside, "up"],
            ["-n", self.name, "link", "set", "lo", "up"],
        ]
        for step in steps {
            let r: ProcessResult
            do {
                r = try runProcess("/usr/sbin/ip", step)
            } catch {
                // deinit removes what was made so far.
                throw FixtureError("cannot run ip (iproute2, TEST_PACKAGES in the Makefile): \(error)")
            }
            guard r.status == 0 else {
                throw FixtureError(
                    "ip \(step.joined(separator: " ")) failed (a network namespace needs root): \(r.stderr)"
                )
            }
        }
    }

    /// This namespace's end of the veth pair, by name (it carries ``hostAddress``).
    public var interface: String { self.outside }

    private let outside: String

    deinit { Self.remove(self.name, self.outside) }

    private static func remove(_ name: String, _ link: String) {
        // Deleting the namespace deletes its end of the veth pair, and with it ours.
        _ = try? runProcess("/usr/sbin/ip", ["netns", "del", name])
        _ = try? runProcess("/usr/sbin/ip", ["link", "del", link])
    }
}
