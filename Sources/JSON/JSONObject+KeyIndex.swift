extension JSONObject {
    /// Finds keys among an object's members: by linear scan while there are few, which beats
    /// hashing for the small objects config files are made of, and through a key → position
    /// table once there are ``linearSearchLimit`` or more.
    ///
    /// The parser uses one to catch duplicate keys while members pile up on its stack, then
    /// hands it to the finished object, so large objects are hashed once.
    struct KeyIndex: Sendable {
        static let linearSearchLimit = 12

        /// Position of each key, counted from the first member; nil while the object is small.
        private var positions: [String: Int]? = nil

        init() {}

        /// An index of `members`, whose keys must be unique.
        init(rebuiltFrom members: ArraySlice<Member>) {
            guard members.count >= Self.linearSearchLimit else { return }
            var table = [String: Int](minimumCapacity: members.count)
            for (position, member) in members.enumerated() { table[member.key] = position }
            positions = table
        }

        /// Where `key` sits among `members`, counted from the first member, or nil.
        func position(of key: String, in members: ArraySlice<Member>) -> Int? {
            if let positions { return positions[key] }
            guard let index = members.firstIndex(where: { $0.key == key }) else { return nil }
            return index - members.startIndex
        }

        /// Records `key` as the member after `members`, unless it is already among them.
        ///
        /// - Returns: false when `key` is a duplicate; nothing is recorded then.
        mutating func insert(_ key: String, after members: ArraySlice<Member>) -> Bool {
            if positions == nil {
                if members.count < Self.linearSearchLimit {
                    return !members.contains { $0.key == key }
                }
                self = KeyIndex(rebuiltFrom: members)
            }
            if let existing = positions!.updateValue(members.count, forKey: key) {
                positions![key] = existing  // leave the index as it was
                return false
            }
            return true
        }
    }
}
