"""Chancery's regex checks against RE2 itself (PyPI's google-re2, the library Envoy compiles routes with) and the
real Envoy: a pattern `chancery validate` accepts must compile in RE2 to at most RegexCost.limit instructions (the
error level `chancery bootstrap` gives Envoy), and a pattern RE2 refuses (nested counts over 1000, a program too
large) must be refused with its position.

Generated patterns, deterministic per seed. Long mode:
    CHANCERY_BIN=... .venv/bin/python Tests/e2e/test_regex_limits.py --count 20000
"""
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import textwrap

import re2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Backend, Chancery, Envoy, chancery_bin, free_port, get_json, wait_until  # noqa: E402

LIMIT = 10_000  # Sources/Config/RegexCost.swift
ATOMS = ["a", "b", "/", "-", "é", ".", r"\d", r"\w", r"\s", r"\D", r"\W", r"\S", "[a-z]", "[a-z0-9_-]", "[^/]",
         "[^a-z]", "[[:alpha:]]", "[à-ÿ]", r"\b", "^", "$", r"\x41", r"\.", r"[\d\s]", "(?i:ab)", "[A-Za-z]",
         r"\p{Greek}", "[a-zA-Z0-9._-]"]


def generate(r, depth=0):
    parts = []
    for _ in range(r.randint(1, 4)):
        if r.random() < 0.15 and depth < 2:
            inner = "|".join(generate(r, depth + 1) for _ in range(r.randint(1, 3)))
            atom = r.choice(["(%s)", "(?:%s)"]) % inner
        else:
            atom = r.choice(ATOMS)
        q = r.random()
        if atom in ("^", "$", r"\b"):
            q = 1.0  # Chancery refuses repeating an empty-width assertion (`^*`), which RE2 takes and ignores
        if q < 0.1:
            atom += "*"
        elif q < 0.2:
            atom += "+"
        elif q < 0.3:
            atom += "?"
        elif q < 0.5:
            low = r.choice([0, 1, 2, 5, 20, 100, 300])
            high = low + r.choice([0, 1, 10, 50, 200, 700])
            atom += r.choice(["{%d}" % low, "{%d,}" % low, "{%d,%d}" % (low, min(high, 1000))])
        parts.append(atom)
    text = "".join(parts)
    return "(?i)" + text if r.random() < 0.2 else text


def re2_verdict(pattern):
    """RE2's program size, or the reason it refuses the pattern."""
    try:
        return re2.compile(pattern).programsize, None
    except Exception as error:  # re2.error
        return None, str(error)


def chancery_verdicts(patterns, work):
    """Validates one file with every pattern in a route of its own; returns the error line for each refused one."""
    routes = "\n".join(f"          - {{ regex: {json.dumps(p)}, cluster: app }}" for p in patterns)
    path = os.path.join(work, "routes.yaml")
    with open(path, "w") as f:
        f.write("listeners:\n  - name: web\n    port: 8080\n    hosts:\n      - domains: [example.test]\n"
                f"        routes:\n{routes}\nclusters:\n  - {{ name: app, endpoints: [127.0.0.1:9000] }}\n")
    result = subprocess.run([chancery_bin(), "validate", path], capture_output=True, text=True)
    refused = {}
    for line in result.stderr.splitlines():
        match = re.match(r"^.*routes\.yaml:(\d+):(\d+): (.*)$", line)
        assert match, f"a refusal without a position: {line!r}"
        refused[int(match[1]) - 7] = match[3]  # routes start on line 7
    assert (result.returncode == 0) == (not refused), result.stderr
    return refused


