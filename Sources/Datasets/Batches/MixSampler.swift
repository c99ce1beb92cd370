import Model
import Numerics

/// Draws examples for training batches from a weighted mix of objectives, deterministically:
/// the examples of step s depend only on (seed, s), so a resumed run draws exactly what an
/// uninterrupted one would, with no cursor to save.
///
/// Mix keys name objectives (`{"general": 0.85, "safety": 0.15}`); within an objective,
/// examples are drawn uniformly with replacement.
public struct MixSampler: Sendable {
    public struct MixError: Error, CustomStringConvertible {
        public let description: String
    }

    let examples: [Example]
    let groups: [[Int]]
    let cumulative: [Double]

    public init(examples: [Example], mix: [(objective: String, weight: Double)]) throws(MixError) {
        let present = Set(examples.map(\.objective)).sorted()
        var groups: [[Int]] = []
        var cumulative: [Double] = []
        var total = 0.0
        for (objective, weight) in mix where weight > 0 {
            let members = examples.indices.filter { examples[$0].objective == objective }
            if members.isEmpty {
                throw MixError(description: "the mix asks for objective \"\(objective)\" but the data has none (objectives present: \(present.joined(separator: ", ")))")
            }
            groups.append(members)
            total += weight
            cumulative.append(total)
        }
        if groups.isEmpty { throw MixError(description: "the mix has no objective with a positive weight") }
        self.examples = examples
        self.groups = groups
        self.cumulative = cumulative.map { $0 / total }
    }

    /// The mix over every objective present, weighted by its number of examples.
    public static func natural(_ examples: [Example]) -> [(objective: String, weight: Double)] {
        var counts: [String: Int] = [:]
        for e in examples { counts[e.objective, default: 0] += 1 }
        return counts.keys.sorted().map { ($0, Double(counts[$0]!)) }
    }

    /// The next example from `rng`.
    func draw(_ rng: inout SeededRandom) -> Example {
        let u = rng.uniform()
        let g = cumulative.firstIndex { u < $0 } ?? groups.count - 1
        let members = groups[g]
        return examples[members[Int(rng.next() % UInt64(members.count))]]
    }
}
