import Foundation
import Store

/// The lines `mergeflow exec` writes on its stdout for the coordinator: progress while it
/// runs, then exactly one outcome. Anything else on stdout is ignored.
enum ChildReport: Equatable {
    case progress(Double)
    case published(Digest, detail: String)
    case failed(String, badInput: Bool)

    var line: String {
        switch self {
        case .progress(let f): return "mergeflow-progress \(f)"
        case .published(let d, let detail): return "mergeflow-published \(d.hex) \(ChildReport.escape(detail))"
        case .failed(let message, let bad): return "mergeflow-failed \(bad ? 1 : 0) \(ChildReport.escape(message))"
        }
    }

    init?(line: Substring) {
        let parts = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2 else { return nil }
        let rest = parts.count > 2 ? ChildReport.unescape(parts[2]) : ""
        switch parts[0] {
        case "mergeflow-progress":
            guard let f = Double(parts[1]) else { return nil }
            self = .progress(f)
        case "mergeflow-published":
            guard let d = Digest(hex: String(parts[1])) else { return nil }
            self = .published(d, detail: rest)
        case "mergeflow-failed":
            self = .failed(rest, badInput: parts[1] == "1")
        default: return nil
        }
    }

    /// One line per report: newlines and backslashes escaped.
    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
    }

    static func unescape(_ s: Substring) -> String {
        var out = "", escaped = false
        for c in s {
            if escaped { out.append(c == "n" ? "\n" : c); escaped = false } else if c == "\\" { escaped = true } else { out.append(c) }
        }
        return out
    }
}
