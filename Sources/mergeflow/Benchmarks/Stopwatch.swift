import Foundation

/// Wall-clock timing for benchmarks.
enum Stopwatch {
    static func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }

    /// Seconds taken by one call of `body`.
    static func time(_ body: () throws -> Void) rethrows -> Double {
        let start = now()
        try body()
        return now() - start
    }

    /// Best seconds per call over repeated calls lasting at least `minimum` seconds in all
    /// (best-of filters out noise from the other tenant of a 2-core machine).
    static func best(minimum: Double = 0.3, atLeast: Int = 3, _ body: () throws -> Void) rethrows -> Double {
        var best = Double.infinity, total = 0.0, runs = 0
        while total < minimum || runs < atLeast {
            let t = try time(body)
            best = min(best, t)
            total += t
            runs += 1
        }
        return best
    }
}
