import Foundation

/// Bad usage: unknown option, missing value, wrong argument count. Exit code 2.
struct UsageError: Error, CustomStringConvertible {
    let message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}

/// A command line split into positionals, `--option value` pairs and `--flag`s, checked
/// against what the command accepts.
struct Arguments {
    private(set) var positionals: [String] = []
    private var values: [String: [String]] = [:]
    private var flags: Set<String> = []

    /// Options every cache-touching command takes.
    static let cacheOptions: Set<String> = ["--cache", "--threads"]

    /// - Parameters:
    ///   - words: the arguments after the subcommand name.
    ///   - options: options that take a value (`--name VALUE` or `--name=VALUE`).
    ///   - flags: options without a value. `--help`/`-h` is always accepted.
    init(_ words: [String], options: Set<String> = [], flags: Set<String> = []) throws {
        var i = 0
        var onlyPositionals = false
        while i < words.count {
            let word = words[i]
            i += 1
            if onlyPositionals || !word.hasPrefix("-") || word == "-" {
                positionals.append(word)
                continue
            }
            if word == "--" { onlyPositionals = true; continue }
            if word == "-h" || word == "--help" { self.flags.insert("--help"); continue }
            var name = word, inline: String?
            if let eq = word.firstIndex(of: "=") {
                name = String(word[..<eq])
                inline = String(word[word.index(after: eq)...])
            }
            if options.contains(name) {
                if let inline { values[name, default: []].append(inline); continue }
                guard i < words.count else { throw UsageError("\(name) needs a value") }
                values[name, default: []].append(words[i])
                i += 1
            } else if flags.contains(name), inline == nil {
                self.flags.insert(name)
            } else {
                throw UsageError("unknown option \(word)")
            }
        }
    }

    /// The last value given for an option.
    func value(_ name: String) -> String? { values[name]?.last }
    /// Every value given for a repeatable option, in order.
    func all(_ name: String) -> [String] { values[name] ?? [] }
    func has(_ flag: String) -> Bool { flags.contains(flag) }
    var wantsHelp: Bool { flags.contains("--help") }

    /// An integer option within `range`, or `fallback` when absent.
    func integer(_ name: String, default fallback: Int, in range: ClosedRange<Int>) throws -> Int {
        guard let text = value(name) else { return fallback }
        guard let n = Int(text), range.contains(n) else {
            throw UsageError("\(name) expects an integer in \(range.lowerBound)...\(range.upperBound), got \"\(text)\"")
        }
        return n
    }

    /// A number option, or `fallback` when absent.
    func number(_ name: String, default fallback: Double) throws -> Double {
        guard let text = value(name) else { return fallback }
        guard let n = Double(text), n.isFinite else { throw UsageError("\(name) expects a number, got \"\(text)\"") }
        return n
    }

    /// Exactly `count` positionals, named in `names` for the error message.
    func positionals(_ names: String...) throws -> [String] {
        guard positionals.count == names.count else {
            let wanted = names.isEmpty ? "no arguments" : names.joined(separator: " ")
            throw UsageError("expected \(wanted), got \(positionals.count) argument(s)")
        }
        return positionals
    }

    /// The cache path: `--cache`, else `$MERGEFLOW_CACHE`, else `cache/mergeflow.sqlite`.
    var cachePath: String {
        if let p = value("--cache") { return p }
        if let p = ProcessInfo.processInfo.environment["MERGEFLOW_CACHE"], !p.isEmpty { return p }
        return "cache/mergeflow.sqlite"
    }
}
