/// `client_certificates` and `client_ca`, read the same way on a listener's `tls` and on a host with its own
/// certificate.
extension RoutesDecoder {
    /// What a mapping asks of client certificates.
    struct ClientCertificateRequest: Equatable {
        var mode: ClientCertificates
        /// The folder named by `client_ca`, or nil for the default (the serving certificate's own folder).
        var folder: String?
        /// Where `client_ca` is written, else `client_certificates`.
        var position: SourcePosition
    }

    /// nil when neither key is present; `.failure` once a problem has been reported.
    func decodeClientCertificates(_ map: MappingReader) -> Result<ClientCertificateRequest, ReportedError>? {
        let modeValue = map.value("client_certificates")
        let caValue = map.value("client_ca")
        if modeValue == nil && caValue == nil { return nil }
        guard let modeValue else {
            let caValue = caValue!
            reader.report(
                .invalidValue(
                    at: caValue.position, key: caValue.path,
                    message: "\"client_ca\" only applies with \"client_certificates\"",
                    hint: "add client_certificates: required (or optional), or remove client_ca"))
            return .failure(ReportedError())
        }
        guard let text = reader.nonEmptyString(modeValue) else { return .failure(ReportedError()) }
        guard let mode = ClientCertificates(rawValue: text) else {
            let allowed = ClientCertificates.allCases.map(\.rawValue)
            let guess = Suggest.closest(to: text, in: allowed).map { "did you mean \"\($0)\"? " } ?? ""
            reader.report(
                .invalidValue(
                    at: modeValue.position, key: modeValue.path,
                    message: "\"client_certificates\" is \"\(text)\"; expected required or optional",
                    hint: guess + "required rejects clients without a certificate; optional also lets them in"))
            return .failure(ReportedError())
        }
        var request = ClientCertificateRequest(mode: mode, folder: nil, position: modeValue.position)
        if let caValue {
            guard let folder = reader.nonEmptyString(caValue) else { return .failure(ReportedError()) }
            request.folder = folder
            request.position = caValue.position
        }
        return .success(request)
    }

    /// A problem already reported to the reader.
    struct ReportedError: Error {}
}
