import Checkpoint
import Foundation
import XCTest

/// `mergeflow merge` on mergekit's own configs gives mergekit's outputs: every case in
/// Tests/MergeTests/Fixtures (made by scripts/reference/make_merge_fixtures.py with
/// mergekit from PyPI) is merged by the binary and compared tensor by tensor.
final class MergekitFixtureTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../MergeTests/Fixtures").standardizedFileURL

    /// Largest |ours − theirs| / max |theirs| over a tensor.
    static let tolerance: Float = 1e-6

    func testEveryDeterministicCaseMatchesMergekit() throws {
        let cases = try FileManager.default.contentsOfDirectory(atPath: Self.fixtures.appendingPathComponent("cases").path).sorted()
        XCTAssertGreaterThanOrEqual(cases.count, 10, "fixtures present")
        let folder = try TestFolder()
        let cli = CLIRunner(cache: folder.path("c.sqlite"))
        // The configs name their inputs relatively (base, m1, …): give them a folder to live in.
        for input in ["base", "m1", "m2", "m3"] {
            try FileManager.default.createSymbolicLink(atPath: folder.path(input),
                                                       withDestinationPath: Self.fixtures.appendingPathComponent("inputs/\(input)").path)
        }
        var failures: [String] = []
        for name in cases {
            let caseFolder = Self.fixtures.appendingPathComponent("cases/\(name)")
            let config = folder.path("\(name).json")
            try FileManager.default.copyItem(atPath: caseFolder.appendingPathComponent("config.json").path, toPath: config)
            let out = folder.path("out-\(name)")
            let r = try cli.run("merge", config, out)
            guard r.status == 0 else { failures.append("\(name): exit \(r.status): \(r.stderr)"); continue }
            let ours = try SafetensorsFile(path: out + "/model.safetensors")
            let theirs = try SafetensorsFile(path: caseFolder.appendingPathComponent("model.safetensors").path)
            XCTAssertEqual(Set(ours.entries.map(\.name)), Set(theirs.entries.map(\.name)), name)
            for entry in theirs.entries {
                guard let mine = ours.entry(named: entry.name) else { continue }
                let a = ours.loadTensor(mine), b = theirs.loadTensor(entry)
                XCTAssertEqual(a.shape, b.shape, "\(name) \(entry.name)")
                let scale = max(b.storage.map { abs($0) }.max() ?? 0, 1e-12)
                var worst = 0, worstError: Float = 0
                for i in 0..<min(a.count, b.count) where abs(a.storage[i] - b.storage[i]) > worstError {
                    worstError = abs(a.storage[i] - b.storage[i]); worst = i
                }
                if worstError / scale > Self.tolerance {
                    failures.append("\(name) \(entry.name): relative error \(worstError / scale) at [\(worst)]: ours \(a.storage[worst]), mergekit \(b.storage[worst])")
                }
            }
        }
        XCTAssertTrue(failures.isEmpty, failures.joined(separator: "\n"))
        // Repeating a merge is a cache hit.
        let again = try cli.run("merge", folder.path("\(cases[0]).json"), folder.path("again"))
        XCTAssertTrue(again.stdout.hasPrefix("cached "), again.stdout)
    }
}
