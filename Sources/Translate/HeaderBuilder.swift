import Config
import Protobuf

/// Header edits (per host, per route) and the Strict-Transport-Security header, as Envoy's header options.
enum HeaderBuilder {
    /// `HeaderValueOption`: `append` adds a value beside any existing one, otherwise the header is replaced.
    static func option(_ name: String, _ value: String, append: Bool) -> ProtoValue {
        message(
            "envoy.config.core.v3.HeaderValueOption",
            [
                "header": message(
                    "envoy.config.core.v3.HeaderValue", ["key": .string(name), "value": .string(literal(value))]),
                "append_action": .enumValue(append ? "APPEND_IF_EXISTS_OR_ADD" : "OVERWRITE_IF_EXISTS_OR_ADD"),
            ])
    }

    /// Writes `edits` into a VirtualHost's or Route's fields.
    static func apply(_ edits: HeaderEdits, to fields: inout [String: ProtoValue]) {
        let request =
            edits.requestAdd.map { option($0.name, $0.value, append: true) }
            + edits.requestSet.map { option($0.name, $0.value, append: false) }
        let response =
            edits.responseAdd.map { option($0.name, $0.value, append: true) }
            + edits.responseSet.map { option($0.name, $0.value, append: false) }
        if !request.isEmpty { fields["request_headers_to_add"] = .list(request) }
        if !response.isEmpty { fields["response_headers_to_add"] = .list(response) }
        if !edits.requestRemove.isEmpty {
            fields["request_headers_to_remove"] = .list(edits.requestRemove.map(ProtoValue.string))
        }
        if !edits.responseRemove.isEmpty {
            fields["response_headers_to_remove"] = .list(edits.responseRemove.map(ProtoValue.string))
        }
    }

    /// Strict-Transport-Security on every response of the route configuration, replacing one a backend sent: the
    /// routes file is where the site's policy lives (`hsts: false` leaves it to the backends).
    static func hsts(_ hsts: HSTS) -> ProtoValue {
        option("strict-transport-security", hsts.headerValue, append: false)
    }

    /// `alt-svc: h3=":443"; ma=86400`: HTTP/3 on this port, remembered for a day.
    static func altSvc(port: Int) -> ProtoValue {
        option("alt-svc", "h3=\":\(port)\"; ma=86400", append: false)
    }
}
