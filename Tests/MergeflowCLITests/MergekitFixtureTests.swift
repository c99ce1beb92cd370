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
        var compared = 0
        for name in cases {
            let caseFolder = Self.fixtures.appendingPathComponent("cases/\(name)")
            let config = folder.path("\(name).json")
            var text = try String(contentsOf: caseFolder.appendingPathComponent("config.json"), encoding: .utf8)
            if name == "arcee_fusion_f64" {
                // mergekit computed this reference in float64; mergeflow reads only float32
                // configs, and computes this method's ill-conditioned KL in Double, so the
                // float64 reference is the one it must match to 1e-6.
                text = text.replacingOccurrences(of: "\"float64\"", with: "\"float32\"")
            }
            try text.write(toFile: config, atomically: true, encoding: .utf8)
            // Through the cache, and --direct from the folders: both must match.
            for direct in [false, true] {
            let out = folder.path("out-\(name)\(direct ? "-direct" : "")")
            let r = direct ? try cli.run("merge", config, out, "--direct") : try cli.run("merge", config, out)
            guard r.status == 0 else { failures.append("\(name): exit \(r.status): \(r.stderr)"); continue }
            XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/config.json"), "\(name): the base's config.json is copied")
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
                if name == "arcee_fusion" {
                    // Ill-conditioned (see ArceeFusion.swift): mergekit's float32 KL decides
                    // entries within ~0.1% of the threshold by its summation order. mergeflow
                    // computes it in Double and matches the float64 case (arcee_fusion_f64)
                    // exactly; against float32 mergekit a few borderline entries may flip.
                    let flipped = (0..<a.count).filter { abs(a.storage[$0] - b.storage[$0]) > Self.tolerance * scale }.count
                    if flipped * 50 > a.count { failures.append("\(name) \(entry.name): \(flipped) of \(a.count) entries differ") }
                } else if worstError / scale > Self.tolerance {
                    failures.append("\(name)\(direct ? " --direct" : "") \(entry.name): relative error \(worstError / scale) at [\(worst)]: ours \(a.storage[worst]), mergekit \(b.storage[worst])")
                }
                compared += 1
            }
            }
        }
        XCTAssertGreaterThan(compared, 20 * cases.count, "every tensor of every case was compared")
        XCTAssertTrue(failures.isEmpty, failures.joined(separator: "\n"))
        // Repeating a merge is a cache hit.
        let again = try cli.run("merge", folder.path("\(cases[0]).json"), folder.path("again"))
        XCTAssertTrue(again.stdout.hasPrefix("cached "), again.stdout)
    }
}
