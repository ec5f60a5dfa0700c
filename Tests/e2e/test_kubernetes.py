"""deploy/kubernetes and deploy/Containerfile (issue 12, item 5). No cluster runs here, so the manifests are checked
for what can be checked without one: they parse; the paths the containers are given match the volumes mounted there;
the routes in the ConfigMap validate against certificates laid out as the projected Secret volume lays them out; and
the pod is run for real, each container's command with only its paths and loopback ports moved into a temporary
directory: the init container's bootstrap, Chancery on the shared socket, the probes' own commands, and the real
Envoy routing HTTPS to a backend, then following an update of the ConfigMap volume."""
import glob
import json
import os
import re
import shlex
import socket
import ssl
import subprocess
import tempfile

import pytest
import yaml

import kube_volumes
from harness import ROOT, Backend, Process, chancery_bin, envoy_bin, free_port, get_json, wait_until

KUBE = os.path.join(ROOT, "deploy", "kubernetes")
CONTAINERFILE = os.path.join(ROOT, "deploy", "Containerfile")
NAMESPACED = {"ConfigMap", "DaemonSet", "Certificate", "Deployment", "Service", "Secret"}


def documents():
    """{file name: [documents]} for every manifest."""
    out = {}
    for path in sorted(glob.glob(os.path.join(KUBE, "*.yaml"))):
        with open(path) as f:
            out[os.path.basename(path)] = [doc for doc in yaml.safe_load_all(f) if doc is not None]
    return out


def find(kind, name=None):
    matches = [doc for docs in documents().values() for doc in docs
               if doc.get("kind") == kind and (name is None or doc["metadata"]["name"] == name)]
    assert len(matches) == 1, f"expected one {kind} {name or ''}, found {len(matches)}"
    return matches[0]


def pod():
    return find("DaemonSet")["spec"]["template"]["spec"]


def container(name, init=False):
    containers = pod()["initContainers" if init else "containers"]
    return next(c for c in containers if c["name"] == name)


def flag(args, name):
    return args[args.index(name) + 1]


def mount_path(container_spec, volume):
    return next(m["mountPath"] for m in container_spec["volumeMounts"] if m["name"] == volume)


def volume(name):
    return next(v for v in pod()["volumes"] if v["name"] == name)


def routes_text():
    configmap = find("ConfigMap", "chancery-routes")
    config_path = flag(container("chancery")["command"], "--config")
    return configmap["data"][os.path.basename(config_path)]


