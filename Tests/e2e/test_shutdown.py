"""SIGTERM: Chancery drains (GOAWAY, then ends its streams) and exits 0; Envoy keeps serving its last configuration
and takes the same versions again, with no rejection, when Chancery comes back."""
import os

from harness import FIXTURES, Backend, Chancery, Envoy, get_json, wait_until
from test_example_site import BACKENDS, https_get

SITE = os.path.join(FIXTURES, "example-site")


def test_sigterm_drains_and_envoy_keeps_serving_then_reconnects():
    backends = [Backend(name, port) for name, port in BACKENDS.items()]
    chancery = Chancery(os.path.join(SITE, "routes.yaml"), os.path.join(SITE, "certs"))
    envoy = None
    restarted = None
    try:
        envoy = Envoy(chancery, node="shutdown")
        wait_until(lambda: https_get("www.example.test")[0] == 200, timeout=30, what="traffic")
        before = {k: v["acked_version"] for k, v in get_json(chancery.admin("/clients"))[0]["types"].items()}

        assert chancery.stop(sig_timeout=10) == 0, chancery.output()[-2000:]
        assert "shutting down" in chancery.output()
        # The data plane does not depend on the control plane being up.
        assert https_get("www.example.test")[0] == 200

        # Same input, same ports: a restarted Chancery gives the reconnecting Envoy the same versions.
        restarted = Chancery(os.path.join(SITE, "routes.yaml"), os.path.join(SITE, "certs"),
                             xds_port=chancery.xds_port, admin_port=chancery.admin_port)
        clients = wait_until(lambda: [c for c in get_json(restarted.admin("/clients")) if c["node_id"] == "shutdown"
                                      and all(t.get("acked_version") for t in c["types"].values())
                                      and len(c["types"]) == 5],
                             timeout=40, what="envoy reconnected and ACKed")
        after = {k: v["acked_version"] for k, v in clients[0]["types"].items()}
        assert after == before
        assert {k: v for k, v in envoy.stats().items() if k.endswith("update_rejected") and v} == {}
    finally:
        for process in (envoy, restarted, chancery):
            if process:
                process.stop()
        for backend in backends:
            backend.stop()


def test_delta_envoy_reconnecting_to_a_restarted_chancery_is_sent_nothing():
    """Versions are per-resource content hashes: after a restart with the same input, a delta Envoy that lists what it
    holds (initial_resource_versions) is sent no resource at all (issue 3, item 6)."""
    backends = [Backend(name, port) for name, port in BACKENDS.items()]
    chancery = Chancery(os.path.join(SITE, "routes.yaml"), os.path.join(SITE, "certs"))
    envoy = None
    restarted = None
    try:
        envoy = Envoy(chancery, node="delta-restart", ads="delta")
        wait_until(lambda: https_get("www.example.test")[0] == 200, timeout=30, what="traffic")
        counters = ("cluster_manager.cds.update_success", "listener_manager.lds.update_success")
        before = {name: envoy.stats()[name] for name in counters}
        assert chancery.stop(sig_timeout=10) == 0

        restarted = Chancery(os.path.join(SITE, "routes.yaml"), os.path.join(SITE, "certs"),
                             xds_port=chancery.xds_port, admin_port=chancery.admin_port)
        # Envoy re-subscribes every type it uses, listing the versions it holds.
        client = wait_until(lambda: [c for c in get_json(restarted.admin("/clients"))
                                     if c["node_id"] == "delta-restart" and len(c["types"]) == 5],
                            timeout=40, what="envoy re-subscribed on delta ADS")[0]
        assert all("sent_nonce" not in state for state in client["types"].values()), client["types"]
        assert https_get("www.example.test")[0] == 200
        assert {name: envoy.stats()[name] for name in counters} == before
    finally:
        for process in (envoy, restarted, chancery):
            if process:
                process.stop()
        for backend in backends:
            backend.stop()
