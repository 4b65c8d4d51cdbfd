import Foundation
import JobRunner

/// The Role rules that cover exactly the API calls the worker makes, grouped by API group and
/// resource, for the Helm chart and `config/service-account.yaml` to be checked against.
enum RBACRules {
    struct Rule: Encodable {
        var apiGroups: [String]
        var resources: [String]
        var verbs: [String]
    }

    static var rules: [Rule] {
        var verbs: [String: Set<String>] = [:]
        var groups: [String: String] = [:]
        for call in KubernetesClient.apiCalls {
            verbs[call.resource, default: []].insert(call.verb)
            groups[call.resource] = call.group
        }
        return verbs.keys.sorted().map { resource in
            Rule(apiGroups: [groups[resource]!], resources: [resource], verbs: verbs[resource]!.sorted())
        }
    }

    static var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return String(decoding: (try? encoder.encode(rules)) ?? Data(), as: UTF8.self)
    }
}
