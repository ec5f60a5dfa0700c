/// `basic_auth: { users: admins }` on a host or a route (`DIR/admins/htpasswd` in the certificate directory), and
/// `basic_auth: false` on a route of a protected host.
extension RoutesDecoder {
    static let basicAuthKeys = ["users"]

    /// What a `basic_auth` key said: `value` nil when absent. The whole result is nil after an error.
    struct BasicAuthSetting {
        var value: BasicAuth?
    }

    func decodeBasicAuth(_ map: MappingReader, onRoute: Bool) -> BasicAuthSetting? {
        guard let value = map.value("basic_auth") else { return BasicAuthSetting() }
        if value.node.mapping == nil {
            guard let on = reader.bool(value) else { return nil }
            guard !on, onRoute else {
                reader.report(
                    .invalidValue(
                        at: value.position, key: value.path,
                        message: on
                            ? "basic_auth needs the users it checks"
                            : "basic_auth: false only applies to a route of a host with basic_auth",
                        hint: on
                            ? "write basic_auth: { users: NAME } with the users in NAME/htpasswd in the certificate directory"
                            : "remove it"))
                return nil
            }
            return BasicAuthSetting(value: .off)
        }
        guard let entry = reader.mapping(value, place: "basic_auth", allowed: Self.basicAuthKeys) else { return nil }
        entry.rejectUnknownKeys()
        guard
            let users = entry.required(
                "users", hint: "name the folder of the certificate directory whose htpasswd lists the users"),
            let folder = reader.nonEmptyString(users)
        else { return nil }
        guard !folder.contains("/"), !folder.hasPrefix(".") else {
            reader.report(
                .invalidValue(
                    at: users.position, key: users.path,
                    message: "basic_auth \"users\" \"\(folder)\" is not a folder name",
                    hint: "name a folder directly inside the certificate directory, e.g. users: admins"))
            return nil
        }
        return BasicAuthSetting(value: .users(folder, position: users.position))
    }
}
