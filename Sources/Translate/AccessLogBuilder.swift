import Config
import Protobuf

/// The access log of a listener: one JSON object per request (HTTP) or connection (TCP), to stdout or a file.
///
/// The keys are fixed and documented in the README, so log shippers can rely on them; a value Envoy does not have
/// (no upstream yet, no SNI on plain http) is left out of the line rather than written as "-".
enum AccessLogBuilder {
    /// Keys and Envoy substitution commands of an HTTP request line.
    static let httpFields: [(String, String)] = [
        ("start_time", "%START_TIME%"),
        ("method", "%REQ(:METHOD)%"),
        ("path", "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%"),
        ("protocol", "%PROTOCOL%"),
        ("authority", "%REQ(:AUTHORITY)%"),
        ("status", "%RESPONSE_CODE%"),
        ("response_flags", "%RESPONSE_FLAGS%"),
        ("duration_ms", "%DURATION%"),
        ("bytes_received", "%BYTES_RECEIVED%"),
        ("bytes_sent", "%BYTES_SENT%"),
        ("upstream_cluster", "%UPSTREAM_CLUSTER%"),
        ("upstream_host", "%UPSTREAM_HOST%"),
        ("upstream_attempts", "%UPSTREAM_REQUEST_ATTEMPT_COUNT%"),
        ("client_address", "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%"),
        ("user_agent", "%REQ(USER-AGENT)%"),
        ("request_id", "%REQ(X-REQUEST-ID)%"),
        ("sni", "%REQUESTED_SERVER_NAME%"),
    ]

    /// Keys and commands of a TCP connection line.
    static let tcpFields: [(String, String)] = [
        ("start_time", "%START_TIME%"),
        ("duration_ms", "%DURATION%"),
        ("bytes_received", "%BYTES_RECEIVED%"),
        ("bytes_sent", "%BYTES_SENT%"),
        ("upstream_cluster", "%UPSTREAM_CLUSTER%"),
        ("upstream_host", "%UPSTREAM_HOST%"),
        ("client_address", "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%"),
        ("sni", "%REQUESTED_SERVER_NAME%"),
        ("response_flags", "%RESPONSE_FLAGS%"),
    ]

    /// An `envoy.config.accesslog.v3.AccessLog`, or nil when the log is off.
    static func accessLog(_ log: AccessLog, listener: String, http: Bool) -> ProtoValue? {
        var fields: [String: ProtoValue] = [
            // A literal value: `%` would start a command, so it is doubled.
            "listener": jsonValue(literal(listener))
        ]
        for (key, command) in http ? httpFields : tcpFields { fields[key] = jsonValue(command) }
        let format = message(
            "envoy.config.core.v3.SubstitutionFormatString",
            [
                "json_format": message("google.protobuf.Struct", ["fields": .map(fields)]),
                "omit_empty_values": .bool(true),
            ])
        let typed: ProtoValue
        let name: String
        switch log {
        case .off:
            return nil
        case .stdout:
            name = "envoy.access_loggers.stdout"
            typed = any("envoy.extensions.access_loggers.stream.v3.StdoutAccessLog", ["log_format": format])
        case .file(let path):
            name = "envoy.access_loggers.file"
            typed = any(
                "envoy.extensions.access_loggers.file.v3.FileAccessLog",
                ["path": .string(path), "log_format": format])
        }
        return message("envoy.config.accesslog.v3.AccessLog", ["name": .string(name), "typed_config": typed])
    }

    private static func jsonValue(_ text: String) -> ProtoValue {
        message("google.protobuf.Value", ["string_value": .string(text)])
    }
}
