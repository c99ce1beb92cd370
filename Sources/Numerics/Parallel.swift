import Dispatch

/// A raw buffer that can cross into `concurrentPerform` workers.
///
/// Swift 6 will not capture an `UnsafeMutableBufferPointer` in a `@Sendable` closure; this
/// wrapper is the escape hatch. Safety rests on the callers' contract: concurrent workers
/// write disjoint index ranges.
public struct SharedFloats: @unchecked Sendable {
    public let base: UnsafeMutablePointer<Float>
    public let count: Int
    public init(_ buffer: UnsafeMutableBufferPointer<Float>) {
        base = buffer.baseAddress ?? UnsafeMutablePointer(bitPattern: 16)!
        count = buffer.count
    }
    public init(_ buffer: UnsafeBufferPointer<Float>) {
        base = UnsafeMutablePointer(mutating: buffer.baseAddress ?? UnsafePointer(bitPattern: 16)!)
        count = buffer.count
    }
}

/// Any other buffer's base address for `concurrentPerform` workers (per-block partial
/// results, collected values, read-only tables), under the same contract as `SharedFloats`.
public struct SharedPointer<Element>: @unchecked Sendable {
    public let base: UnsafeMutablePointer<Element>
    public init(_ base: UnsafeMutablePointer<Element>) { self.base = base }
    public init(_ base: UnsafePointer<Element>) { self.base = UnsafeMutablePointer(mutating: base) }
}

/// Splits index ranges across the thread budget.
public enum Parallel {
    /// Runs `body(w)` for w in 0..<workers in parallel, w = 0 on the calling thread: on the
    /// `WorkerPool`'s spinning helpers when it is free, else on libdispatch's workers.
    static func region(_ workers: Int, _ body: @Sendable (Int) -> Void) {
        if !WorkerPool.shared.run(workers: workers, body) {
            DispatchQueue.concurrentPerform(iterations: workers, execute: body)
        }
    }

    /// Below this many elements a kernel runs on the calling thread: dispatch costs more
    /// than it saves.
    public static let minimumParallelCount = 1 << 15

    /// Calls `body` on disjoint, contiguous ranges covering `0..<count`, in parallel when the
    /// work is large enough. Ranges are aligned to multiples of `granularity`.
    public static func forEachRange(
        _ count: Int, granularity: Int = 1024,
        _ body: @Sendable (Range<Int>) -> Void
    ) {
        let workers = min(ComputeThreads.count, max(1, count / minimumParallelCount))
        if workers <= 1 {
            if count > 0 { body(0..<count) }
            return
        }
        let perWorker = ((count + workers - 1) / workers + granularity - 1) / granularity * granularity
        region(workers) { w in
            let start = w * perWorker
            let end = min(count, start + perWorker)
            if start < end { body(start..<end) }
        }
    }

    /// Calls `body(i)` for `i` in `0..<count` spread over the thread budget. Use for coarse
    /// items (a row block, a tensor); each call should be substantial.
    public static func forEach(_ count: Int, _ body: @Sendable (Int) -> Void) {
        if count <= 0 { return }
        let workers = min(count, ComputeThreads.count)
        if workers == 1 {
            for i in 0..<count { body(i) }
            return
        }
        region(workers) { w in
            for i in stride(from: w, to: count, by: workers) { body(i) }
        }
    }
}

extension Parallel {
    /// Calls `body` on disjoint, contiguous row ranges covering `0..<rows`, in parallel when
    /// `rows · elementsPerRow` is large enough to pay for the dispatch. For row-wise kernels
    /// (LayerNorm, softmax): each row's result must not depend on how rows are split.
    public static func forEachRowRange(
        _ rows: Int, elementsPerRow: Int, _ body: @Sendable (Range<Int>) -> Void
    ) {
        let workers = min(ComputeThreads.count, rows, max(1, rows * max(1, elementsPerRow) / minimumParallelCount))
        if workers <= 1 {
            if rows > 0 { body(0..<rows) }
            return
        }
        let perWorker = (rows + workers - 1) / workers
        region(workers) { w in
            let start = w * perWorker
            let end = min(rows, start + perWorker)
            if start < end { body(start..<end) }
        }
    }
}
