import Store

/// Deterministic train / test membership by example id.
///
/// An id is in the test split when the first 8 bytes of SHA-256("split:" + id), read as a
/// fraction of 2⁶⁴, fall below `testFraction`. Translations share an id, so they always land
/// on the same side: no test item is ever trained on in any language.
public enum Split: String, Sendable, CaseIterable {
    case train, test, all

    public static func isTest(id: String, testFraction: Double) -> Bool {
        Double(SHA256.hash("split:\(id)").leadingWord) / 18_446_744_073_709_551_616.0 < testFraction
    }

    public func contains(id: String, testFraction: Double) -> Bool {
        switch self {
        case .all: return true
        case .test: return Split.isTest(id: id, testFraction: testFraction)
        case .train: return !Split.isTest(id: id, testFraction: testFraction)
        }
    }
}
