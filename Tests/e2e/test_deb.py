"""scripts/package-deb (issue 12, item 5): the .deb is built from the binary under test, unpacked into a throwaway
root with `dpkg-deb -x`, and what it installed is run from there: the binary, the default routes file, the units'
commands and the Envoy helper. The Swift tests' build (CHANCERY_BIN, the debug build in scripts/test) is packaged,
so this takes seconds; scripts/package-deb with no --binary builds and packages the release binary instead."""
import io
import json
import os
import re
import shlex
import subprocess
import sys
import tarfile

import pytest

from harness import ROOT, chancery_bin, envoy_bin

PACKAGE_DEB = os.path.join(ROOT, "scripts", "package-deb")
UNITS = ("chancery.service", "chancery-envoy.service")
# Maintainer-script and unit commands that come from the base system rather than from this package.
SYSTEM_COMMANDS = ("/bin/kill", "/bin/sh")


def swift_runtime_libraries(binary):
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    return [line.split()[0] for line in out.splitlines() if "libswiftCore" in line]


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    """(path of the .deb, the root it was unpacked into)."""
    out = tmp_path_factory.mktemp("deb")
    args = [PACKAGE_DEB, "--binary", chancery_bin(), "--out", str(out), "--compression", "none"]
    if swift_runtime_libraries(chancery_bin()):
        args.append("--allow-swift-runtime")
    built = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    deb = built.stdout.strip().splitlines()[-1]
    root = out / "root"
    subprocess.run(["dpkg-deb", "-x", deb, str(root)], check=True, timeout=60)
    return deb, root


def control_field(deb, field):
    return subprocess.run(["dpkg-deb", "-f", deb, field], capture_output=True, text=True, check=True).stdout.strip()


def unit_lines(root, unit):
    """The unit's settings as (key, value) pairs, in order (systemd allows a key more than once)."""
    pairs = []
    with open(root / "usr/lib/systemd/system" / unit) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith(("#", "[")):
                key, _, value = line.partition("=")
                pairs.append((key, value))
    return pairs


def test_installed_binary_reports_the_package_version(package):
    deb, root = package
    version = subprocess.run([str(root / "usr/bin/chancery"), "--version"], capture_output=True, text=True,
                             check=True, timeout=30).stdout.strip()
    assert re.fullmatch(r"\d+\.\d+\.\d+", version), version
    assert control_field(deb, "Version") == version
    assert os.path.basename(deb).startswith(f"chancery_{version}_")


def test_installed_default_routes_file_validates_with_the_installed_binary(package):
    _, root = package
    certs = root / "etc/chancery/certs"
    assert certs.is_dir() and not any(certs.iterdir())
    result = subprocess.run([str(root / "usr/bin/chancery"), "validate", str(root / "etc/chancery/routes.yaml"),
                             "--certs", str(certs)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    assert ": ok (snapshot " in result.stdout


def test_commented_example_site_in_the_default_routes_file_validates(package, tmp_path):
    """The example the default file shows in comments must stay valid: uncommented, with a certificate example.com."""
    _, root = package
    text = (root / "etc/chancery/routes.yaml").read_text()
    example = "\n".join(re.sub(r"^# ?", "", line) for line in text[text.index("# listeners:"):].splitlines())
    (tmp_path / "routes.yaml").write_text(example)
    (tmp_path / "certs/example.com").mkdir(parents=True)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", str(tmp_path / "certs/example.com/tls.key"),
                    "-out", str(tmp_path / "certs/example.com/tls.crt"), "-days", "90", "-subj", "/CN=example.com",
                    "-addext", "subjectAltName=DNS:example.com,DNS:www.example.com"],
                   check=True, capture_output=True, timeout=30)
    result = subprocess.run([str(root / "usr/bin/chancery"), "validate", str(tmp_path / "routes.yaml"),
                             "--certs", str(tmp_path / "certs")], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr


def test_routes_schema_is_installed_and_accepts_the_default_routes_file(package):
    """/usr/share/chancery/routes.schema.json is docs/routes.schema.json, and the installed routes file matches it."""
    _, root = package
    installed = root / "usr/share/chancery/routes.schema.json"
    with open(os.path.join(ROOT, "docs", "routes.schema.json"), "rb") as f:
        assert installed.read_bytes() == f.read()
    import jsonschema
    validator = jsonschema.Draft202012Validator(json.loads(installed.read_text()))
    sys.path.insert(0, os.path.join(ROOT, "Tests", "schema"))
    from routes_yaml import load_routes
    routes = load_routes((root / "etc/chancery/routes.yaml").read_text())
    assert [error.message for error in validator.iter_errors(routes)] == []


def test_package_metadata_conffiles_and_ownership(package):
    deb, _ = package
    depends = [name.strip() for name in control_field(deb, "Depends").split(",")]
    assert "libnghttp2-14" in depends and "libprotobuf-c1" in depends, depends
    listing = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True, text=True, check=True).stdout
    owners = {line.split()[1] for line in listing.splitlines()}
    assert owners == {"root/root"}, owners
    info = subprocess.run(["dpkg-deb", "-I", deb], capture_output=True, text=True, check=True).stdout
    for script in ("postinst", "prerm", "postrm", "conffiles", "md5sums"):
        assert re.search(rf"\b{script}\b", info), f"{script} missing from the control archive:\n{info}"
    conffiles = subprocess.run(["dpkg-deb", "--ctrl-tarfile", deb], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(conffiles)) as tar:
        listed = tar.extractfile("./conffiles").read().decode().split()
    assert listed == ["/etc/chancery/routes.yaml", "/etc/default/chancery-envoy"]


