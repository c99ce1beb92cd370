import Checkpoint
import Foundation

/// The I/O floor of a merge: reading its input files and writing one model-sized file, with
/// no merging. Measured both ways a merge may write its output — through the page cache
/// (`write`), and around it (`O_DIRECT`, as `merge --direct` writes; `SequentialFileWriter`)
/// — and the faster counts, so a merge is never compared with a floor handicapped by the
/// write path it does not use. Which is faster depends on the machine's state: on virtual
/// machines whose host takes idle memory back, a write into the page cache right after
/// memory was freed runs several times faster than one a few seconds later, while a direct
/// write costs the same either way.
enum IOFloor {
    struct Figure {
        let throughCache: Double
        let aroundCache: Double
        var seconds: Double { min(throughCache, aroundCache) }
    }

    /// Reads `files` in order; those in `copying` are also written, one after the other, to
    /// `output` (no fsync, as the merge), once each way. `output` is removed afterwards.
    static func measure(_ files: [String], copying: Set<String>, to output: String) throws -> Figure {
        sync()
        let cached = try Stopwatch.time { try copy(files, copying: copying, to: output, aroundCache: false) }
        try? FileManager.default.removeItem(atPath: output)
        sync()
        let direct = try Stopwatch.time { try copy(files, copying: copying, to: output, aroundCache: true) }
        try? FileManager.default.removeItem(atPath: output)
        return Figure(throughCache: cached, aroundCache: direct)
    }

    static func copy(_ files: [String], copying: Set<String>, to output: String, aroundCache: Bool) throws {
        let writer = try SequentialFileWriter(path: output, bypassCache: aroundCache)
        for file in files {
            try FoundationBenchmark.readWholeFile(file) { block in
                if copying.contains(file) { try writer.append(block) }
            }
        }
        try writer.finish(durable: false)
    }
}
