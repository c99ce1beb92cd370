import Foundation
@testable import Store

/// A cache file in a fresh temporary folder, removed at the end of the test.
final class TemporaryCache {
    let folder: URL
    var path: String { folder.appendingPathComponent("cache.sqlite").path }

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("mergeflow-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    func open() throws -> Store { try Store(path: path) }

    deinit { try? FileManager.default.removeItem(at: folder) }
}

extension Store {
    /// Runs SQL directly (tests only: to corrupt or inspect the cache).
    func executeForTest(_ sql: String) throws { try locked { try db.execute(sql) } }

    func integerForTest(_ sql: String) throws -> Int {
        try locked {
            let s = try db.prepare(sql)
            _ = try s.step()
            return Int(s.int(0))
        }
    }
}
