"""Envoy converges and carries traffic in each bootstrap mode: ADS state-of-the-world, ADS delta, and one stream
per type, state-of-the-world or delta (issue 3)."""
import json
import os

import pytest

from harness import FIXTURES, get_json
from test_example_site import https_get, serving

SITE = os.path.join(FIXTURES, "example-site")
KINDS = {
    "sotw": {"ads"},
    "delta": {"ads-delta"},
    "none": {"listeners", "routes", "clusters", "endpoints", "secrets"},
    "none-delta": {"listeners-delta", "routes-delta", "clusters-delta", "endpoints-delta", "secrets-delta"},
}


@pytest.mark.parametrize("mode", ["sotw", "delta", "none", "none-delta"])
def test_mode_converges_and_carries_traffic(mode):
    with serving(os.path.join(SITE, "routes.yaml"), os.path.join(SITE, "certs"), node=f"mode-{mode}",
                 ads=mode) as (chancery, envoy):
        status, body, _ = https_get("dav.example.test", "/x")
        assert status == 200 and json.loads(body)["backend"] == "dav"

        clients = [c for c in get_json(chancery.admin("/clients")) if c["node_id"] == f"mode-{mode}"]
        assert {c["kind"] for c in clients} == KINDS[mode]
        for client in clients:
            for kind, state in client["types"].items():
                assert state.get("acked_version") == state.get("sent_version"), (mode, client["kind"], kind, state)
                assert "last_nack" not in state, (mode, kind, state)

        stats = envoy.stats()
        assert {k: v for k, v in stats.items() if k.endswith("update_rejected") and v} == {}
        assert stats["listener_manager.lds.update_success"] >= 1
        assert stats["cluster_manager.cds.update_success"] >= 1
