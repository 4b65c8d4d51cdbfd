import Foundation
import Testing

@testable import JobRunner

/// Reading kubeconfig files: contexts, paths relative to the file, inline data, and the
/// credential plug-ins the worker refuses.
@Suite struct KubeconfigTests {
    static func write(_ text: String) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kubeconfig-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("config").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static let twoContexts = """
        apiVersion: v1
        kind: Config
        current-context: dev
        clusters:
        - name: dev
          cluster: {server: "https://dev.example:6443", certificate-authority: certs/ca.crt}
        - name: prod
          cluster:
            server: https://prod.example:6443/
            certificate-authority-data: \(Data("PEM-CA".utf8).base64EncodedString())
            insecure-skip-tls-verify: false
        contexts:
        - name: dev
          context: {cluster: dev, user: dev-user, namespace: jobs-dev}
        - name: prod
          context: {cluster: prod, user: prod-user}
        users:
        - name: dev-user
          user: {token: dev-token}
        - name: prod-user
          user:
            client-certificate-data: \(Data("PEM-CERT".utf8).base64EncodedString())
            client-key: /abs/client.key
            tokenFile: tokens/prod
        """

    @Test func currentContextWithRelativeCAFileAndToken() throws {
        let path = try Self.write(Self.twoContexts)
        let configuration = try KubernetesConfiguration.kubeconfig(path: path)
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        #expect(configuration.server == "https://dev.example:6443")
        #expect(configuration.namespace == "jobs-dev")
        #expect(configuration.tls.caFile == "\(directory)/certs/ca.crt")
        #expect(configuration.token == "dev-token")
        #expect(configuration.tokenFile == nil)
    }

    @Test func namedContextWithInlineDataAndNamespaceOverride() throws {
        let path = try Self.write(Self.twoContexts)
        let configuration = try KubernetesConfiguration.kubeconfig(path: path, context: "prod", namespace: "batch")
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        #expect(configuration.server == "https://prod.example:6443")
        #expect(configuration.namespace == "batch")
        #expect(configuration.tls.caPEM == Array("PEM-CA".utf8))
        #expect(configuration.tls.clientCertificatePEM == Array("PEM-CERT".utf8))
        #expect(configuration.tls.clientKeyFile == "/abs/client.key")
        #expect(configuration.tls.insecureSkipVerify == false)
        #expect(configuration.tokenFile == "\(directory)/tokens/prod")
        #expect(configuration.token == nil)
    }

    @Test func unknownContextNamesTheKnownOnes() throws {
        let path = try Self.write(Self.twoContexts)
        let error = #expect(throws: KubernetesError.self) { try KubernetesConfiguration.kubeconfig(path: path, context: "staging") }
        #expect(error?.message.contains(#"context "staging" not found (contexts: dev, prod)"#) == true)
    }

    @Test(arguments: [
        ("{exec: {apiVersion: client.authentication.k8s.io/v1, command: aws}}", "exec plugin aws"),
        ("{auth-provider: {name: gcp}}", "auth-provider gcp"),
        ("{username: admin, password: secret}", "basic auth"),
    ])
    func pluginCredentialsAreRefusedClearly(user: String, expected: String) throws {
        let path = try Self.write(
            """
            current-context: c
            clusters: [{name: k, cluster: {server: "https://k.example"}}]
            contexts: [{name: c, context: {cluster: k, user: u}}]
            users:
            - name: u
              user: \(user)
            """)
        let error = #expect(throws: KubernetesError.self) { try KubernetesConfiguration.kubeconfig(path: path) }
        #expect(error?.message.contains(expected) == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("secret") == false)
    }

    @Test func missingFileAndNoContextAreNamed() throws {
        let missing = #expect(throws: KubernetesError.self) { try KubernetesConfiguration.kubeconfig(path: "/nonexistent/kubeconfig") }
        #expect(missing?.message.contains("cannot read kubeconfig /nonexistent/kubeconfig") == true)
        let path = try Self.write("clusters: []\ncontexts: []\nusers: []\n")
        let noContext = #expect(throws: KubernetesError.self) { try KubernetesConfiguration.kubeconfig(path: path) }
        #expect(noContext?.message.contains("no context named and no current-context set") == true)
    }
}
