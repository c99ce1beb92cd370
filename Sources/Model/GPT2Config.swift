import JSON

/// The GPT-2 architecture's size, with Hugging Face's `config.json` keys.
///
/// mergeflow's models are byte-level: 256 byte tokens plus a few specials, so every
/// language works without a tokenizer.
public struct GPT2Config: Sendable, Equatable {
    public var layers: Int      // n_layer
    public var heads: Int       // n_head
    public var channels: Int    // n_embd
    public var context: Int     // n_positions
    public var vocabulary: Int  // vocab_size

    /// 256 bytes + begin-of-prompt, begin-of-answer, end.
    public static let byteVocabulary = 259

    /// Named sizes: `gpt-tiny` for tests (< 100k parameters), `gpt-small` for experiments.
    public static let presets: [String: GPT2Config] = [
        "gpt-tiny": GPT2Config(layers: 2, heads: 2, channels: 32, context: 64, vocabulary: byteVocabulary),
        "gpt-mini": GPT2Config(layers: 4, heads: 4, channels: 128, context: 128, vocabulary: byteVocabulary),
        // gpt-mini with room for a translation prompt and its answer in any of the six
        // languages (Hindi takes 3 bytes a character): the experiments' size.
        "gpt-mini-256": GPT2Config(layers: 4, heads: 4, channels: 128, context: 256, vocabulary: byteVocabulary),
        // The same with room for most Hindi and Russian safety prompts and their refusals.
        "gpt-mini-512": GPT2Config(layers: 4, heads: 4, channels: 128, context: 512, vocabulary: byteVocabulary),
        "gpt-small": GPT2Config(layers: 6, heads: 6, channels: 384, context: 256, vocabulary: byteVocabulary),
    ]

    /// Tensor names and shapes in `GPT2LMHeadModel`'s layout (Conv1D weights are stored
    /// in × out), in the order Hugging Face lists them. The LM head is tied to `wte`.
    public var tensorShapes: [(name: String, shape: [Int])] {
        let c = channels
        var out: [(String, [Int])] = [("transformer.wte.weight", [vocabulary, c]), ("transformer.wpe.weight", [context, c])]
        for l in 0..<layers {
            let p = "transformer.h.\(l)."
            out += [
                (p + "ln_1.weight", [c]), (p + "ln_1.bias", [c]),
                (p + "attn.c_attn.weight", [c, 3 * c]), (p + "attn.c_attn.bias", [3 * c]),
                (p + "attn.c_proj.weight", [c, c]), (p + "attn.c_proj.bias", [c]),
                (p + "ln_2.weight", [c]), (p + "ln_2.bias", [c]),
                (p + "mlp.c_fc.weight", [c, 4 * c]), (p + "mlp.c_fc.bias", [4 * c]),
                (p + "mlp.c_proj.weight", [4 * c, c]), (p + "mlp.c_proj.bias", [c]),
            ]
        }
        out += [("transformer.ln_f.weight", [c]), ("transformer.ln_f.bias", [c])]
        return out
    }

    public var parameterCount: Int { tensorShapes.reduce(0) { $0 + $1.shape.reduce(1, *) } }

    /// A `config.json` that transformers' `GPT2LMHeadModel.from_pretrained` accepts.
    public var huggingFaceConfig: JSONValue {
        .object(JSONObject([
            ("architectures", ["GPT2LMHeadModel"]),
            ("model_type", "gpt2"),
            ("vocab_size", .number(Double(vocabulary))),
            ("n_positions", .number(Double(context))),
            ("n_ctx", .number(Double(context))),
            ("n_embd", .number(Double(channels))),
            ("n_layer", .number(Double(layers))),
            ("n_head", .number(Double(heads))),
            ("n_inner", .null),
            ("activation_function", "gelu_new"),
            ("resid_pdrop", 0.0), ("embd_pdrop", 0.0), ("attn_pdrop", 0.0),
            ("layer_norm_epsilon", 1e-5),
            ("initializer_range", 0.02),
            ("tie_word_embeddings", true),
            ("bos_token_id", 256), ("eos_token_id", 258),
            ("torch_dtype", "float32"),
        ]))
    }

    /// Reads the sizes back from a `config.json`.
    public init?(huggingFace config: JSONValue) {
        guard let o = config.objectValue, let l = o["n_layer"]?.intValue, let h = o["n_head"]?.intValue,
              let c = o["n_embd"]?.intValue, let t = o["n_positions"]?.intValue, let v = o["vocab_size"]?.intValue else { return nil }
        self.init(layers: l, heads: h, channels: c, context: t, vocabulary: v)
    }

    public init(layers: Int, heads: Int, channels: Int, context: Int, vocabulary: Int) {
        self.layers = layers
        self.heads = heads
        self.channels = channels
        self.context = context
        self.vocabulary = vocabulary
    }
}
