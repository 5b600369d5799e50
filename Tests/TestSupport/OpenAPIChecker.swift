import Foundation

/// Checks answers against an OpenAPI 3 document: the status must be one the operation lists, and
/// a JSON body must match the schema given for it (types, required properties, enums, items and
/// references; what the document leaves open stays open).
public struct OpenAPIChecker {
    public let document: [String: Any]

    public init(_ data: Data) throws {
        guard let document = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ServerFailure(message: "the OpenAPI document is not a JSON object")
        }
        self.document = document
    }

    public var paths: [String: [String: Any]] { document["paths"] as? [String: [String: Any]] ?? [:] }

    /// Every `$ref` in the document that does not resolve.
    public func danglingReferences() -> [String] {
        var dangling: [String] = []
        func walk(_ value: Any) {
            if let object = value as? [String: Any] {
                if let ref = object["$ref"] as? String, resolve(ref) == nil { dangling.append(ref) }
                object.values.forEach(walk)
            } else if let array = value as? [Any] {
                array.forEach(walk)
            }
        }
        walk(document)
        return dangling
    }

    func resolve(_ ref: String) -> [String: Any]? {
        guard ref.hasPrefix("#/") else { return nil }
        var node: Any = document
        for part in ref.dropFirst(2).split(separator: "/") {
            guard let object = node as? [String: Any], let next = object[String(part)] else { return nil }
            node = next
        }
        return node as? [String: Any]
    }

    private func dereferenced(_ node: [String: Any]) -> [String: Any] {
        var node = node
        while let ref = node["$ref"] as? String, let target = resolve(ref) { node = target }
        return node
    }

    /// The problems of `answer` to `method path` (`path` as the document writes it, `{name}` and all).
    public func problems(_ method: String, _ path: String, _ answer: HTTPAnswer) -> [String] {
        guard let item = paths[path] else { return ["\(path) is not in the document"] }
        guard let operation = item[method.lowercased()] as? [String: Any] else { return ["\(method) \(path) is not in the document"] }
        let responses = operation["responses"] as? [String: Any] ?? [:]
        guard let response = responses[String(answer.status)] as? [String: Any] else {
            return ["\(method) \(path) answered \(answer.status), which the document does not list (\(responses.keys.sorted().joined(separator: ", ")))"]
        }
        let resolved = dereferenced(response)
        guard let content = resolved["content"] as? [String: Any] else { return [] }
        let type = (answer.header("Content-Type") ?? "").split(separator: ";").first.map { String($0).trimmingCharacters(in: .whitespaces) } ?? ""
        guard let media = content[type] as? [String: Any] else {
            return ["\(method) \(path) \(answer.status) sent \(type), the document gives \(content.keys.sorted().joined(separator: ", "))"]
        }
        guard type == "application/json", let schema = media["schema"] as? [String: Any] else { return [] }
        guard let value = answer.json else { return ["\(method) \(path) \(answer.status): the body is not JSON"] }
        return validate(value, schema, at: "\(method) \(path) \(answer.status) $")
    }

    public func validate(_ value: Any, _ schema: [String: Any], at where_: String) -> [String] {
        let schema = dereferenced(schema)
        var problems: [String] = []
        if let values = schema["enum"] as? [Any], let string = value as? String, !values.contains(where: { ($0 as? String) == string }) {
            problems.append("\(where_): '\(string)' is not one of \(values)")
        }
        switch schema["type"] as? String {
        case "object"?:
            guard let object = value as? [String: Any] else { return ["\(where_): not an object"] }
            for key in schema["required"] as? [String] ?? [] where object[key] == nil || object[key] is NSNull {
                problems.append("\(where_): no required '\(key)'")
            }
            let properties = schema["properties"] as? [String: [String: Any]] ?? [:]
            for (key, item) in object {
                if let property = properties[key] { problems += validate(item, property, at: "\(where_).\(key)") }
            }
        case "array"?:
            guard let array = value as? [Any] else { return ["\(where_): not an array"] }
            if let items = schema["items"] as? [String: Any] {
                for (index, item) in array.enumerated() { problems += validate(item, items, at: "\(where_)[\(index)]") }
            }
        case "string"?:
            if !(value is String) { problems.append("\(where_): not a string") }
        case "integer"?:
            if let number = value as? NSNumber, number.doubleValue == number.doubleValue.rounded() {} else { problems.append("\(where_): not an integer") }
        case "number"?:
            if !(value is NSNumber) { problems.append("\(where_): not a number") }
        case "boolean"?:
            if !(value is Bool) { problems.append("\(where_): not a boolean") }
        default:
            break
        }
        return problems
    }
}
