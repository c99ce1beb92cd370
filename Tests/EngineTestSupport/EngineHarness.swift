import Foundation
import JSON
import Engine
import Store

// Shared by `EngineTests` and `OpsTests` (a test target cannot import another), so it uses
// only the public API of Engine, JSON and Store: no ML module, no `@testable`.

/// Ops and helpers for engine tests. The fake ops sit at the I/O edge: they stand in for
/// real work with tiny, observable artifacts; the engine code they exercise is the real one.
public enum FakeOps {
    /// `const`: a one-tensor checkpoint holding `value`, counting how often it ran.
    public static func constant(counter: Counter = Counter(), version: Int = 1) -> OpDefinition {
        OpDefinition(name: "const", version: version, summary: "test constant", inputs: [],
                  params: [ParamSpec("value", .number(), default: 1, help: "the value"),
                           ParamSpec("label", .string(), default: "x", help: "ignored text")],
                  produces: ArtifactKind.checkpoint) { ctx in
            counter.increment(ctx.instanceID)
            let w = ctx.newArtifact(kind: ArtifactKind.checkpoint)
            try w.add(name: "w", floats: [Float](repeating: Float(ctx.number("value")!), count: 4))
            return w
        }
    }

    /// `sum`: adds its inputs' tensors; fails when `fail` is true.
    public static func sum(counter: Counter = Counter()) -> OpDefinition {
        OpDefinition(name: "sum", version: 1, summary: "test sum",
                  inputs: [InputSpec("items", kind: ArtifactKind.checkpoint, arity: .many, help: "things to add"),
                           InputSpec("extra", kind: ArtifactKind.checkpoint, optional: true, help: "one more")],
                  params: [ParamSpec("fail", .bool, default: false, help: "fail on purpose")],
                  produces: ArtifactKind.checkpoint) { ctx in
            counter.increment(ctx.instanceID)
            if ctx.bool("fail")! { throw OpError("failed on purpose") }
            var total = [Float](repeating: 0, count: 4)
            for m in (ctx.inputs["items"] ?? []) + (ctx.inputs["extra"] ?? []) {
                let t = try ctx.store.floats(of: m.tensor(named: "w")!)
                for i in 0..<4 { total[i] += t[i] }
            }
            let w = ctx.newArtifact(kind: ArtifactKind.checkpoint)
            try w.add(name: "w", floats: total)
            return w
        }
    }

    /// `table`: a "dataset" producer, to test inputs of the wrong kind.
    public static let table = OpDefinition(name: "table", version: 1, summary: "test dataset", inputs: [], params: [],
                                 produces: "dataset") { ctx in ctx.newArtifact(kind: "dataset") }

    /// `steps`: a long op that saves progress every step; crashes (throws) once at
    /// `crashAt` to simulate an interruption, then resumes from its saved step.
    public static func steps(counter: Counter, crashAt: Int?) -> OpDefinition {
        OpDefinition(name: "steps", version: 1, summary: "test long op", inputs: [],
                  params: [ParamSpec("total", .integer(1...1000), default: 10, help: "steps")],
                  produces: ArtifactKind.checkpoint) { ctx in
            var step = 0
            var state: [Float] = [0]
            if let saved = try ctx.savedProgress() {
                step = saved.step
                state = try ctx.store.floats(of: saved.state.tensor(named: "state")!)
                counter.increment("resumed at \(step)")
            }
            while step < ctx.integer("total")! {
                state[0] = state[0] * 1.5 + Float(step)
                step += 1
                counter.increment("step")
                let s = ctx.newArtifact(kind: "state")
                try s.add(name: "state", floats: state)
                try ctx.saveProgress(step: step, state: s)
                if step == crashAt && counter.count("crash") == 0 {
                    counter.increment("crash")
                    throw OpError("simulated crash at step \(step)")
                }
            }
            let w = ctx.newArtifact(kind: ArtifactKind.checkpoint)
            try w.add(name: "w", floats: state)
            return w
        }
    }

    /// `base` (no op by default; `OpsTests` pass `.builtin`) plus `ops` and `table`.
    public static func registry(base: OpRegistry = OpRegistry([]), _ ops: OpDefinition...) -> OpRegistry {
        var r = base
        for op in ops { r = r.adding(op) }
        return r.adding(table)
    }
}

/// Counts events by name, across threads.
public final class Counter: @unchecked Sendable {
    private var counts: [String: Int] = [:]
    private let lock = NSLock()
    public init() {}
    public func increment(_ name: String) { lock.withLock { counts[name, default: 0] += 1 } }
    public func count(_ name: String) -> Int { lock.withLock { counts[name] ?? 0 } }
    public var total: Int { lock.withLock { counts.values.reduce(0, +) } }
}

/// A temporary cache and helpers to validate, expand and run inline specs.
/// `open`: `OpsTests` subclass it to give runs the built-in ops' thread budget.
open class EngineHarness {
    public let folder: URL
    public let store: Store
    public var registry: OpRegistry
    /// The numeric thread budget a run divides among its jobs (`RunOptions.computeThreads`).
    public var computeThreads: ComputeThreadBudget?

    public init(registry: OpRegistry) throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("mergeflow-engine-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        store = try Store(path: folder.appendingPathComponent("cache.sqlite").path)
        self.registry = registry
    }

    deinit { try? FileManager.default.removeItem(at: folder) }

    public func spec(_ text: String) throws -> Spec {
        var parser = SpecParser(registry: registry)
        return try parser.validate(try JSONValue.parse(text), file: "test.json", directory: folder.path)
    }

    public func graph(_ text: String) throws -> ExpandedGraph {
        try ExpandedGraph(spec: try spec(text), registry: registry, file: "test.json")
    }

    public func run(_ text: String, configure: (inout RunOptions, ExpandedGraph) -> Void = { _, _ in }) throws -> (RunSummary, ExpandedGraph) {
        let g = try graph(text)
        var options = RunOptions()
        options.computeThreads = computeThreads
        options.progress = .quiet
        configure(&options, g)
        return (try Scheduler(store: store, graph: g, options: options).run(), g)
    }

    /// Every problem a spec produces, as "path: message".
    public static func problems(_ body: () throws -> Any) -> [String] {
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

/// Float32 tensors as plain arrays, through the store's public byte API: the engine's tests
/// need no tensor type (Numerics).
extension ArtifactWriter {
    /// Adds a one-dimensional Float32 tensor (the same bytes, dtype and shape as a `Tensor`).
    public func add(name: String, floats: [Float]) throws {
        try floats.withUnsafeBytes { try add(name: name, dtype: .f32, shape: [floats.count], bytes: $0) }
    }
}

extension Store {
    /// A Float32 tensor's values.
    public func floats(of entry: TensorEntry) throws -> [Float] {
        var out = [Float](repeating: 0, count: entry.elementCount)
        try out.withUnsafeMutableBufferPointer { try readFloats(of: entry, into: $0) }
        return out
    }
}
