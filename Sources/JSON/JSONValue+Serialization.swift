extension JSONValue: CustomStringConvertible {
    /// The canonical encoding used for content hashing: keys sorted by UTF-8 bytes, no
    /// whitespace, fixed number and string forms (see ``JSONWriter``). Equal content gives
    /// equal bytes whatever the member order or layout of the source.
    public func canonicalData() -> [UInt8] {
        JSONWriter.bytes(of: self, pretty: false, sortedKeys: true)
    }

    /// ``canonicalData()`` as a `String`.
    public var canonicalString: String {
        String(decoding: canonicalData(), as: UTF8.self)
    }

    /// JSON text for people and `--json` output, using the same number and string forms as
    /// the canonical encoding.
    ///
    /// - Parameters:
    ///   - pretty: Two-space indentation, one member or element per line, `": "` after keys,
    ///     and no trailing newline. Empty containers print as `[]` and `{}`.
    ///   - sortedKeys: Sort object keys by their UTF-8 bytes instead of keeping member order.
    public func serialized(pretty: Bool = false, sortedKeys: Bool = false) -> String {
        String(decoding: JSONWriter.bytes(of: self, pretty: pretty, sortedKeys: sortedKeys), as: UTF8.self)
    }

    /// Compact JSON in member order, so values read naturally in logs and test failures.
    public var description: String { serialized() }
}

extension JSONObject: CustomStringConvertible {
    /// Compact JSON in member order.
    public var description: String { JSONValue.object(self).serialized() }
}
