"""A real Envoy rejects an update: Chancery records Envoy's message for that proxy, keeps the group's new proxies on
the last accepted version, and serves everyone again once a newer version is published (issue 3, item 4)."""
import os
import re
import shutil
import socket
import tempfile

from harness import FIXTURES, Chancery, Envoy, free_port, get_json, wait_until

SITE = os.path.join(FIXTURES, "example-site")


def client(chancery, node):
    found = [c for c in get_json(chancery.admin("/clients")) if c["node_id"] == node]
    return found[0] if found else None


def listener_port(envoy, name):
    for entry in envoy.config_dump()["configs"]:
        if entry["@type"].endswith("ListenersConfigDump"):
            for listener in entry.get("dynamic_listeners", []):
                if listener["name"] == name and "active_state" in listener:
                    return listener["active_state"]["listener"]["address"]["socket_address"]["port_value"]
    return None


def test_envoy_nack_is_recorded_and_new_proxies_get_the_last_accepted_version():
    work = tempfile.mkdtemp(prefix="chancery-nack-")
    shutil.copytree(os.path.join(SITE, "certs"), os.path.join(work, "certs"))
    with open(os.path.join(SITE, "routes.yaml")) as f:
        text = re.sub(r"(?m)^(\s+)port: \d+", lambda m: f"{m.group(1)}port: {free_port()}", f.read())
    ssh_port = int(re.search(r"name: ssh\n\s+address: \S+\n\s+port: (\d+)", text).group(1))
    routes = os.path.join(work, "routes.yaml")

    def save(content):
        with open(routes + ".tmp", "w") as f:
            f.write(content)
        os.rename(routes + ".tmp", routes)

    save(text)
    # A port some other program holds (without SO_REUSEPORT): Envoy cannot bind it and rejects the update.
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    taken = blocker.getsockname()[1]
    chancery = Chancery(routes, os.path.join(work, "certs"))
    first = second = None
    try:
        first = Envoy(chancery, node="envoy-a")
        good = wait_until(lambda: (lambda c: c if c and c["types"].get("listener", {}).get("acked_version") else None)(
            client(chancery, "envoy-a")), timeout=20, what="first envoy ACKed")
        good_listeners = good["types"]["listener"]["acked_version"]

        save(text.replace(f"port: {ssh_port}", f"port: {taken}"))
        nacked = wait_until(lambda: (lambda c: c if c and "last_nack" in c["types"]["listener"] else None)(
            client(chancery, "envoy-a")), timeout=20, what="the NACK recorded")
        nack = nacked["types"]["listener"]["last_nack"]
        assert "cannot bind" in nack["message"] and str(taken) in nack["message"], nack
        assert nacked["types"]["listener"]["acked_version"] == good_listeners
        rejected = get_json(chancery.admin("/status"))["rejected_group_versions"]["default"]
        assert len(rejected) == 1
        assert listener_port(first, "ssh") == ssh_port  # Envoy kept the good listener

        # A proxy of the same group that starts now is given the last accepted version.
        second = Envoy(chancery, node="envoy-b")
        b = wait_until(lambda: (lambda c: c if c and c["types"].get("listener", {}).get("acked_version") else None)(
            client(chancery, "envoy-b")), timeout=20, what="second envoy ACKed")
        assert b["types"]["listener"]["acked_version"] == good_listeners
        assert "last_nack" not in b["types"]["listener"]
        assert listener_port(second, "ssh") == ssh_port

        # A newer version reaches both.
        fixed_port = free_port()
        save(text.replace(f"port: {ssh_port}", f"port: {fixed_port}"))
        wait_until(lambda: listener_port(first, "ssh") == fixed_port and listener_port(second, "ssh") == fixed_port,
                   timeout=20, what="both envoys on the fixed version")
        a_now, b_now = client(chancery, "envoy-a"), client(chancery, "envoy-b")
        assert a_now["types"]["listener"]["acked_version"] == b_now["types"]["listener"]["acked_version"]
        assert a_now["types"]["listener"]["acked_version"] not in (good_listeners, nack["version"])
    finally:
        for envoy in (second, first):
            if envoy:
                envoy.stop()
        chancery.stop()
        blocker.close()
        shutil.rmtree(work, ignore_errors=True)
