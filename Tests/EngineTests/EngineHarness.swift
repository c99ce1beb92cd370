import Foundation
import JSON
import Numerics
@testable import Engine
@testable import Ops
@testable import Store

/// Ops and helpers for engine tests. The fake ops sit at the I/O edge: they stand in for
/// real work with tiny, observable artifacts; the engine code they exercise is the real one.
enum FakeOps {
    /// `const`: a one-tensor checkpoint holding `value`, counting how often it ran.
    static func constant(counter: Counter = Counter(), version: Int = 1) -> OpDefinition {
        OpDefinition(name: "const", version: version, summary: "test constant", inputs: [],
                  params: [ParamSpec("value", .number(), default: 1, help: "the value"),
                           ParamSpec("label", .string(), default: "x", help: "ignored text")],
                  produces: Store.checkpointKind) { ctx in
            counter.increment(ctx.instanceID)
            let w = ctx.newArtifact(kind: Store.checkpointKind)
            try w.add(name: "w", tensor: Tensor(shape: [4], repeating: Float(ctx.number("value")!)))
            return w
        }
    }

    /// `sum`: adds its inputs' tensors; fails when `fail` is true.
    static func sum(counter: Counter = Counter()) -> OpDefinition {
        OpDefinition(name: "sum", version: 1, summary: "test sum",
                  inputs: [InputSpec("items", kind: Store.checkpointKind, arity: .many, help: "things to add"),
                           InputSpec("extra", kind: Store.checkpointKind, optional: true, help: "one more")],
                  params: [ParamSpec("fail", .bool, default: false, help: "fail on purpose")],
                  produces: Store.checkpointKind) { ctx in
            counter.increment(ctx.instanceID)
            if ctx.bool("fail")! { throw OpError("failed on purpose") }
            var total = Tensor(shape: [4])
            for m in (ctx.inputs["items"] ?? []) + (ctx.inputs["extra"] ?? []) {
                let t = try ctx.store.loadTensor(m.tensor(named: "w")!)
                for i in 0..<4 { total.storage[i] += t.storage[i] }
            }
            let w = ctx.newArtifact(kind: Store.checkpointKind)
            try w.add(name: "w", tensor: total)
            return w
        }
    }

    /// `table`: a "dataset" producer, to test inputs of the wrong kind.
    static let table = OpDefinition(name: "table", version: 1, summary: "test dataset", inputs: [], params: [],
                                 produces: "dataset") { ctx in ctx.newArtifact(kind: "dataset") }

    /// `steps`: a long op that saves progress every step; crashes (throws) once at
    /// `crashAt` to simulate an interruption, then resumes from its saved step.
    static func steps(counter: Counter, crashAt: Int?) -> OpDefinition {
        OpDefinition(name: "steps", version: 1, summary: "test long op", inputs: [],
                  params: [ParamSpec("total", .integer(1...1000), default: 10, help: "steps")],
                  produces: Store.checkpointKind) { ctx in
            var step = 0
            var state = Tensor(shape: [1])
            if let saved = try ctx.savedProgress() {
                step = saved.step
                state = try ctx.store.loadTensor(saved.state.tensor(named: "state")!)
                counter.increment("resumed at \(step)")
            }
            while step < ctx.integer("total")! {
                state.storage[0] = state.storage[0] * 1.5 + Float(step)
                step += 1
                counter.increment("step")
                let s = ctx.newArtifact(kind: "state")
                try s.add(name: "state", tensor: state)
                try ctx.saveProgress(step: step, state: s)
                if step == crashAt && counter.count("crash") == 0 {
                    counter.increment("crash")
                    throw OpError("simulated crash at step \(step)")
                }
            }
            let w = ctx.newArtifact(kind: Store.checkpointKind)
            try w.add(name: "w", tensor: state)
            return w
        }
    }

    static func registry(_ ops: OpDefinition...) -> OpRegistry {
        var r = OpRegistry.builtin
        for op in ops { r = r.adding(op) }
        return r.adding(table)
    }
}

/// Counts events by name, across threads.
final class Counter: @unchecked Sendable {
    private var counts: [String: Int] = [:]
    private let lock = NSLock()
    func increment(_ name: String) { lock.withLock { counts[name, default: 0] += 1 } }
    func count(_ name: String) -> Int { lock.withLock { counts[name] ?? 0 } }
    var total: Int { lock.withLock { counts.values.reduce(0, +) } }
}

/// A temporary cache and helpers to validate, expand and run inline specs.
final class EngineHarness {
    let folder: URL
    let store: Store
    var registry: OpRegistry

    init(registry: OpRegistry) throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("mergeflow-engine-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        store = try Store(path: folder.appendingPathComponent("cache.sqlite").path)
        self.registry = registry
    }

    deinit { try? FileManager.default.removeItem(at: folder) }

    func spec(_ text: String) throws -> Spec {
        var parser = SpecParser(registry: registry)
        return try parser.validate(try JSONValue.parse(text), file: "test.json", directory: folder.path)
    }

    func graph(_ text: String) throws -> ExpandedGraph {
        try ExpandedGraph(spec: try spec(text), registry: registry, file: "test.json")
    }

    func run(_ text: String, configure: (inout RunOptions, ExpandedGraph) -> Void = { _, _ in }) throws -> (RunSummary, ExpandedGraph) {
        let g = try graph(text)
        var options = RunOptions()
        options.computeThreads = .numerics
        options.progress = .quiet
        configure(&options, g)
        return (try Scheduler(store: store, graph: g, options: options).run(), g)
    }

    /// Every problem a spec produces, as "path: message".
    static func problems(_ body: () throws -> Any) -> [String] {
        do {
            _ = try body()
            return []
        } catch let e as SpecError {
            return e.issues.map(\.description)
        } catch {
            return ["unexpected: \(error)"]
        }
    }
}
