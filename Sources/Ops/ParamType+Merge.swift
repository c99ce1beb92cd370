import Engine
import JSON
import Merge

/// The merge op's parameter types: mergekit's value forms, checked by `MergeParameter`
/// (the engine's `ParamType` knows nothing of merging; these plug in as `.custom`).
extension ParamType {
    /// A mergekit parameter value: a number or boolean, a gradient list, or a list of
    /// `{filter, value}`.
    public static let mergeValue = ParamType.custom(CustomParamType(
        summary: "a number, a list of numbers (gradient) or a list of {filter, value}",
        schema: mergeValueSchema
    ) { value in
        if case .failure(let e) = MergeParameter.parse(value) {
            return "expected a number, a list of numbers (gradient) or a list of {filter, value}: \(e.message)"
        }
        return nil
    })

    /// One mergekit value per model (e.g. `weights`).
    public static let mergeValuePerModel = ParamType.custom(CustomParamType(
        summary: "a non-empty list with one value per model (number, gradient or [{filter, value}])",
        schema: ["type": "array", "minItems": 1, "items": mergeValueSchema]
    ) { value in
        guard let list = value.arrayValue, !list.isEmpty else {
            return "expected a non-empty list with one value per model (number, gradient or [{filter, value}]), got \(ParamType.describe(value))"
        }
        for (i, item) in list.enumerated() {
            if case .failure(let e) = MergeParameter.parse(item) { return "value \(i): \(e.message)" }
        }
        return nil
    })

    /// One object of mergekit parameters per model.
    public static let mergeParametersPerModel = ParamType.custom(CustomParamType(
        summary: "a non-empty list with one object of parameters per model",
        schema: ["type": "array", "minItems": 1, "items": ["type": "object", "additionalProperties": mergeValueSchema]]
    ) { value in
        guard let list = value.arrayValue, !list.isEmpty else {
            return "expected a non-empty list with one object of parameters per model, got \(ParamType.describe(value))"
        }
        for (i, item) in list.enumerated() {
            guard let o = item.objectValue else { return "entry \(i): expected an object of parameters, got \(ParamType.describe(item))" }
            for (k, v) in o {
                if case .failure(let e) = MergeParameter.parse(v) { return "entry \(i).\(k): \(e.message)" }
            }
        }
        return nil
    })

    /// mergekit's parameter forms: scalar (or boolean), gradient, or [{filter, value}].
    static let mergeValueSchema: JSONValue = {
        let scalar: JSONValue = ["anyOf": [["type": "number"], ["type": "boolean"]]]
        let gradient: JSONValue = ["type": "array", "minItems": 1, "items": ["type": "number"]]
        let filtered: JSONValue = ["type": "array", "minItems": 1, "items": [
            "type": "object", "required": ["value"], "additionalProperties": false,
            "properties": ["filter": ["type": "string"], "value": ["anyOf": [scalar, gradient]]],
        ]]
        return ["anyOf": [scalar, gradient, filtered]]
    }()
}
