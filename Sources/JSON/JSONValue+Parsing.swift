extension JSONValue {
    /// Parses one JSON text (RFC 8259, strictly; see ``JSONSyntaxError`` for positions).
    ///
    /// Rejects comments, trailing commas, NaN and Infinity, leading zeros, numbers too large
    /// for a `Double`, invalid UTF-8, unescaped control characters, lone surrogates,
    /// duplicate keys, nesting deeper than 512 levels, and anything but whitespace after the
    /// value. A leading UTF-8 byte order mark is skipped.
    ///
    /// - Throws: ``JSONSyntaxError`` with the line, column and reason of the first problem.
    /// - Complexity: O(n) in the length of the input.
    public static func parse(_ bytes: [UInt8]) throws(JSONSyntaxError) -> JSONValue {
        try bytes.withUnsafeBufferPointer { buffer throws(JSONSyntaxError) in
            try parse(buffer: buffer)
        }
    }

    /// Parses one JSON text given as a `String`; the rules are those of the `[UInt8]` overload.
    public static func parse(_ text: String) throws(JSONSyntaxError) -> JSONValue {
        var text = text
        // `withUTF8` reads native strings in place; it is not typed-throws, so the outcome
        // comes out as a Result.
        let outcome = text.withUTF8 { buffer in
            Result { () throws(JSONSyntaxError) in try parse(buffer: buffer) }
        }
        return try outcome.get()
    }

    /// Reads a file and parses it as one JSON text.
    ///
    /// - Throws: ``JSONFileError/unreadable(path:reason:)`` when the file cannot be read,
    ///   ``JSONFileError/invalidJSON(path:_:)`` when it is not valid JSON.
    public static func parse(contentsOf path: String) throws(JSONFileError) -> JSONValue {
        let bytes = try FileReading.contents(ofFile: path)
        do {
            return try parse(bytes)
        } catch {
            throw .invalidJSON(path: path, error)
        }
    }

    static func parse(buffer: UnsafeBufferPointer<UInt8>) throws(JSONSyntaxError) -> JSONValue {
        var parser = JSONParser(buffer)
        return try parser.parseDocument()
    }
}
