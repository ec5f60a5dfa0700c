"""DNS endpoints on one machine, node groups for any --service-cluster, and `serve --validate-with-envoy`."""
import os
import shutil
import stat
import tempfile

from harness import FIXTURES, Backend, Chancery, Envoy, envoy_bin, free_port, get_json, http_get, wait_until

CERTS = os.path.join(FIXTURES, "example-site", "certs")


def write_routes(directory, text):
    path = os.path.join(directory, "routes.yaml")
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)
    return path


def single_site(listener_port, endpoint, groups=""):
    return f"""{groups}listeners:
  - name: web
    address: 127.0.0.1
    port: {listener_port}
    hosts:
      - domains: ["*"]
        routes:
          - {{ prefix: /, cluster: app }}
clusters:
  - name: app
    endpoints: [{endpoint}]
"""


def serves(port, backend):
    def check():
        status, body = http_get(f"http://127.0.0.1:{port}/probe")
        return status == 200 and f'"backend": "{backend}"' in body
    return check


def run_site(text, group, extra=(), backend_name="local"):
    """Serves `text` to an Envoy of node.cluster `group` and waits for a 200 from the backend."""
    work = tempfile.mkdtemp(prefix="envoy-checks-")
    backend = Backend(backend_name, BACKEND_PORT[0])
    chancery = envoy = None
    try:
        routes = write_routes(work, text)
        chancery = Chancery(routes, CERTS, extra=extra)
        envoy = Envoy(chancery, node=f"node-{group}", group=group)
        wait_until(serves(LISTENER_PORT[0], backend_name), timeout=30, what=f"200 through Envoy\n{envoy.output()}")
    finally:
        if envoy:
            envoy.stop()
        if chancery:
            chancery.stop()
        backend.stop()
        shutil.rmtree(work, ignore_errors=True)


BACKEND_PORT = [0]
LISTENER_PORT = [0]


def setup_function(_):
    BACKEND_PORT[0] = free_port()
    LISTENER_PORT[0] = free_port()


def test_localhost_endpoint_reaches_a_backend_on_127_0_0_1():
    # Envoy's own default (AUTO) resolves localhost to ::1 here and answers 503; V4_PREFERRED reaches 127.0.0.1.
    run_site(single_site(LISTENER_PORT[0], f"localhost:{BACKEND_PORT[0]}"), group="default")


def test_envoy_with_any_service_cluster_is_served_by_a_file_without_groups():
    run_site(single_site(LISTENER_PORT[0], f"127.0.0.1:{BACKEND_PORT[0]}"), group="front-proxy-eu1")


def test_default_group_takes_proxies_of_unknown_groups():
    text = single_site(LISTENER_PORT[0], f"127.0.0.1:{BACKEND_PORT[0]}", groups="groups: [edge, ingress]\n")
    text = text.replace("    address: 127.0.0.1\n", "    address: 127.0.0.1\n    groups: [edge]\n")
    run_site(text, group="front-proxy-eu1", extra=("--default-group", "edge"))


def fake_envoy(directory):
    """An `envoy` that accepts until the file `refuse` appears next to it, then fails like Envoy does."""
    path = os.path.join(directory, "fake-envoy")
    with open(path, "w") as f:
        f.write(f"""#!/bin/sh
echo "$@" >> {directory}/calls
if [ -e {directory}/refuse ]; then
  echo "[critical][main] error initializing configuration '$4': fake refusal of this snapshot" >&2
  exit 1
fi
echo "configuration '$4' OK"
""")
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)
    return path