def certificate_names(node):
    """Every `certificate:` and `client_ca:` value in a parsed routes file."""
    if isinstance(node, dict):
        found = {value for key, value in node.items() if key in ("certificate", "client_ca") and isinstance(value, str)}
        return found.union(*(certificate_names(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(certificate_names(value) for value in node))
    return set()


def make_certificate(name):
    """(tls.crt, tls.key) PEM text of a fresh self-signed certificate for `name`."""
    with tempfile.TemporaryDirectory() as scratch:
        crt, key = os.path.join(scratch, "tls.crt"), os.path.join(scratch, "tls.key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", key, "-out", crt, "-days", "30", "-subj", f"/CN={name}",
                        "-addext", f"subjectAltName=DNS:{name},DNS:www.{name}"],
                       check=True, capture_output=True, timeout=30)
        with open(crt) as c, open(key) as k:
            return c.read(), k.read()


def projected_certificates():
    """The certs volume's files as the kubelet projects them from the Secrets, with fresh certificates as content."""
    files, bundles = {}, {}
    for source in volume("certs")["projected"]["sources"]:
        for item in source["secret"]["items"]:
            folder = item["path"].split("/")[0]
            bundles.setdefault(folder, make_certificate(folder))
            files[item["path"]] = bundles[folder][0 if item["key"] == "tls.crt" else 1]
    return files


def test_every_manifest_parses_and_says_what_it_is():
    docs = documents()
    assert {"daemonset.yaml", "routes-configmap.yaml", "kustomization.yaml"} <= set(docs)
    for name, items in docs.items():
        assert items, f"{name} is empty"
        for doc in items:
            assert doc.get("apiVersion") and doc.get("kind"), f"{name}: apiVersion and kind are required"
            if doc["kind"] == "Kustomization":
                listed = set(doc["resources"])
                assert listed == set(docs) - {name}, f"kustomization lists {listed}"
                continue
            assert doc["metadata"].get("name"), name
            if doc["kind"] in NAMESPACED:
                assert doc["metadata"].get("namespace") == "chancery", f"{name}: {doc['kind']} outside the namespace"


def test_pod_layout_and_limits():
    spec = pod()
    daemonset = find("DaemonSet")
    assert daemonset["spec"]["selector"]["matchLabels"].items() <= daemonset["spec"]["template"]["metadata"][
        "labels"].items()
    envoy = container("envoy")
    host_ports = {p["hostPort"] for p in envoy["ports"]}
    assert host_ports == {80, 443}
    assert {"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"} in spec["securityContext"]["sysctls"]
    assert spec["securityContext"]["runAsNonRoot"] is True
    for c in spec["containers"] + spec["initContainers"]:
        assert c["resources"]["requests"]["cpu"] and c["resources"]["requests"]["memory"], c["name"]
        assert c["resources"]["limits"]["memory"], c["name"]
        security = c["securityContext"]
        assert security["allowPrivilegeEscalation"] is False and security["readOnlyRootFilesystem"] is True
        assert security["capabilities"]["drop"] == ["ALL"] and "add" not in security["capabilities"]
    chancery = container("chancery")
    probes = {chancery["livenessProbe"]["exec"]["command"][-1], chancery["readinessProbe"]["exec"]["command"][-1]}
    admin = flag(chancery["command"], "--admin")
    assert probes == {f"http://{admin}/healthz", f"http://{admin}/readyz"}
    assert admin.startswith("127.0.0.1:")


def test_mounted_paths_match_what_chancery_and_envoy_are_given():
    chancery, envoy, init = container("chancery"), container("envoy"), container("bootstrap", init=True)
    args = chancery["command"]
    assert os.path.dirname(flag(args, "--config")) == mount_path(chancery, "routes")
    assert volume("routes")["configMap"]["name"] == "chancery-routes"
    assert flag(args, "--certs") == mount_path(chancery, "certs")
    # Every certificate the routes file names is a folder of the projected volume with a chain and a key, and
    # nothing else is projected.
    needed = certificate_names(yaml.safe_load(routes_text()))
    files = [item["path"] for source in volume("certs")["projected"]["sources"] for item in source["secret"]["items"]]
    assert {path.split("/")[0] for path in files} == needed
    for name in needed:
        assert {f"{name}/tls.crt", f"{name}/tls.key"} <= set(files)
    # The socket: Chancery serves it where Envoy's container has the same volume, and the bootstrap names it.
    xds = flag(args, "--xds")
    assert xds.startswith("unix:")
    socket_dir = os.path.dirname(xds[len("unix:"):])
    assert mount_path(chancery, "xds") == socket_dir == mount_path(envoy, "xds")
    script = shlex.split(init["command"][2])
    assert flag(script, "--xds") == xds
    output = script[script.index(">") + 1]
    bootstrap = envoy["command"][envoy["command"].index("-c") + 1]
    assert output == bootstrap and os.path.dirname(bootstrap) == mount_path(init, "envoy-bootstrap") == mount_path(
        envoy, "envoy-bootstrap")


def test_configmap_routes_validate_against_the_projected_certificates(tmp_path):
    config_path = flag(container("chancery")["command"], "--config")
    kube_volumes.create(str(tmp_path / "config"), {os.path.basename(config_path): routes_text()})
    kube_volumes.create(str(tmp_path / "certs"), projected_certificates())
    result = subprocess.run([chancery_bin(), "validate", str(tmp_path / "config" / os.path.basename(config_path)),
                             "--certs", str(tmp_path / "certs")], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "warning" not in result.stderr, result.stderr


def runtime_packages():
    """The packages the Containerfile's last stage installs."""
    with open(CONTAINERFILE) as f:
        text = f.read()
    last_stage = text[text.rindex("\nFROM "):]
    install = re.search(r"apt-get install -y --no-install-recommends ([^&\\]+)", last_stage)
    return set(install.group(1).split())


def test_containerfile_builds_in_two_stages_and_installs_what_the_binary_loads():
    with open(CONTAINERFILE) as f:
        text = f.read()
    stages = re.findall(r"^FROM (\S+)", text, re.M)
    assert len(stages) == 2 and "swift" in stages[0] and "debian" in stages[1] and "slim" in stages[1], stages
    assert "scripts/build-static release" in text  # the Swift runtime linked in, as scripts/package-deb does
    # The Debian packages of the C libraries the binary loads (the Swift runtime is linked in by the build above).
    ldd = subprocess.run(["ldd", chancery_bin()], capture_output=True, text=True, check=True).stdout
    needed = set()
    for library in ("libnghttp2", "libprotobuf-c"):
        path = re.search(rf"{library}\S* => (\S+)", ldd).group(1)
        owner = subprocess.run(["dpkg", "-S", os.path.realpath(path)], capture_output=True, text=True,
                               check=True).stdout.split(":")[0]
        needed.add(owner)
    packages = runtime_packages()
    assert needed <= packages, f"{needed - packages} missing from the runtime stage"
    assert "curl" in packages  # the probes run curl
    # The image's binary and user are the ones the manifests run.
    assert "/usr/bin/chancery" in re.search(r"^ENTRYPOINT (.*)$", text, re.M).group(1)
    assert container("chancery")["command"][0] == "/usr/bin/chancery"
    user = re.search(r"^USER (\d+):(\d+)$", text, re.M)
    assert int(user.group(1)) == container("chancery")["securityContext"]["runAsUser"]
    assert int(user.group(2)) == pod()["securityContext"]["runAsGroup"]
    for copied in re.findall(r"^COPY (?!--from)(\S+)", text, re.M):
        assert os.path.exists(os.path.join(ROOT, copied)), copied


class LocalPod:
    """The pod's paths and loopback ports, moved to a temporary directory and free ports."""

    def __init__(self):
        # Short: a Unix socket path is limited to 107 bytes.
        self.dir = tempfile.mkdtemp(prefix="k8s-")
        self.admin_port, self.envoy_admin_port = free_port(), free_port()
        self.moves = {
            "/usr/bin/chancery": chancery_bin(),
            "/usr/local/bin/envoy": envoy_bin(),
            "/etc/chancery/config": os.path.join(self.dir, "config"),
            "/etc/chancery/certs": os.path.join(self.dir, "certs"),
            "/run/chancery": os.path.join(self.dir, "run"),
            "/etc/envoy": os.path.join(self.dir, "envoy"),
            "127.0.0.1:18001": f"127.0.0.1:{self.admin_port}",
            "127.0.0.1:9901": f"127.0.0.1:{self.envoy_admin_port}",
        }
        for path in ("run", "envoy"):
            os.makedirs(os.path.join(self.dir, path))

    def move(self, text):
        for original in sorted(self.moves, key=len, reverse=True):
            text = text.replace(original, self.moves[original])
        return text


def local_routes(http_port, https_port, backend_port):
    """The ConfigMap's routes on loopback test ports, the backend Service replaced by a local backend."""
    routes = yaml.safe_load(routes_text())
    for listener in routes["listeners"]:
        listener["address"] = "127.0.0.1"
        if listener.get("redirect_to_https"):
            listener["https_port"] = https_port
        listener["port"] = {80: http_port, 443: https_port}[listener["port"]]
    for cluster in routes["clusters"]:
        cluster["endpoints"] = [f"127.0.0.1:{backend_port}"]
    return routes


def https_get(port, host, path="/"):
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=host) as tls:
            tls.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while chunk := tls.recv(65536):
                data += chunk
    head, _, body = data.decode(errors="replace").partition("\r\n\r\n")
    return int(head.split()[1]), body


def tcp_open(port):
    with socket.create_connection(("127.0.0.1", port), timeout=2):
        return True


def test_the_pod_runs_from_the_manifest_and_follows_a_configmap_update():
    local = LocalPod()
    http_port, https_port, backend_port = free_port(), free_port(), free_port()
    config_name = os.path.basename(flag(container("chancery")["command"], "--config"))
    routes = local_routes(http_port, https_port, backend_port)
    kube_volumes.create(local.moves["/etc/chancery/config"], {config_name: yaml.safe_dump(routes)})
    kube_volumes.create(local.moves["/etc/chancery/certs"], projected_certificates())
    backend = Backend("app", backend_port)
    processes = []
    try:
        # The init container: its shell command as written, with NODE_NAME from the downward API.
        init = container("bootstrap", init=True)
        assert init["command"][:2] == ["/bin/sh", "-c"]
        subprocess.run(["/bin/sh", "-c", local.move(init["command"][2])], env=dict(os.environ, NODE_NAME="node-a"),
                       check=True, timeout=30)
        bootstrap_path = local.move(container("envoy")["command"][2])
        with open(bootstrap_path) as f:
            written = json.load(f)
        script = shlex.split(local.move(init["command"][2]))
        expected = subprocess.run([chancery_bin(), "bootstrap", "--node", "node-a",
                                   *script[script.index("--group"):script.index(">")]],
                                  capture_output=True, text=True, check=True, timeout=30).stdout
        assert written == json.loads(expected)
        assert written["node"]["id"] == "node-a"

        chancery = Process("chancery", [local.move(word) for word in container("chancery")["command"]])
        processes.append(chancery)
        # The probes, run as the kubelet runs them: their exit status is the verdict.
        for probe in ("readinessProbe", "livenessProbe"):
            command = [local.move(word) for word in container("chancery")[probe]["exec"]["command"]]
            wait_until(lambda: chancery.alive() and subprocess.run(command, capture_output=True).returncode == 0,
                       timeout=30, what=f"{probe} passing\n{chancery.output()}")
        assert os.path.exists(os.path.join(local.moves["/run/chancery"], "xds.sock"))

        envoy = Process("envoy", [local.move(word) for word in container("envoy")["command"]])
        processes.append(envoy)
        # Envoy's readiness probe: the https listener's port accepts connections once Chancery's config arrived.
        assert container("envoy")["readinessProbe"]["tcpSocket"]["port"] == 443
        wait_until(lambda: envoy.alive() and tcp_open(https_port), timeout=60, what=f"envoy ready\n{envoy.output()}")
        status, body = wait_until(lambda: https_get(https_port, "example.com"), timeout=30, what="https via envoy")
        assert status == 200 and json.loads(body)["backend"] == "app"
        clients = get_json(f"http://127.0.0.1:{local.admin_port}/clients")
        assert [client["node_id"] for client in clients] == ["node-a"], clients

        # kubectl apply of a changed ConfigMap: the kubelet swaps `..data`; Envoy must follow without a restart.
        routes["listeners"][1]["hosts"][0]["routes"].insert(
            0, {"path": "/moved", "respond": {"status": 200, "body": "configmap updated\n"}})
        kube_volumes.update(local.moves["/etc/chancery/config"], {config_name: yaml.safe_dump(routes)})
        wait_until(lambda: https_get(https_port, "example.com", "/moved") == (200, "configmap updated\n"),
                   timeout=20, what=f"the ConfigMap update served by Envoy\n{chancery.output()}")
        assert envoy.alive() and chancery.alive()
    finally:
        for process in reversed(processes):
            process.stop()
        backend.stop()
