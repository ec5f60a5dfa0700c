"""Generated routes files: whatever Envoy refuses, Chancery refuses first with file:line:col.

A few hundred fixed seeds here (CHANCERY_GENERATED_CASES changes the count); the long mode is
`python Tests/generated/check_generated.py --count 10000`.
"""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "generated"))

from check_generated import ROOT, run  # noqa: E402
from routes_gen import generate  # noqa: E402

CASES = int(os.environ.get("CHANCERY_GENERATED_CASES", "300"))


def schema_keys():
    """Every key the routes-file decoder allows, read from its `static let …Keys = [...]` tables."""
    keys = set()
    directory = os.path.join(ROOT, "Sources", "Config")
    for name in os.listdir(directory):
        with open(os.path.join(directory, name)) as f:
            text = f.read()
        for table in re.findall(r"static let \w+Keys = \[(.*?)\]", text, re.S):
            keys.update(re.findall(r'"(\w+)"', table))
    return keys


def test_generator_covers_every_key_of_the_schema():
    keys = schema_keys()
    assert {"dns_lookup_family", "grpc_services", "https_port", "prefix_rewrite"} <= keys
    used = set()
    for seed in range(CASES):
        used.update(re.findall(r"(?m)(?:^|[{,\s-])\s*(\w+):", generate(seed).text))
    assert keys - used == set()


def test_generator_is_deterministic_per_seed():
    assert generate(7).text == generate(7).text
    assert generate(7).text != generate(8).text


def test_generated_files_chancery_accepts_are_accepted_by_envoy():
    outcomes, work = run(range(CASES), workers=4)
    problems = [f"seed {o.seed}: {p}" for o in outcomes for p in o.problems]
    assert problems == [], f"kept in {work}:\n" + "\n".join(problems[:20])
    valid = [o for o in outcomes if o.valid]
    # The run means something only if it exercised both sides: many files through Envoy, some refused.
    assert len(valid) > CASES // 2
    assert len(valid) < CASES
    assert sum(o.groups_checked for o in outcomes) >= len(valid)
