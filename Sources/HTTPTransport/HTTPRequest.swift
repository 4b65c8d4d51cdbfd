/// An HTTP request as the transport sends it: the URL is already encoded and the headers final
/// (signing happens before this point).
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// Seconds allowed to connect.
    public var connectTimeout: Double
    /// Seconds allowed for the whole transfer; 0 for no limit (watches, followed logs).
    public var totalTimeout: Double

    public init(
        method: String,
        url: String,
        headers: [(name: String, value: String)] = [],
        body: [UInt8] = [],
        connectTimeout: Double = 10,
        totalTimeout: Double = 60
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.connectTimeout = connectTimeout
        self.totalTimeout = totalTimeout
    }
}
