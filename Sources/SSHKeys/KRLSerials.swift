/// A set of certificate serial numbers, held as sorted, disjoint closed ranges that neither
/// overlap nor touch: krl.c's `revoked_serial_tree` after `insert_serial_range`, which grows
/// and coalesces ranges as they are inserted. Serial 0 is never in it (krl.c refuses it).
package struct KRLSerialRanges: Sendable, Equatable {
    /// One closed range `lo...hi` of revoked serials.
    package struct Run: Sendable, Equatable {
        package var lo: UInt64
        package var hi: UInt64
    }

    package private(set) var runs: [Run] = []

    package init() {}

    /// The union of `runs` in any order, sorted and coalesced once (a KRL's sections may
    /// list serials in any order; inserting them one by one could take quadratic time).
    package init(coalescing unsorted: [Run]) {
        for run in unsorted.sorted(by: { $0.lo < $1.lo }) {
            if let last = self.runs.last, last.hi == .max || run.lo <= last.hi + 1 {
                self.runs[self.runs.count - 1].hi = max(last.hi, run.hi)
            } else {
                self.runs.append(run)
            }
        }
    }

    package var isEmpty: Bool { self.runs.isEmpty }

    /// Whether `serial` lies in one of the ranges.
    package func contains(_ serial: UInt64) -> Bool {
        guard let i = self.firstRun(endingAtOrAfter: serial) else { return false }
        return self.runs[i].lo <= serial
    }

    /// Adds `lo...hi`, merging it with every range it overlaps or touches
    /// (krl.c `insert_serial_range`).
    package mutating func insert(lo: UInt64, hi: UInt64) {
        if let last = self.runs.last, last.hi != .max, lo > last.hi + 1 {
            self.runs.append(Run(lo: lo, hi: hi))
            return
        }
        // The first run that ends at or after lo - 1 (it may touch lo), and every run up to
        // the last one that starts at or before hi + 1, become one.
        let start = self.firstRun(endingAtOrAfter: lo == 0 ? 0 : lo - 1) ?? self.runs.count
        var end = start
        var merged = Run(lo: lo, hi: hi)
        while end < self.runs.count, hi == .max || self.runs[end].lo <= hi + 1 {
            merged.lo = min(merged.lo, self.runs[end].lo)
            merged.hi = max(merged.hi, self.runs[end].hi)
            end += 1
        }
        self.runs.replaceSubrange(start..<end, with: [merged])
    }

    /// The index of the first run whose `hi` is at least `serial`.
    private func firstRun(endingAtOrAfter serial: UInt64) -> Int? {
        var low = 0
        var high = self.runs.count
        while low < high {
            let mid = (low + high) / 2
            if self.runs[mid].hi < serial { low = mid + 1 } else { high = mid }
        }
        return low < self.runs.count ? low : nil
    }
}
