import ArgumentParser
import CommandLineText
import KeyDeploy

/// One host's result in a run over several hosts: a line `DESTINATION: what happened`,
/// or a JSON object with the same.
struct HostReport {
    enum Status: CaseIterable {
        case done, alreadyPresent, removed, notPresent, listed, rotated, wouldRotate, failed

        /// The words in the summary line.
        var words: String {
            switch self {
            case .done: "done"
            case .alreadyPresent: "already present"
            case .removed: "removed"
            case .notPresent: "not present"
            case .listed: "listed"
            case .rotated: "rotated"
            case .wouldRotate: "would rotate"
            case .failed: "failed"
            }
        }

        /// The `status` value in JSON.
        var jsonName: String {
            switch self {
            case .alreadyPresent: "alreadyPresent"
            case .notPresent: "notPresent"
            case .wouldRotate: "wouldRotate"
            default: self.words
            }
        }
    }

    var destination: String
    var status: Status
    /// What happened, printed after `DESTINATION: `.
    var detail: String
    /// Lines printed instead of `DESTINATION: detail` (list-ids prints its keys).
    var lines: [String]? = nil
    /// More JSON members, after the destination, status and error.
    var json: [(String, JSON)] = []
    /// Why the host failed.
    var error: String? = nil

    /// A failed host: the reason in the line, the JSON and the summary.
    static func failed(_ destination: String, _ reason: String) -> HostReport {
        HostReport(destination: destination, status: .failed, detail: "failed: \(reason)", error: reason)
    }

    var jsonObject: JSON {
        var members: [(String, JSON)] = [
            ("destination", .string(self.destination)), ("status", .string(self.status.jsonName)),
        ]
        if let error { members.append(("error", .string(error))) }
        return .object(members + self.json)
    }
}

/// Prints one line per host in the order given (or a JSON array), then a summary line on
/// stdout; names the failed hosts in one sentence on stderr and exits 1 when any failed.
func finishFleet(_ reports: [HostReport], json: Bool) throws {
    if json {
        writeOut(JSON.array(reports.map(\.jsonObject)).text + "\n")
    } else {
        for report in reports {
            let lines = report.status == .failed ? nil : report.lines
            // Details and lines carry the hosts' own text (paths, options, stderr): escaped, one line each.
            writeOut((lines ?? ["\(report.destination): \(report.detail)"]).map { escapePeerText($0) + "\n" }.joined())
        }
        let counts = HostReport.Status.allCases.compactMap { status -> String? in
            let n = reports.filter { $0.status == status }.count
            return n == 0 ? nil : "\(n) \(status.words)"
        }
        let hosts = reports.count == 1 ? "1 host" : "\(reports.count) hosts"
        writeOut("\(hosts): \(counts.joined(separator: ", "))\n")
    }
    let failed = reports.filter { $0.status == .failed }.map(\.destination)
    if !failed.isEmpty {
        printError("keysmith: \(failed.count) of \(reports.count) hosts failed: \(failed.joined(separator: ", ")).")
        throw ExitCode(1)
    }
}

/// `N key` or `N keys`.
func keyCount(_ n: Int, _ noun: String = "key") -> String {
    "\(n) \(noun)\(n == 1 ? "" : "s")"
}
