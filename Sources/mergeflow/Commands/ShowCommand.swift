import Engine
import Ops
import Foundation
import JSON
import Store

let showCommand = Command(
    name: "show",
    summary: "print an artifact's provenance: op, params, inputs, engine, host, duration",
    help: """
    usage: mergeflow show DIGEST [--cache PATH]
           mergeflow show SPEC NODE [--cache PATH]

    DIGEST is an artifact digest or a unique prefix; SPEC NODE names the cached result of
    a node (each instance, if the node has a grid).
    """,
    run: { words in
        let args = try Arguments(words, options: Arguments.cacheOptions.union(SpecSupport.options))
        let store = try CommandSupport.openStore(args)
        var digests: [(String, Digest)] = []
        switch args.positionals.count {
        case 1:
            digests = [("", try CommandSupport.resolveArtifact(args.positionals[0], in: store))]
        case 2:
            let graph = try SpecSupport.load(args.positionals[0], args)
            for result in try SpecSupport.cachedResults(of: args.positionals[1], in: graph, store: store) {
                guard let d = result.digest else {
                    print("\(result.id): not in the cache (see mergeflow explain)")
                    continue
                }
                digests.append((result.id, d))
            }
        default:
            throw UsageError("expected DIGEST, or SPEC NODE")
        }
        for (name, digest) in digests {
            let m = try store.manifest(digest)
            if !name.isEmpty { print("\(name)") }
            print("artifact  \(digest.hex)")
            print("kind      \(m.kind), \(m.tensors.count) tensors, \(CommandSupport.bytes(m.byteCount))")
            // What the op recorded about its result (training summary, dataset counts…);
            // the architecture's config.json is left to `export`.
            if let metadata = m.metadata.objectValue {
                for key in metadata.keys where key != "config" && key != "safetensors_metadata" {
                    let text = metadata[key]!.serialized(pretty: true).replacingOccurrences(of: "\n", with: "\n          ")
                    print(key.padding(toLength: 9, withPad: " ", startingAt: 0) + " " + text)
                }
            }
            guard let producer = try store.producers(of: digest).first else {
                print("provenance: not produced by a run (imported with `mergeflow import`)")
                continue
            }
            let run = try store.runs(limit: 100_000).first { $0.id == producer.run }
            print("node      \(producer.node) (op \(producer.op)) in run \(producer.run)\(run.map { " of \($0.specName)" } ?? "")")
            print("engine    mergeflow \(run?.engineVersion ?? "?") on \(producer.host), pid \(producer.pid)")
            if let f = producer.finished {
                print("when      \(ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: producer.started))), took \(SpecSupport.duration(f - producer.started))")
            }
            print("key       \(producer.actionKey)")
            if let d = try store.actionDescription(producer.actionKey), let action = try? JSONValue.parse(d) {
                print("action    " + action.serialized(pretty: true).replacingOccurrences(of: "\n", with: "\n          "))
            }
        }
        return 0
    }
)
