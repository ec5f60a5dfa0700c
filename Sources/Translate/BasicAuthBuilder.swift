import Certs
import Config
import Protobuf

/// Basic authentication: Envoy's `basic_auth` filter sits in the connection manager disabled, so it checks nothing by
/// itself; each protected route carries its users as per-route configuration, which turns the filter on there. A
/// route with `basic_auth: false`, or without basic auth, carries none and stays open.
enum BasicAuthBuilder {
    static let filterName = "envoy.filters.http.basic_auth"

    static func needed(_ http: HTTPListener) -> Bool {
        http.hosts.contains { host in
            host.basicAuth?.folder != nil || host.routes.contains { $0.basicAuth?.folder != nil }
        }
    }

    /// The filter, off unless a route turns it on. Its own user list is never consulted, but Envoy refuses an empty
    /// one: it holds one user whose hash is twenty zero bytes, which no known password has.
    static var httpFilter: ProtoValue {
        chainFilter(
            filterName,
            any(
                "envoy.extensions.filters.http.basic_auth.v3.BasicAuth",
                [
                    "users": message(
                        "envoy.config.core.v3.DataSource",
                        ["inline_string": .string("chancery-disabled:{SHA}AAAAAAAAAAAAAAAAAAAAAAAAAAA=\n")])
                ]), disabled: true)
    }

    static func perRoute(_ users: UserList) -> [String: ProtoValue] {
        [
            filterName: .any(
                ProtoMessage(
                    "envoy.extensions.filters.http.basic_auth.v3.BasicAuthPerRoute",
                    ["users": message("envoy.config.core.v3.DataSource", ["inline_string": .string(users.text)])]))
        ]
    }
}