def test_units_reference_paths_that_the_package_installs(package):
    _, root = package
    sysusers = (root / "usr/lib/sysusers.d/chancery.conf").read_text()
    users = {line.split()[1] for line in sysusers.splitlines() if line.startswith("u ")}
    for unit in UNITS:
        settings = unit_lines(root, unit)
        commands = [value for key, value in settings if key.startswith("Exec")]
        assert commands, unit
        for command in commands:
            words = shlex.split(command)
            program = words[0]
            if program in SYSTEM_COMMANDS:
                assert os.access(program, os.X_OK), program
                continue
            installed = root / program.lstrip("/")
            assert installed.is_file() and os.access(installed, os.X_OK), f"{unit}: {program} not in the package"
            # Every /etc path a command names is a file or directory the package ships.
            for word in words[1:]:
                if word.startswith("/etc/"):
                    assert (root / word.lstrip("/")).exists(), f"{unit}: {word} not in the package"
        for key, value in settings:
            if key == "EnvironmentFile":
                assert (root / value.lstrip("-").lstrip("/")).is_file(), value
            if key in ("User", "Group", "SupplementaryGroups"):
                assert value in users, f"{unit}: {key}={value} is not created by sysusers.d ({users})"
    # Envoy reaches Chancery on the socket Chancery serves, in the directory Chancery's unit creates.
    serve = shlex.split(dict(unit_lines(root, "chancery.service"))["ExecStart"])
    socket = serve[serve.index("--xds") + 1]
    assert socket == "unix:/run/chancery/xds.sock"
    assert dict(unit_lines(root, "chancery.service"))["RuntimeDirectory"] == "chancery"
    helper = (root / "usr/lib/chancery/chancery-envoy").read_text()
    assert f'CHANCERY_XDS:-{socket}' in helper


def rewritten_units(root, tmp_path):
    """Copies of the units whose package paths point into the unpacked root, so systemd finds the programs."""
    paths = []
    for unit in UNITS:
        text = (root / "usr/lib/systemd/system" / unit).read_text()
        text = text.replace("/usr/bin/chancery", str(root / "usr/bin/chancery"))
        text = text.replace("/usr/lib/chancery/", str(root / "usr/lib/chancery") + "/")
        path = tmp_path / unit
        path.write_text(text)
        paths.append(str(path))
    return paths


def test_units_pass_systemd_analyze_verify(package, tmp_path):
    _, root = package
    result = subprocess.run(["systemd-analyze", "verify", *rewritten_units(root, tmp_path)],
                            capture_output=True, text=True, timeout=60)
    # verify reports unknown keys, bad values and missing programs as messages, some without failing.
    assert result.returncode == 0 and not (result.stdout + result.stderr).strip(), result.stdout + result.stderr


def test_units_are_hardened(package, tmp_path):
    """systemd's own exposure score, shown from 0 (locked down) to 10 (none) and given to --threshold in tenths: at
    most 3.0 (the units score 1.7 and 1.9; without their hardening sections, above 9)."""
    _, root = package
    for path in rewritten_units(root, tmp_path):
        result = subprocess.run(["systemd-analyze", "security", "--offline=true", "--threshold=30", path],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr
        settings = dict(unit_lines(root, os.path.basename(path)))
        assert settings["ProtectSystem"] == "strict" and settings["NoNewPrivileges"] == "yes", path
        assert int(settings["LimitNOFILE"]) >= 65536, path
    envoy = dict(unit_lines(root, "chancery-envoy.service"))
    assert envoy["CapabilityBoundingSet"] == "CAP_NET_BIND_SERVICE"
    assert dict(unit_lines(root, "chancery.service"))["CapabilityBoundingSet"] == ""


def test_envoy_helper_writes_a_bootstrap_that_envoy_accepts(package, tmp_path):
    _, root = package
    env = dict(os.environ, RUNTIME_DIRECTORY=str(tmp_path), CHANCERY=str(root / "usr/bin/chancery"),
               CHANCERY_NODE="edge-test", CHANCERY_GROUP="default")
    subprocess.run([str(root / "usr/lib/chancery/chancery-envoy"), "bootstrap"], env=env, check=True, timeout=30)
    bootstrap = tmp_path / "envoy.json"
    config = json.loads(bootstrap.read_text())
    assert config["node"] == {"id": "edge-test", "cluster": "default"}
    endpoint = config["static_resources"]["clusters"][0]["load_assignment"]["endpoints"][0]["lb_endpoints"][0]
    assert endpoint["endpoint"]["address"] == {"pipe": {"path": "/run/chancery/xds.sock"}}
    assert config["admin"]["address"]["socket_address"]["address"] == "127.0.0.1"
    assert not (tmp_path / "envoy.json.new").exists()
    checked = subprocess.run([envoy_bin(), "--mode", "validate", "-c", str(bootstrap)], capture_output=True,
                             text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_binary_that_needs_the_swift_runtime_is_refused(tmp_path):
    """The package must run where Swift is not installed: a dynamically linked Swift runtime is refused unless the
    test-only flag says otherwise; a static one packages with Debian libraries alone."""
    binary = chancery_bin()
    result = subprocess.run([PACKAGE_DEB, "--binary", binary, "--out", str(tmp_path), "--compression", "none"],
                            capture_output=True, text=True, timeout=300)
    if swift_runtime_libraries(binary):
        assert result.returncode == 1
        assert "no Debian package provides" in result.stderr and "scripts/build-static" in result.stderr
        assert not list(tmp_path.iterdir())
    else:
        assert result.returncode == 0, result.stderr
        deb = result.stdout.strip().splitlines()[-1]
        assert "swift" not in control_field(deb, "Depends").lower()
