import Foundation
import Store

/// What the coordinator asks of `mergeflow exec`: one leased instance of a spec, with its
/// inputs' digests and the key the coordinator computed. The child expands the same spec,
/// recomputes the key by the same code path (`Action`), and refuses to run if the spec
/// changed in between. Both sides of the command line are here, so they cannot drift.
public struct ExecRequest: Sendable, Equatable {
    public var specPath: String
    public var cachePath: String
    public var instanceID: String
    public var key: Digest
    /// The artifacts of `instance.dependencies`, in that order.
    public var inputs: [Digest]
    public var owner: String
    public var nodeRun: Int64
    public var threads: Int
    public var instanceLimit: Int
    /// The coordinator's pid: the child ends itself when its parent is gone.
    public var parent: Int32
    /// GPU device ids given to the instance.
    public var gpus: [Int] = []

    /// `exec SPEC INSTANCE --cache … --key … …`, after the executable.
    public var arguments: [String] {
        ["exec", specPath, instanceID, "--cache", cachePath, "--key", key.hex,
         "--inputs", inputs.map(\.hex).joined(separator: ","), "--owner", owner, "--node-run", String(nodeRun),
         "--threads", String(threads), "--max-instances", String(instanceLimit), "--parent", String(parent),
         "--gpus", gpus.map(String.init).joined(separator: ",")]
    }

    /// Parses `arguments` (without the leading "exec").
    /// - Throws: `ExecRequestError` naming what is missing or malformed.
    public init(parsing words: [String]) throws {
        var positionals: [String] = [], options: [String: String] = [:]
        var i = 0
        while i < words.count {
            if words[i].hasPrefix("--") {
                guard i + 1 < words.count else { throw ExecRequestError("\(words[i]) needs a value") }
                options[words[i]] = words[i + 1]
                i += 2
            } else {
                positionals.append(words[i])
                i += 1
            }
        }
        guard positionals.count == 2 else { throw ExecRequestError("expected SPEC and INSTANCE, got \(positionals.count) words") }
        func option(_ name: String) throws -> String {
            guard let v = options[name] else { throw ExecRequestError("missing \(name)") }
            return v
        }
        func number<T: FixedWidthInteger>(_ name: String) throws -> T {
            guard let v = T(try option(name)) else { throw ExecRequestError("\(name) is not an integer") }
            return v
        }
        guard let key = Digest(hex: try option("--key")) else { throw ExecRequestError("--key is not a digest") }
        let list = try option("--inputs")
        let inputs = list.isEmpty ? [] : try list.split(separator: ",").map { hex -> Digest in
            guard let d = Digest(hex: String(hex)) else { throw ExecRequestError("--inputs: \(hex) is not a digest") }
            return d
        }
        self.init(specPath: positionals[0], cachePath: try option("--cache"), instanceID: positionals[1], key: key, inputs: inputs,
                  owner: try option("--owner"), nodeRun: try number("--node-run"), threads: try number("--threads"),
                  instanceLimit: try number("--max-instances"), parent: try number("--parent"))
        let gpuList = options["--gpus"] ?? ""
        gpus = try gpuList.isEmpty ? [] : gpuList.split(separator: ",").map { g -> Int in
            guard let id = Int(g), id >= 0 else { throw ExecRequestError("--gpus: \(g) is not a device id") }
            return id
        }
    }

    public init(specPath: String, cachePath: String, instanceID: String, key: Digest, inputs: [Digest], owner: String,
                nodeRun: Int64, threads: Int, instanceLimit: Int, parent: Int32) {
        self.specPath = specPath
        self.cachePath = cachePath
        self.instanceID = instanceID
        self.key = key
        self.inputs = inputs
        self.owner = owner
        self.nodeRun = nodeRun
        self.threads = threads
        self.instanceLimit = instanceLimit
        self.parent = parent
    }
}

public struct ExecRequestError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
