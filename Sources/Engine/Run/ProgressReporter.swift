import Foundation

/// Prints run progress: one updating status line on a terminal (done/total, running nodes,
/// the longest-running node's own progress bar, ETA), plain lines otherwise.
final class ProgressReporter: @unchecked Sendable {
    private let style: RunOptions.ProgressStyle
    private let total: Int
    private let lock = NSLock()
    private var finished = 0
    private var running: [String: (started: Double, fraction: Double)] = [:]
    private var durations: [Double] = []
    /// Instances not yet finished (cached ones included, so the ETA errs long).
    private var remaining: Int
    private let jobs: Int
    private var lastDraw = 0.0

    init(style: RunOptions.ProgressStyle, total: Int, jobs: Int) {
        self.style = style
        self.total = total
        self.remaining = total
        self.jobs = jobs
    }

    func started(_ id: String) {
        lock.withLock { running[id] = (Date().timeIntervalSince1970, 0) }
        redraw(force: true)
    }

    func progress(_ id: String, _ fraction: Double) {
        lock.withLock { if running[id] != nil { running[id]!.fraction = fraction } }
        redraw(force: false)
    }

    /// Records an outcome: "ran", "cached", "FAILED", "skipped", "reused".
    func finished(_ id: String, outcome: String, detail: String = "") {
        let line: String = lock.withLock {
            finished += 1
            remaining -= 1
            var seconds = 0.0
            if let r = running.removeValue(forKey: id) {
                seconds = Date().timeIntervalSince1970 - r.started
                if outcome == "ran" { durations.append(seconds) }
            }
            let width = String(total).count
            let counter = "[\(String(repeating: " ", count: width - String(finished).count))\(finished)/\(total)]"
            let time = outcome == "ran" ? String(format: " %.2fs", seconds) : ""
            return "\(counter) \(outcome.padding(toLength: 7, withPad: " ", startingAt: 0)) \(id)\(time)\(detail.isEmpty ? "" : "  \(detail)")"
        }
        switch style {
        case .quiet: return
        case .lines: print(line)
        case .live:
            // Cache hits would flood a terminal; show only work and failures as lines.
            if outcome != "cached" { print("\r\u{1B}[K" + line) }
            redraw(force: true)
        }
        fflush(nil)
    }

    /// Clears the live line at the end.
    func close() {
        if style == .live { print("\r\u{1B}[K", terminator: ""); fflush(nil) }
    }

    private func redraw(force: Bool) {
        guard style == .live else { return }
        let now = Date().timeIntervalSince1970
        let text: String? = lock.withLock {
            if !force && now - lastDraw < 0.2 { return nil }
            lastDraw = now
            var text = "[\(finished)/\(total)] "
            let active = running.sorted { $0.value.started < $1.value.started }
            if let (id, r) = active.first {
                let bar = Int(r.fraction * 20)
                text += "\(id) [\(String(repeating: "#", count: bar))\(String(repeating: ".", count: 20 - bar))] \(Int(r.fraction * 100))%"
                if active.count > 1 { text += " (+\(active.count - 1) running)" }
            }
            if !durations.isEmpty && remaining > 0 {
                let mean = durations.reduce(0, +) / Double(durations.count)
                let eta = Int(mean * Double(remaining) / Double(max(1, jobs)))
                text += String(format: "  ETA %d:%02d", eta / 60, eta % 60)
            }
            return text
        }
        if let text { print("\r\u{1B}[K" + text, terminator: ""); fflush(nil) }
    }
}