def check(seed, count):
    r = random.Random(seed)
    patterns = []
    while len(patterns) < count:
        pattern = generate(r)
        if pattern not in patterns:
            patterns.append(pattern)
    work = tempfile.mkdtemp(prefix="chancery-regex-")
    refused = chancery_verdicts(patterns, work)
    stats = {"patterns": len(patterns), "accepted": 0, "refused_size": 0, "refused_repeats": 0, "refused_other": 0,
             "re2_refuses": 0, "false_size_refusals": 0, "largest_accepted": (0, "")}
    problems = []
    for index, pattern in enumerate(patterns):
        size, error = re2_verdict(pattern)
        message = refused.get(index)
        if error:
            stats["re2_refuses"] += 1
            if message is None:
                problems.append(f"RE2 refuses {pattern!r} ({error}) but Chancery accepts it")
        if message is None:
            stats["accepted"] += 1
            if size is not None and size > LIMIT:
                problems.append(f"Chancery accepts {pattern!r}, which RE2 compiles to {size} > {LIMIT}")
            if size is not None and size > stats["largest_accepted"][0]:
                stats["largest_accepted"] = (size, pattern)
        elif "too large for Envoy" in message:
            stats["refused_size"] += 1
            if size is not None and size <= LIMIT:
                stats["false_size_refusals"] += 1
        elif "multiply to" in message:
            stats["refused_repeats"] += 1
            if error is None:
                problems.append(f"Chancery refuses nested counts in {pattern!r}, which RE2 compiles ({size})")
        else:
            stats["refused_other"] += 1
    return stats, problems


def test_accepted_patterns_fit_envoy_and_refused_ones_are_refused_by_re2():
    stats, problems = check(seed=1, count=400)
    assert not problems, "\n".join(problems[:10])
    # The sample reaches every verdict, so each assertion above was exercised.
    assert stats["accepted"] > 100 and stats["refused_size"] > 5 and stats["refused_repeats"] > 5, stats
    assert stats["re2_refuses"] > 5, stats


def test_envoy_accepts_a_route_with_the_largest_accepted_pattern():
    """The error level in the bootstrap is what makes Envoy take a pattern of thousands of instructions (its
    default, 100, refuses `^/u/[a-z0-9_-]{1,32}$`)."""
    stats, _ = check(seed=2, count=200)
    size, pattern = stats["largest_accepted"]
    assert size > 1000, stats  # well over Envoy's default of 100
    work = tempfile.mkdtemp(prefix="chancery-regex-envoy-")
    port, backend_port = free_port(), free_port()
    routes = os.path.join(work, "routes.yaml")
    with open(routes, "w") as f:
        f.write(textwrap.dedent(f"""
            listeners:
              - name: web
                address: 127.0.0.1
                port: {port}
                hosts:
                  - domains: ["*"]
                    routes:
                      - {{ regex: {json.dumps(pattern)}, cluster: app }}
                      - {{ regex: "^/u/[a-z0-9_-]{{1,32}}/?$", cluster: app }}
            clusters:
              - {{ name: app, endpoints: [127.0.0.1:{backend_port}] }}
        """))
    os.makedirs(os.path.join(work, "certs"))
    backend = Backend("app", backend_port)
    chancery = Chancery(routes, os.path.join(work, "certs"))
    envoy = None
    try:
        envoy = Envoy(chancery, node="regex-1")

        def route_acked():
            proxies = [c for c in get_json(chancery.admin("/clients")) if c["node_id"] == "regex-1"]
            state = proxies[0]["types"].get("route", {}) if proxies else {}
            assert "last_nack" not in state, state
            return state.get("acked_version") and state["acked_version"] == state.get("sent_version")
        wait_until(route_acked, timeout=30, what="Envoy to ACK the route configuration")
        status = wait_until(lambda: http_status(port, "/u/someone"), timeout=15, what="a routed request")
        assert status == 200
    finally:
        if envoy:
            envoy.stop()
        chancery.stop()
        backend.stop()


def http_status(port, path):
    import http.client
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request("GET", path)
    status = connection.getresponse().status
    connection.close()
    return status


if __name__ == "__main__":
    import argparse
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=100)
    args = parser.parse_args()
    total = {}
    failures = []
    for batch in range(0, args.count, 500):
        stats, problems = check(args.seed + batch, min(500, args.count - batch))
        failures += problems
        for key, value in stats.items():
            if key == "largest_accepted":
                total[key] = max(total.get(key, (0, "")), value)
            else:
                total[key] = total.get(key, 0) + value
    print(json.dumps(total, ensure_ascii=False))
    print("\n".join(failures[:20]) or "no disagreement")
    sys.exit(1 if failures else 0)
