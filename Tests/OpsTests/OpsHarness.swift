@_exported import EngineTestSupport
import Engine
import Ops
@testable import Store

/// The engine harness (Tests/EngineTestSupport) for the built-in ops: runs give the ops'
/// kernels and BLAS their share of the run's threads, as `mergeflow run` does.
final class OpsHarness: EngineTestSupport.EngineHarness {
    override init(registry: OpRegistry) throws {
        try super.init(registry: registry)
        computeThreads = .numerics
    }
}

/// In this target, `EngineHarness` is the harness above.
typealias EngineHarness = OpsHarness

extension Store {
    func executeForTest(_ sql: String) throws { try locked { try db.execute(sql) } }

    func integerForTest(_ sql: String) throws -> Int {
        try locked {
            let s = try db.prepare(sql)
            _ = try s.step()
            return Int(s.int(0))
        }
    }
}