def test_snapshot_refused_by_envoy_keeps_the_last_good_one():
    work = tempfile.mkdtemp(prefix="validate-with-envoy-")
    chancery = None
    try:
        envoy = fake_envoy(work)
        routes = write_routes(work, single_site(free_port(), "127.0.0.1:8080"))
        chancery = Chancery(routes, CERTS, extra=("--validate-with-envoy", envoy))
        first = get_json(chancery.admin("/status"))
        assert first["ok"] is True
        with open(os.path.join(work, "calls")) as f:
            assert "--mode validate" in f.read()

        open(os.path.join(work, "refuse"), "w").close()
        write_routes(work, single_site(free_port(), "127.0.0.1:9090"))
        status = wait_until(lambda: (s := get_json(chancery.admin("/status"))) and not s["ok"] and s,
                            timeout=30, what="the refusal on /status")
        assert any("fake refusal of this snapshot" in e and 'group "default"' in e for e in status["errors"])
        assert status["snapshot_version"] == first["snapshot_version"]
        snapshot = http_get(chancery.admin("/snapshot"))[1]
        assert '"portValue": 8080' in snapshot and '"portValue": 9090' not in snapshot
        assert "fake refusal of this snapshot" in chancery.output()

        os.remove(os.path.join(work, "refuse"))
        write_routes(work, single_site(free_port(), "127.0.0.1:9191"))
        wait_until(lambda: '"portValue": 9191' in http_get(chancery.admin("/snapshot"))[1], timeout=30,
                   what="the next good snapshot")
        assert get_json(chancery.admin("/status"))["ok"] is True
    finally:
        if chancery:
            chancery.stop()
        shutil.rmtree(work, ignore_errors=True)


def test_real_envoy_accepts_and_the_snapshot_is_published():
    work = tempfile.mkdtemp(prefix="validate-with-envoy-")
    chancery = None
    try:
        routes = write_routes(work, open(os.path.join(FIXTURES, "acme-http01", "routes.yaml")).read())
        certs = os.path.join(FIXTURES, "acme-http01", "certs")
        chancery = Chancery(routes, certs, extra=("--validate-with-envoy", envoy_bin()))
        first = get_json(chancery.admin("/status"))
        assert first["ok"] is True, first
        write_routes(work, single_site(free_port(), "localhost:8089"))
        wait_until(lambda: get_json(chancery.admin("/status")).get("snapshot_version") not in
                   (None, first["snapshot_version"]), timeout=60, what="the edit checked by Envoy and published")
        assert get_json(chancery.admin("/status"))["ok"] is True
    finally:
        if chancery:
            chancery.stop()
        shutil.rmtree(work, ignore_errors=True)


def test_static_bootstrap_of_every_golden_case_passes_envoy_validate(tmp_path):
    import json
    import subprocess
    from harness import chancery_bin
    checked = 0
    for case in sorted(os.listdir(FIXTURES)):
        expected = os.path.join(FIXTURES, case, "expected")
        if not os.path.isdir(expected):
            continue
        for group in sorted(os.listdir(expected)):
            render = subprocess.run(
                [chancery_bin(), "render", "--config", os.path.join(FIXTURES, case, "routes.yaml"),
                 "--certs", os.path.join(FIXTURES, case, "certs"), "--group", group, "--format", "envoy-bootstrap",
                 *(["--raw", raw] if os.path.isdir(raw := os.path.join(FIXTURES, case, "raw")) else [])],
                capture_output=True, text=True, check=True)
            bootstrap = json.loads(render.stdout)
            assert bootstrap["node"]["cluster"] == group
            with open(os.path.join(expected, group, "listener.json")) as f:
                envoy_listeners = [l for l in json.load(f) if "apiListener" not in l]
            assert len(bootstrap["static_resources"]["listeners"]) == len(envoy_listeners)
            path = tmp_path / f"{case}-{group}.json"
            path.write_text(render.stdout)
            check = subprocess.run([envoy_bin(), "--mode", "validate", "-c", str(path), "-l", "error",
                                    "--disable-hot-restart", "--concurrency", "1"], capture_output=True, text=True)
            assert check.returncode == 0, (case, group, check.stdout[-2000:], check.stderr[-2000:])
            checked += 1
    assert checked >= 4
