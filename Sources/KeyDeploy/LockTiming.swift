/// The timings of the authorized_keys lock, the same over the shell and over SFTP
/// (docs/limits.md). keysmith uses ``standard``; tests shorten them.
struct LockTiming: Sendable {
    /// How long a waiter waits for the lock before it gives up.
    var wait: Duration = .seconds(60)
    /// How long a lock whose holder cannot be checked (another host, SFTP) must stay the same
    /// before a waiter takes it over.
    var staleAfter: Duration = .seconds(20)
    /// How often a holder shows that it is alive while it works: well under ``staleAfter``.
    var refresh: Duration = .seconds(5)
    /// Called between the steps of the SFTP path's work under the lock, before each refresh;
    /// tests make a slow holder with it.
    var work: (@Sendable () -> Void)? = nil

    static let standard = LockTiming()

    /// The first line of the remote script: the wait and the stale time in polls of 0.1 s,
    /// the refresh in whole seconds (at least one).
    var scriptSettings: String {
        let poll = Duration.milliseconds(100)
        let refresh = max(1, Int((self.refresh / .seconds(1)).rounded(.up)))
        return "wpolls=\(Int(self.wait / poll)) spolls=\(Int(self.staleAfter / poll)) rsecs=\(refresh)\n"
    }
}
