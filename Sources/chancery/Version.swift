/// The release this binary is, printed by `chancery --version`. Packaging (`scripts/package-deb`) takes the package
/// version from here, so bump it when cutting a release.
let chanceryVersion = "0.1.0"
