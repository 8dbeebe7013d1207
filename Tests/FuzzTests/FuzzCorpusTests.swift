import Foundation
import KeysmithFuzzing
import Testing

/// Every seed in `Fuzz/corpus/NAME/` and every input the fuzzers ever crashed on, kept in
/// `Fuzz/regressions/NAME/`, goes through the same code the libFuzzer targets run: none may crash.
@Suite("Fuzz corpora and regressions")
struct FuzzCorpusTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fuzz")

    static func inputs(_ folder: String, _ target: FuzzTarget) -> [URL] {
        let directory = root.appendingPathComponent(folder).appendingPathComponent(target.rawValue)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.sorted().filter { !$0.hasPrefix(".") }.map { directory.appendingPathComponent($0) }
    }

    @Test("each target has a seed corpus that runs cleanly", arguments: FuzzTarget.allCases)
    func seeds(_ target: FuzzTarget) throws {
        let seeds = Self.inputs("corpus", target)
        #expect(seeds.count >= 3, "Fuzz/corpus/\(target.rawValue) should hold seeds (Fuzz/make-seeds.sh)")
        for url in seeds { target.run(Array(try Data(contentsOf: url))) }
    }

    @Test("inputs that once crashed a target no longer do", arguments: FuzzTarget.allCases)
    func regressions(_ target: FuzzTarget) throws {
        for url in Self.inputs("regressions", target) { target.run(Array(try Data(contentsOf: url))) }
    }

    @Test("an encrypted key file asks for the passphrase only with few bcrypt rounds")
    func cheapRounds() throws {
        // The seed generator writes its encrypted keys with -a 2; the check must see that.
        let seeds = Self.inputs("corpus", .privateKey).filter { $0.lastPathComponent.contains("encrypted") }
        for url in seeds {
            #expect(FuzzTarget.cheapRounds(Array(try Data(contentsOf: url))), "\(url.lastPathComponent)")
        }
    }
}
