import Foundation

/// Lets at most ten progress reports a second through (ops report every step).
final class ProgressThrottle: @unchecked Sendable {
    private var last = 0.0
    private let lock = NSLock()

    func shouldReport(_ fraction: Double) -> Bool {
        lock.withLock {
            let now = Date().timeIntervalSince1970
            guard now - last >= 0.1 || fraction >= 1 else { return false }
            last = now
            return true
        }
    }
}
