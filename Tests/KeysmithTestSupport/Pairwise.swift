/// A pairwise (all-pairs) covering array: a few rows, one value per parameter each, such that
/// every two values of two different parameters appear together in at least one row.
///
/// Interop with a real server needs each algorithm once and each pair of algorithms once to
/// find the faults that come from one algorithm or from two meeting (a cipher whose key length
/// one key exchange derives wrongly, a MAC that breaks with one host key's packet sizes); the
/// full product multiplies the cases for little more. The rows are computed by a greedy
/// construction that depends only on the parameters' order, so every run tests the same cases.
public enum PairwiseCover {
    /// The rows covering every pair that `compatible` allows.
    ///
    /// Each row starts from the first pair (in parameter, then value order) that no earlier
    /// row covers; every other parameter then gets, in order, the value compatible with the
    /// row so far that covers the most pairs not yet covered (the first such value on a tie).
    ///
    /// - Parameters:
    ///   - parameters: the values of each parameter, in a fixed order; none may be empty.
    ///   - compatible: whether the value `a` of parameter `i` may stand in one row with the
    ///     value `b` of parameter `j` (`i < j`); a pair it refuses is neither required nor
    ///     produced. Every row built from compatible pairs must be completable.
    /// - Returns: rows of `parameters.count` values, the `k`-th taken from `parameters[k]`.
    public static func rows(
        _ parameters: [[String]],
        compatible: (_ i: Int, _ a: String, _ j: Int, _ b: String) -> Bool = { _, _, _, _ in true }
    ) -> [[String]] {
        precondition(parameters.allSatisfy { !$0.isEmpty }, "a parameter without values")
        let count = parameters.count
        guard count > 1 else { return parameters.first.map { $0.map { [$0] } } ?? [] }
        func allowed(_ i: Int, _ a: Int, _ j: Int, _ b: Int) -> Bool {
            i < j
                ? compatible(i, parameters[i][a], j, parameters[j][b])
                : compatible(j, parameters[j][b], i, parameters[i][a])
        }
        // Every required pair, by parameter index (i < j) and value index.
        var order: [Pair] = []
        for i in 0..<count {
            for j in (i + 1)..<count {
                for a in parameters[i].indices {
                    for b in parameters[j].indices where allowed(i, a, j, b) {
                        order.append(Pair(i: i, a: a, j: j, b: b))
                    }
                }
            }
        }
        var uncovered = Set(order)
        var next = 0
        var rows: [[String]] = []
        while !uncovered.isEmpty {
            while !uncovered.contains(order[next]) { next += 1 }
            let seed = order[next]
            var row = [Int?](repeating: nil, count: count)
            row[seed.i] = seed.a
            row[seed.j] = seed.b
            for k in 0..<count where row[k] == nil {
                var best: (value: Int, gain: Int)?
                for v in parameters[k].indices {
                    let assigned = (0..<count).compactMap { l in row[l].map { (l, $0) } }
                    guard assigned.allSatisfy({ allowed($0.0, $0.1, k, v) }) else { continue }
                    let gain = assigned.filter { uncovered.contains(Pair($0.0, $0.1, k, v)) }.count
                    if best == nil || gain > best!.gain { best = (v, gain) }
                }
                guard let best else { preconditionFailure("no value of parameter \(k) fits the row \(row)") }
                row[k] = best.value
            }
            let complete = row.map { $0! }
            for i in 0..<count {
                for j in (i + 1)..<count { uncovered.remove(Pair(i: i, a: complete[i], j: j, b: complete[j])) }
            }
            rows.append(complete.enumerated().map { parameters[$0.offset][$0.element] })
        }
        return rows
    }

    /// Two values of two parameters, by index, the lower parameter first.
    private struct Pair: Hashable {
        let i: Int
        let a: Int
        let j: Int
        let b: Int

        init(i: Int, a: Int, j: Int, b: Int) {
            self.i = i
            self.a = a
            self.j = j
            self.b = b
        }

        init(_ k: Int, _ v: Int, _ l: Int, _ w: Int) {
            if k < l { self.init(i: k, a: v, j: l, b: w) } else { self.init(i: l, a: w, j: k, b: v) }
        }
    }
}
