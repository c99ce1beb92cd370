import Numerics

/// Seeded test data: uniform floats in [-1, 1) from Numerics' own generator, so every run
/// sees the same values.
struct TestRandom {
    private var random: SeededRandom
    init(seed: UInt64) { random = SeededRandom(seed: seed) }
    mutating func float() -> Float { Float(random.uniform() * 2 - 1) }
    mutating func floats(_ n: Int) -> [Float] { (0..<n).map { _ in float() } }
}
