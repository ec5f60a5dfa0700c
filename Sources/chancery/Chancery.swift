import ArgumentParser

@main
struct Chancery: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chancery",
        abstract: "An Envoy xDS control plane for one routes file and a directory of certificates.",
        version: chanceryVersion,
        subcommands: [Serve.self, Validate.self, Render.self, Bootstrap.self, Status.self]
    )
}
