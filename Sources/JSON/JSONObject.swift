/// The members of a JSON object, in the order they were written.
///
/// Order is kept so that error messages, pretty output and `explain` follow the user's file;
/// the canonical encoding sorts keys, so order never changes a content hash. Keys are unique:
/// the parser rejects duplicates, and setting an existing key replaces its value in place.
///
/// Keys compare with Swift `String` equality, which is Unicode canonical equivalence, so two
/// keys that differ only in normalization (`"é"` as one scalar or as `e` + accent) count as
/// the same key.
public struct JSONObject: Equatable, Sendable, Sequence, ExpressibleByDictionaryLiteral {
    public typealias Element = (key: String, value: JSONValue)

    /// One stored member. A struct rather than a tuple so arrays of members copy and
    /// destroy through specialized code instead of the runtime's generic tuple handling.
    struct Member: Sendable {
        var key: String
        var value: JSONValue
    }

    private var members: [Member] = []
    /// Finds keys in `members`.
    private var keyIndex = KeyIndex()

    /// An empty object.
    public init() {}

    /// An object with these members in this order. A repeated key keeps its first position
    /// and takes its last value.
    public init(_ members: [(String, JSONValue)]) {
        self.members.reserveCapacity(members.count)
        for (key, value) in members { self[key] = value }
    }

    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self.init(elements)
    }

    /// The number of members.
    public var count: Int { members.count }

    /// Whether the object has no members.
    public var isEmpty: Bool { members.isEmpty }

    /// The keys in member order.
    public var keys: [String] { members.map(\.key) }

    /// The value for `key`, or nil when absent. Setting a new key appends a member; setting
    /// an existing key replaces its value in place; setting nil removes the member.
    ///
    /// - Complexity: O(1) on average for large objects, O(count) for small ones; removal is
    ///   O(count).
    public subscript(key: String) -> JSONValue? {
        get {
            guard let position = position(of: key) else { return nil }
            return members[position].value
        }
        set {
            switch (position(of: key), newValue) {
            case (let position?, let value?):
                members[position].value = value
            case (let position?, nil):
                members.remove(at: position)
                keyIndex = KeyIndex(rebuiltFrom: members[...])
            case (nil, let value?):
                _ = keyIndex.insert(key, after: members[...])
                members.append(Member(key: key, value: value))
            case (nil, nil):
                break
            }
        }
    }

    /// Iterates `(key, value)` members in order.
    public func makeIterator() -> Iterator {
        Iterator(members: members.makeIterator())
    }

    /// Yields `(key, value)` members in order.
    public struct Iterator: IteratorProtocol {
        fileprivate var members: IndexingIterator<[Member]>

        public mutating func next() -> Element? {
            members.next().map { ($0.key, $0.value) }
        }
    }

    /// Same keys with equal values in the same order.
    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.members.count == rhs.members.count else { return false }
        for (left, right) in zip(lhs.members, rhs.members) {
            guard left.key == right.key, left.value == right.value else { return false }
        }
        return true
    }

    /// Where `key` sits in member order, or nil when absent.
    private func position(of key: String) -> Int? {
        keyIndex.position(of: key, in: members[...])
    }

    /// An object of members whose keys the parser has checked are unique, with the index
    /// it built while checking.
    init(uniqueMembers: [Member], keys: KeyIndex) {
        members = uniqueMembers
        keyIndex = keys
    }
}
