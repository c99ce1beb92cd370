import Foundation

/// This process's peak resident memory, from the kernel's high-water mark.
///
/// (`wait4`'s ru_maxrss is no use for a spawned child: Linux carries the parent's peak
/// across the child's exec.)
enum PeakMemory {
    /// VmHWM from /proc/self/status, in bytes (0 if unavailable).
    static func residentHighWaterMark() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let kib = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
            return kib * 1024
        }
        return 0
    }
}
