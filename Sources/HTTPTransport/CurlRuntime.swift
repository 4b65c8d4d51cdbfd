internal import CCrypto
internal import CCurl

/// libcurl's global state: initialised once, before any transfer thread starts.
enum CurlRuntime {
    private static let initialised: Bool = {
        // Without NO_ATEXIT, OpenSSL's exit handler can race Swift threads still using it.
        _ = OPENSSL_init_crypto(UInt64(OPENSSL_INIT_NO_ATEXIT), nil)
        return curl_global_init(Int(CURL_GLOBAL_ALL)) == CURLE_OK
    }()

    static func ensureInitialised() {
        precondition(initialised, "curl_global_init failed")
    }
}
