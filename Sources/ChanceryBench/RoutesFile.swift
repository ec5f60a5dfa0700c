/// Generated routes files for the load scenarios, so every server is measured on the same input.
enum RoutesFile {
    /// One HTTP listener with `routes` routes spread over `clusters` clusters (one host per 100 routes).
    /// `endpointShift` moves the endpoint of cluster 0 only (an endpoint change); `generation` changes every
    /// cluster's endpoint and timeout and every route's path (a change touching the whole snapshot).
    static func make(clusters: Int, routes: Int, generation: Int = 0, endpointShift: Int = 0) -> String {
        var text = "listeners:\n  - name: web\n    address: 127.0.0.1\n    port: 10080\n    hosts:\n"
        let perHost = 100
        let hosts = max(1, (routes + perHost - 1) / perHost)
        var route = 0
        for host in 0..<hosts {
            text += "      - name: h\(host)\n        domains: [h\(host).bench.test]\n        routes:\n"
            while route < routes, route < (host + 1) * perHost {
                text += "          - prefix: /g\(generation)/r\(route)/\n            cluster: c\(route % clusters)\n"
                route += 1
            }
        }
        text += "clusters:\n"
        for cluster in 0..<clusters {
            let port = 20000 + (cluster + generation * 7 + (cluster == 0 ? endpointShift : 0)) % 40000
            text += "  - name: c\(cluster)\n    endpoints: [127.0.0.1:\(port)]\n"
            text += "    connect_timeout: \(1 + generation % 5)s\n"
        }
        return text
    }
}
