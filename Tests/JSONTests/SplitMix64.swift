@testable import JSON

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, seedable, good enough to drive test cases.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension SplitMix64 {
    /// A random value; containers become rarer with depth so documents stay small.
    mutating func jsonValue(depth: Int) -> JSONValue {
        let kinds = depth >= 4 ? 4 : 6
        switch Int.random(in: 0..<kinds, using: &self) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &self))
        case 2: return .number(number())
        case 3: return .string(string())
        case 4:
            return .array((0..<Int.random(in: 0...5, using: &self)).map { _ in jsonValue(depth: depth + 1) })
        default:
            var object = JSONObject()
            for _ in 0..<Int.random(in: 0...6, using: &self) {
                object[string()] = jsonValue(depth: depth + 1)
            }
            return .object(object)
        }
    }

    /// Integers, short decimals, extremes, and arbitrary finite bit patterns.
    mutating func number() -> Double {
        switch Int.random(in: 0..<5, using: &self) {
        case 0: return Double(Int.random(in: -1000...1000, using: &self))
        case 1: return Double(Int.random(in: -(1 << 60)...(1 << 60), using: &self))
        case 2: return Double(Int.random(in: -99999...99999, using: &self)) / 1000
        case 3: return [0.0, -0.0, 9_007_199_254_740_992, .greatestFiniteMagnitude, .leastNonzeroMagnitude, 1e-7]
            .randomElement(using: &self)!
        default:
            while true {
                let candidate = Double(bitPattern: next())
                if candidate.isFinite { return candidate }
            }
        }
    }

    /// Mostly ASCII, with escapes, control characters, and multi-byte scalars mixed in.
    mutating func string() -> String {
        let pool: [Unicode.Scalar] = ["a", "b", "Z", "0", " ", "\"", "\\", "/", "\n", "\t", "\u{0}",
                                      "\u{1F}", "\u{7F}", "é", "€", "😀", "\u{FFFF}", "\u{10FFFF}", "日"]
        var scalars = String.UnicodeScalarView()
        for _ in 0..<Int.random(in: 0...8, using: &self) {
            if Bool.random(using: &self) {
                scalars.append(pool.randomElement(using: &self)!)
            } else {
                scalars.append(Unicode.Scalar(UInt8.random(in: 0x20...0x7E, using: &self)))
            }
        }
        return String(scalars)
    }

    /// `value` with every object's members in a random order.
    mutating func shuffledMembers(of value: JSONValue) -> JSONValue {
        switch value {
        case .array(let elements):
            return .array(elements.map { shuffledMembers(of: $0) })
        case .object(let object):
            let members = object.map { ($0.key, shuffledMembers(of: $0.value)) }
            return .object(JSONObject(members.shuffled(using: &self)))
        default:
            return value
        }
    }
}
