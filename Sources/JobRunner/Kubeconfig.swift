import Foundation
import HTTPTransport
import Yams

extension KubernetesConfiguration {
    /// Reads a kubeconfig file as kubectl does: the named context (else `current-context`), its
    /// cluster's server, CA (file or data) and `insecure-skip-tls-verify`, and its user's client
    /// certificate and key (file or data), `token` or `tokenFile`. Relative paths are relative
    /// to the file. Plug-in credentials (`exec`, `auth-provider`) run other programs and are
    /// refused; so is basic auth, which API servers no longer accept.
    public static func kubeconfig(path: String, context requestedContext: String? = nil, namespace: String? = nil) throws
        -> KubernetesConfiguration
    {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw KubernetesError.configuration("cannot read kubeconfig \(path): \(error.localizedDescription)")
        }
        let file: KubeconfigFile
        do {
            file = try YAMLDecoder().decode(KubeconfigFile.self, from: text)
        } catch {
            throw KubernetesError.configuration("kubeconfig \(path) is not a valid kubeconfig: \(error)")
        }
        return try file.configuration(
            context: requestedContext, namespace: namespace,
            directory: URL(fileURLWithPath: path).deletingLastPathComponent().path, source: path)
    }
}

/// The parts of a kubeconfig (`apiVersion: v1`, `kind: Config`) the worker uses.
struct KubeconfigFile: Decodable {
    var clusters: [Named<Cluster>]?
    var contexts: [Named<Context>]?
    var users: [Named<User>]?
    var currentContext: String?

    enum CodingKeys: String, CodingKey {
        case clusters, contexts, users
        case currentContext = "current-context"
    }

    struct Named<Value: Decodable>: Decodable {
        var name: String
        var value: Value?

        enum CodingKeys: String, CodingKey { case name, cluster, context, user }

        init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decode(String.self, forKey: .name)
            // Each list names its payload after its kind: `cluster:`, `context:` or `user:`.
            value =
                try container.decodeIfPresent(Value.self, forKey: .cluster)
                ?? container.decodeIfPresent(Value.self, forKey: .context)
                ?? container.decodeIfPresent(Value.self, forKey: .user)
        }
    }

    struct Cluster: Decodable {
        var server: String?
        var certificateAuthority: String?
        var certificateAuthorityData: String?
        var insecureSkipTLSVerify: Bool?

        enum CodingKeys: String, CodingKey {
            case server
            case certificateAuthority = "certificate-authority"
            case certificateAuthorityData = "certificate-authority-data"
            case insecureSkipTLSVerify = "insecure-skip-tls-verify"
        }
    }

    struct Context: Decodable {
        var cluster: String?
        var user: String?
        var namespace: String?
    }

    struct User: Decodable {
        var token: String?
        var tokenFile: String?
        var clientCertificate: String?
        var clientCertificateData: String?
        var clientKey: String?
        var clientKeyData: String?
        var exec: Plugin?
        var authProvider: Plugin?
        var username: String?

        struct Plugin: Decodable {
            var name: String?
            var command: String?
        }

        enum CodingKeys: String, CodingKey {
            case token, tokenFile, exec, username
            case clientCertificate = "client-certificate"
            case clientCertificateData = "client-certificate-data"
            case clientKey = "client-key"
            case clientKeyData = "client-key-data"
            case authProvider = "auth-provider"
        }
    }

    func configuration(context requested: String?, namespace: String?, directory: String, source: String) throws
        -> KubernetesConfiguration
    {
        func fail(_ message: String) -> KubernetesError { .configuration("kubeconfig \(source): \(message)") }
        guard let contextName = requested ?? currentContext.flatMap({ $0.isEmpty ? nil : $0 }) else {
            throw fail("no context named and no current-context set (use --kube-context)")
        }
        guard let context = contexts?.first(where: { $0.name == contextName })?.value else {
            let known = (contexts ?? []).map(\.name).joined(separator: ", ")
            throw fail("context \"\(contextName)\" not found (contexts: \(known.isEmpty ? "none" : known))")
        }
        guard let clusterName = context.cluster, let cluster = clusters?.first(where: { $0.name == clusterName })?.value else {
            throw fail("cluster \"\(context.cluster ?? "")\" of context \"\(contextName)\" not found")
        }
        guard let server = cluster.server, !server.isEmpty else {
            throw fail("cluster \"\(clusterName)\" has no server")
        }
        var user = User()
        if let userName = context.user, !userName.isEmpty {
            guard let named = users?.first(where: { $0.name == userName }) else {
                throw fail("user \"\(userName)\" of context \"\(contextName)\" not found")
            }
            user = named.value ?? User()
        }
        if let plugin = user.exec {
            throw fail(
                "user \"\(context.user ?? "")\" gets credentials from the exec plugin \(plugin.command ?? "?"), which the worker does not run; "
                    + "use a token, tokenFile or client certificate (for example a service-account token)")
        }
        if let plugin = user.authProvider {
            throw fail(
                "user \"\(context.user ?? "")\" uses the auth-provider \(plugin.name ?? "?"), which the worker does not support; "
                    + "use a token, tokenFile or client certificate")
        }
        if user.username != nil {
            throw fail(
                "user \"\(context.user ?? "")\" uses basic auth, which API servers no longer accept; use a token or client certificate")
        }

        func resolve(_ path: String?) -> String? {
            guard let path, !path.isEmpty else { return nil }
            return path.hasPrefix("/") ? path : "\(directory)/\(path)"
        }
        func decode(_ data: String?, _ field: String) throws -> [UInt8]? {
            guard let data else { return nil }
            guard let bytes = Data(base64Encoded: data, options: .ignoreUnknownCharacters) else {
                throw fail("\(field) is not base64")
            }
            return [UInt8](bytes)
        }
        let tls = TLSConfiguration(
            caFile: resolve(cluster.certificateAuthority),
            caPEM: try decode(cluster.certificateAuthorityData, "certificate-authority-data"),
            clientCertificateFile: resolve(user.clientCertificate),
            clientKeyFile: resolve(user.clientKey),
            clientCertificatePEM: try decode(user.clientCertificateData, "client-certificate-data"),
            clientKeyPEM: try decode(user.clientKeyData, "client-key-data"),
            insecureSkipVerify: cluster.insecureSkipTLSVerify ?? false
        )
        return KubernetesConfiguration(
            server: server,
            namespace: namespace ?? context.namespace.flatMap { $0.isEmpty ? nil : $0 } ?? "default",
            tls: tls,
            token: user.token.flatMap { $0.isEmpty ? nil : $0 },
            tokenFile: resolve(user.tokenFile)
        )
    }
}
