internal import SSHKeys

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One criterion of a `Match` line (readconf.c `match_cfg_line`, as OpenSSH 9.2's ssh
/// evaluates it): `all`, `canonical`, `final`, or a name with its pattern list or command.
struct MatchCriterion: Sendable, Equatable {
    enum Kind: String, Sendable, CaseIterable {
        case all, canonical, final, host, originalhost, user, localuser, exec
    }
    var kind: Kind
    /// Written with a leading `!`: the criterion holds when it would not.
    var negated: Bool
    /// The pattern list, or the command of `exec`; nil for `all`, `canonical`, `final`.
    var argument: String?

    /// Criteria newer versions of ssh know and keysmith does not evaluate.
    static let unsupported: Set<String> = ["localnetwork", "tagged", "version", "command", "sessiontype"]

    /// Parses the words after `Match`.
    /// - Throws: `.invalidConfiguration` naming `source` for an unknown criterion, one
    ///   without its argument, `all` combined with others, or no criterion at all.
    static func parse(_ words: [String], source: String) throws(SSHProtocolError) -> [MatchCriterion] {
        var criteria: [MatchCriterion] = []
        var i = 0
        while i < words.count {
            let written = words[i]
            i += 1
            let negated = written.hasPrefix("!")
            let name = (negated ? String(written.dropFirst()) : written).lowercased()
            guard let kind = Kind(rawValue: name) else {
                if Self.unsupported.contains(name) {
                    throw SSHProtocolError(
                        .invalidConfiguration,
                        "\(source): keysmith does not evaluate the Match criterion '\(written)'"
                    )
                }
                throw SSHProtocolError(.invalidConfiguration, "\(source): unknown Match criterion '\(written)'")
            }
            switch kind {
            case .all:
                // readconf.c: "all" must appear alone.
                guard criteria.isEmpty, i == words.count else {
                    throw SSHProtocolError(
                        .invalidConfiguration,
                        "\(source): Match '\(written)' cannot be combined with other criteria"
                    )
                }
                criteria.append(MatchCriterion(kind: kind, negated: negated, argument: nil))
            case .canonical, .final:
                criteria.append(MatchCriterion(kind: kind, negated: negated, argument: nil))
            default:
                guard i < words.count, !words[i].isEmpty else {
                    throw SSHProtocolError(.invalidConfiguration, "\(source): Match '\(written)' needs an argument")
                }
                criteria.append(MatchCriterion(kind: kind, negated: negated, argument: words[i]))
                i += 1
            }
        }
        guard !criteria.isEmpty else {
            throw SSHProtocolError(.invalidConfiguration, "\(source): Match needs at least one criterion")
        }
        return criteria
    }

    /// match.c `match_pattern_list`: a comma-separated list, `!` negating a pattern.
    static func matches(_ string: String, list: String, lowercasingPattern: Bool) -> Bool {
        HostPattern.matchList(Array(string.utf8), patterns: Array(list.utf8), lowercasingPattern: lowercasingPattern)
            == .positive
    }
}

/// `Match exec`: the command run through `/bin/sh -c` as ssh runs it (readconf.c
/// `execute_in_shell`: standard input and output on /dev/null, standard error ssh's own),
/// bounded in time.
enum MatchExec {
    /// Runs `command`; true when it exits 0.
    /// - Throws: `.invalidConfiguration` naming `source` when the command cannot start,
    ///   is killed by a signal, or runs longer than `timeout` seconds (it and what it
    ///   started are then killed).
    static func run(_ command: String, timeout: Double, source: String) throws(SSHProtocolError) -> Bool {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        // Its own process group, so that a timeout kills what the shell started too.
        let pid: pid_t
        switch spawnConfiguredCommand("/bin/sh", ["sh", "-c", command], actions: &actions, ownProcessGroup: true) {
        case .success(let started): pid = started
        case .failure(let error):
            throw SSHProtocolError(
                .invalidConfiguration,
                "\(source): cannot run Match exec '\(command)': \(error.text)"
            )
        }
        let end = ContinuousClock.now + .seconds(timeout)
        var status: Int32 = 0
        while true {
            let rc = waitpid(pid, &status, WNOHANG)
            if rc == pid { break }
            if rc < 0 && errno != EINTR {
                throw SSHProtocolError(.invalidConfiguration, "\(source): Match exec '\(command)' was lost")
            }
            if ContinuousClock.now >= end {
                kill(-pid, SIGKILL)
                kill(pid, SIGKILL)
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                throw SSHProtocolError(
                    .timeout,
                    "\(source): Match exec '\(command)' did not finish within \(seconds(timeout)) seconds (ConnectTimeout) and was killed"
                )
            }
            usleep(5000)
        }
        // <sys/wait.h>: the low 7 bits are the signal that ended it, the next 8 its exit status.
        if status & 0x7f != 0 {
            throw SSHProtocolError(
                .invalidConfiguration,
                "\(source): Match exec '\(command)' was killed by signal \(status & 0x7f)"
            )
        }
        return (status >> 8) & 0xff == 0
    }
}
