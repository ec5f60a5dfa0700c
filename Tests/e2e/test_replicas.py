"""Replicas are interchangeable (issue 12, item 5): two Chancery processes fed the same files, one real Envoy whose
`chancery_xds` cluster has both as endpoints. The replica Envoy streams from is killed with SIGKILL; Envoy reconnects
to the other and changes nothing: no update rejected, no listener or cluster added, modified or removed, and every
version in its config dump as before. Content-hash versions make this so: the second replica computes the same
versions from the same input, so what it sends is what Envoy already has."""
import json
import os
import subprocess
import tempfile

import pytest

from harness import FIXTURES, Chancery, Process, chancery_bin, envoy_bin, free_port, get_json, http_get, wait_until

SITE = os.path.join(FIXTURES, "example-site")
# Envoy stats that move when a listener or cluster is (re)built, and the rejections.
CHANGES = ("listener_manager.listener_added", "listener_manager.listener_modified",
           "listener_manager.listener_removed", "listener_manager.listener_in_place_updated",
           "cluster_manager.cluster_added", "cluster_manager.cluster_modified", "cluster_manager.cluster_removed")


def site_on_free_ports(directory):
    """The example site's routes file with its listener and backend ports moved to free ones."""
    with open(os.path.join(SITE, "routes.yaml")) as f:
        text = f.read()
    for port in ("10080", "10443", "10022", "18081", "18082", "18083", "18022"):
        text = text.replace(port, str(free_port()))
    path = os.path.join(directory, "routes.yaml")
    with open(path, "w") as f:
        f.write(text)
    return path


def two_endpoint_bootstrap(replicas, node, ads, admin_port, directory):
    """`chancery bootstrap` for the first replica, with the second added to the `chancery_xds` cluster."""
    out = subprocess.run([chancery_bin(), "bootstrap", "--node", node, "--ads", ads,
                          "--xds", f"127.0.0.1:{replicas[0].xds_port}", "--envoy-admin", f"127.0.0.1:{admin_port}"],
                         check=True, capture_output=True, text=True, timeout=30).stdout
    bootstrap = json.loads(out)
    (cluster,) = bootstrap["static_resources"]["clusters"]
    endpoints = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"]
    second = json.loads(json.dumps(endpoints[0]))
    second["endpoint"]["address"]["socket_address"]["port_value"] = replicas[1].xds_port
    endpoints.append(second)
    path = os.path.join(directory, "bootstrap.json")
    with open(path, "w") as f:
        json.dump(bootstrap, f)
    return path


def stats(admin_port):
    out = {}
    for line in http_get(f"http://127.0.0.1:{admin_port}/stats")[1].splitlines():
        key, _, value = line.partition(": ")
        if value.strip().isdigit():
            out[key] = int(value)
    return out


def versions(admin_port):
    """Every version in Envoy's config dump: per listener, route configuration, cluster and secret, and per type
    (LDS, CDS); for endpoints, which Envoy keeps no version of, their content."""
    dump = get_json(f"http://127.0.0.1:{admin_port}/config_dump?include_eds")["configs"]
    found = {}
    for config in dump:
        kind = config["@type"].rsplit(".", 1)[-1]
        if "version_info" in config:
            found[kind] = config.get("version_info")
        for listener in config.get("dynamic_listeners", []):
            found[f"listener {listener['name']}"] = listener["active_state"].get("version_info")
            assert "warming_state" not in listener and "draining_state" not in listener, listener
        for cluster in config.get("dynamic_active_clusters", []):
            found[f"cluster {cluster['cluster']['name']}"] = cluster.get("version_info")
        assert not config.get("dynamic_warming_clusters"), config
        for route in config.get("dynamic_route_configs", []):
            found[f"route {route['route_config']['name']}"] = route.get("version_info")
        for secret in config.get("dynamic_active_secrets", []):
            found[f"secret {secret['name']}"] = secret.get("version_info")
        for endpoint in config.get("dynamic_endpoint_configs", []):
            # Envoy keeps no version for endpoints: their content stands in for it.
            found[f"endpoints {endpoint['endpoint_config']['cluster_name']}"] = json.dumps(
                endpoint["endpoint_config"], sort_keys=True)
    return found


def serving(replica, node):
    """Whether `replica` streams to `node` with everything it sent ACKed."""
    return any(client["node_id"] == node for client in get_json(replica.admin("/clients?status=synced")))


@pytest.mark.parametrize("ads", ["sotw", "delta"])
def test_envoy_moves_to_the_other_replica_and_changes_nothing(ads):
    directory = tempfile.mkdtemp(prefix="replicas-")
    routes = site_on_free_ports(directory)
    replicas, envoy = [], None
    try:
        for _ in range(2):
            replicas.append(Chancery(routes, os.path.join(SITE, "certs")))
        # Same files, same versions: nothing in a version says which process made it.
        assert len({json.dumps(get_json(r.admin("/snapshot")), sort_keys=True) for r in replicas}) == 1

        node, admin_port = f"replica-{ads}", free_port()
        bootstrap = two_endpoint_bootstrap(replicas, node, ads, admin_port, directory)
        envoy = Process("envoy", [envoy_bin(), "-c", bootstrap, "--disable-hot-restart", "-l", "warning",
                                  "--drain-time-s", "1", "--parent-shutdown-time-s", "2"])
        first = wait_until(lambda: next((r for r in replicas if serving(r, node)), None), timeout=60,
                           what=f"envoy synced with a replica\n{envoy.output()}")
        other = replicas[1 - replicas.index(first)]
        wait_until(lambda: len([k for k in versions(admin_port) if k.startswith("listener ")]) == 3, timeout=30,
                   what="envoy's three listeners active")
        before_versions, before = versions(admin_port), stats(admin_port)
        assert any(k.startswith("secret ") for k in before_versions), before_versions
        assert None not in before_versions.values(), before_versions
        assert not [c for c in get_json(other.admin("/clients")) if c["node_id"] == node]  # one stream, to `first`

        first.proc.kill()  # SIGKILL: no GOAWAY, no goodbye; Envoy finds out from the closed connection
        first.proc.wait(timeout=10)
        wait_until(lambda: serving(other, node), timeout=60,
                   what=f"envoy synced with the other replica\n{envoy.output()}\n{other.output()}")
        after = stats(admin_port)
        if ads == "sotw":
            # State of the world: the other replica sends everything again, and Envoy accepts it...
            wait_until(lambda: stats(admin_port)["listener_manager.lds.update_success"]
                       > before["listener_manager.lds.update_success"], timeout=30, what="LDS update from the other")
            after = stats(admin_port)
            assert after["cluster_manager.cds.update_success"] > before["cluster_manager.cds.update_success"]
        # ...and changes nothing (delta: the other replica sends nothing at all, Envoy already holds those versions).
        for key, value in after.items():
            if key.endswith("update_rejected"):
                assert value == 0, key
        assert {k: after[k] for k in CHANGES} == {k: before[k] for k in CHANGES}
        assert versions(admin_port) == before_versions
        assert after["control_plane.connected_state"] == 1
        assert envoy.alive()
    finally:
        if envoy:
            envoy.stop()
        for replica in replicas:
            replica.stop()
