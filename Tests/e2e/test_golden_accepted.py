"""Every golden case is accepted by the real Envoy: each Envoy group ACKs every type and reports no rejection.

The routes file is served as committed, except that listener ports become free loopback ports (so the test needs no
privileged port and no fixed port).
"""
import json
import os
import re
import shutil
import tempfile

import pytest

from harness import FIXTURES, Chancery, Envoy, free_port, get_json, wait_until

CASES = sorted(name for name in os.listdir(FIXTURES)
               if os.path.isdir(os.path.join(FIXTURES, name, "expected")))


def envoy_groups(case):
    """Groups whose listeners are for Envoy (groups of proxyless gRPC clients hold API listeners instead)."""
    groups = []
    expected = os.path.join(FIXTURES, case, "expected")
    for group in sorted(os.listdir(expected)):
        with open(os.path.join(expected, group, "listener.json")) as f:
            listeners = json.load(f)
        if listeners and not any("apiListener" in listener for listener in listeners):
            groups.append((case, group))
    return groups


def loopback_copy(case):
    work = tempfile.mkdtemp(prefix=f"golden-{case}-")
    shutil.copytree(os.path.join(FIXTURES, case, "certs"), os.path.join(work, "certs"))
    with open(os.path.join(FIXTURES, case, "routes.yaml")) as f:
        text = f.read()
    text = re.sub(r"(?m)^(\s+)port: \d+", lambda m: f"{m.group(1)}port: {free_port()}", text)
    text = re.sub(r"(?m)^(\s+)address: \S+", lambda m: f"{m.group(1)}address: 127.0.0.1", text)
    with open(os.path.join(work, "routes.yaml"), "w") as f:
        f.write(text)
    raw = os.path.join(FIXTURES, case, "raw")
    if os.path.isdir(raw):  # raw Envoy resources: the same treatment, in YAML or JSON spelling
        os.mkdir(os.path.join(work, "raw"))
        for name in os.listdir(raw):
            with open(os.path.join(raw, name)) as f:
                text = f.read()
            text = re.sub(r'(port_value: |"portValue": )\d+', lambda m: f"{m.group(1)}{free_port()}", text)
            text = re.sub(r'(address: |"address": ")0\.0\.0\.0', lambda m: f"{m.group(1)}127.0.0.1", text)
            with open(os.path.join(work, "raw", name), "w") as f:
                f.write(text)
    return work


def raw_option(work):
    raw = os.path.join(work, "raw")
    return ["--raw", raw] if os.path.isdir(raw) else []


@pytest.mark.parametrize("case,group", [pair for case in CASES for pair in envoy_groups(case)])
def test_envoy_accepts_golden_case(case, group):
    work = loopback_copy(case)
    chancery = Chancery(os.path.join(work, "routes.yaml"), os.path.join(work, "certs"), extra=raw_option(work))
    envoy = None
    try:
        envoy = Envoy(chancery, node=f"golden-{group}", group=group)

        def all_acked():
            clients = [c for c in get_json(chancery.admin("/clients")) if c["node_id"] == f"golden-{group}"]
            types = clients[0]["types"] if clients else {}
            done = types and all(t.get("acked_version") == t.get("sent_version") or "last_nack" in t
                                 for t in types.values())
            return types if done else None

        types = wait_until(all_acked, timeout=20, what=f"{case}/{group} ACKed")
        for kind, state in types.items():
            assert "last_nack" not in state, (case, group, kind, state["last_nack"])
        stats = envoy.stats()
        assert {k: v for k, v in stats.items() if k.endswith("update_rejected") and v} == {}
        with open(os.path.join(FIXTURES, case, "expected", group, "listener.json")) as f:
            expected = len(json.load(f))
        wait_until(lambda: envoy.stats().get("listener_manager.total_listeners_active", 0) == expected,
                   timeout=20, what=f"{expected} active listeners")
    finally:
        if envoy:
            envoy.stop()
        chancery.stop()
        shutil.rmtree(work, ignore_errors=True)
