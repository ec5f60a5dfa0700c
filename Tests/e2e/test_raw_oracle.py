"""Oracle check of Chancery's proto3 JSON reader (`--raw DIR`) against Python's official protobuf `json_format`.

Seed resources from the golden files are mutated at random (raw_oracle_cases.py) and each case is read by both:
Chancery (`render --raw --format wire`, many case files per run, errors attributed by file) and
`json_format.ParseDict` with the xds-protos classes. Both accept → the decoded bytes must equal Python's message;
both refuse → fine; Chancery refuses a field or type outside its subset ("in this build") → a subset gap, counted;
Chancery refuses for a reason of its own (not a raw resource type, no name, a secret inline, a duplicate name) →
expected; anything else is a disagreement and fails. Run long with:
    CHANCERY_BIN=... .venv/bin/python Tests/e2e/test_raw_oracle.py --count 5000 --seed 1
"""
import base64
import collections
import json
import os
import random
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from google.protobuf import any_pb2, json_format  # noqa: E402

from harness import FIXTURES, chancery_bin  # noqa: E402
import raw_oracle_cases as cases  # noqa: E402
from raw_oracle_known import KNOWN_DISAGREEMENTS, ORACLE_QUIRKS  # noqa: E402

BATCH = 50
ERROR_LINE = re.compile(r"^(\S*/case(\d+)\.json):(\d+):(\d+): (.*)$")
SUBSET = ("in this build", "not known to this build")
# Refusals Chancery documents and proto3 JSON lacks: a type a raw file cannot hold (Secret), no name, a secret
# inline, a duplicate name, a reference to a resource the group lacks (after a mutation broke it), a NUL in text
# (which Chancery's encoder, and Envoy, cannot carry), an enum number the enum does not define (Envoy's own checks
# refuse those too; Python keeps proto3's open enums).
EXPECTED = re.compile(r'is not a type a raw resource file can hold|^the [a-z ]+ has no "[a-zA-Z_]+"|'
                      r' sets \S+, which holds a secret|is also defined in|is defined twice|refers to [a-z ]+ ".*", which group|'
                      r' contains a NUL character$|^-?\d+ is not a value of ')


class Case:
    def __init__(self, index, kind, resource, mutations, fixture="example-site", group="default"):
        self.index, self.kind, self.resource, self.mutations = index, kind, resource, mutations
        self.fixture, self.group = fixture, group
        # ("accept", base64 of the Any or None, name) | ("refuse", [messages]) | ("unattributed" or "crash", text)
        self.chancery = None
        self.python = None  # ("accept", message) | ("refuse", text)

    def chancery_key(self):
        """The field a refusal names (`"rawValue" is not base64` → rawValue)."""
        match = re.match(r'"([^"]+)"', self.chancery_message())
        return match.group(1) if match else None

    def chancery_message(self):
        if self.chancery[0] == "unattributed":
            return self.chancery[1]
        return " | ".join(self.chancery[1]) if self.chancery[0] == "refuse" else ""

    def describe(self):
        python = self.python[1] if self.python[0] == "refuse" else "accepted"
        chancery = self.chancery[1] if self.chancery[0] != "accept" else "accepted"
        written = "\\u escapes" if self.index % 2 == 0 else "raw UTF-8"
        return (f"case {self.index} ({self.fixture}/{self.group} {self.kind}; written with {written}; "
                f"{', '.join(self.mutations) or 'unmutated'}):\n"
                f"  {json.dumps({'resources': [self.resource]})[:1500]}\n  chancery: {chancery}\n  python: {python}")


def python_read(case):
    type_name = str(case.resource.get("@type", "")).split("/")[-1]
    if cases.find_descriptor(type_name) is None:
        case.python = ("refuse", f"type {type_name!r} unknown to the Python pool")
        return
    body = {k: v for k, v in case.resource.items() if k != "@type"}
    try:
        case.python = ("accept", json_format.ParseDict(body, cases.message_class(type_name)()))
    except Exception as error:  # ParseError mostly; any exception is a refusal by the oracle
        case.python = ("refuse", f"{type(error).__name__}: {error}")


def render(raw_dir, fixture="example-site"):
    site = os.path.join(FIXTURES, fixture)
    command = [chancery_bin(), "render", "--config", os.path.join(site, "routes.yaml"), "--certs",
               os.path.join(site, "certs"), "--raw", raw_dir, "--format", "wire"]
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired as error:
        return subprocess.CompletedProcess(command, -999, "", f"timed out: {error}")


def chancery_read(batch, workdir):
    """Runs chancery on `batch` (one file per case) until what is left is accepted; sets each case's outcome."""
    raw_dir = tempfile.mkdtemp(dir=workdir)
    files = {}
    for case in batch:
        files[case.index] = os.path.join(raw_dir, f"case{case.index:07d}.json")
        with open(files[case.index], "w", encoding="utf-8", errors="surrogatepass") as f:
            # Every other case is written in raw UTF-8 rather than \u escapes.
            json.dump({"groups": [case.group], "resources": [case.resource]}, f, ensure_ascii=case.index % 2 == 0)
    left = {case.index: case for case in batch}
    while left:
        proc = render(raw_dir, batch[0].fixture)
        if proc.returncode == 0:
            wire = {(e["group"], e["type"], e["name"]): e["any"] for e in json.loads(proc.stdout)}
            for case in left.values():
                name = python_name(case)
                case.chancery = ("accept", wire.get((case.group, case.kind, name)), name)
            return
        errors = collections.defaultdict(list)
        for line in proc.stderr.splitlines():
            match = ERROR_LINE.match(line)
            if match and int(match.group(2)) in left:
                errors[int(match.group(2))].append(match.group(5))
        if proc.returncode != 1 or not errors:
            # Exit 1 with no line naming a case file: an error chancery cannot place (still a failure).
            outcome = "unattributed" if proc.returncode == 1 else "crash"
            for case in left.values():
                case.chancery = (outcome, f"exit {proc.returncode}: {proc.stderr[-2000:]}")
            return
        for index, messages in errors.items():
            left.pop(index).chancery = ("refuse", messages)
            os.unlink(files[index])


def python_name(case):
    if case.python[0] != "accept":
        return None
    field = cases.RESOURCES[case.kind][1]
    return getattr(case.python[1], cases.snake(field), None)


def run_cases(batch_cases, workdir):
    for case in batch_cases:
        python_read(case)
    by_fixture = collections.defaultdict(list)
    for case in batch_cases:
        by_fixture[case.fixture].append(case)
    for fixture_cases in by_fixture.values():
        for start in range(0, len(fixture_cases), BATCH):
            chancery_read(fixture_cases[start:start + BATCH], workdir)
    # A duplicate name may come from two mutations that met; such a case is read again on its own.
    for case in batch_cases:
        if case.chancery[0] in ("crash", "unattributed") and len(batch_cases) > 1 or (
                case.chancery[0] == "refuse" and any("is also defined in" in m for m in case.chancery[1])):
            chancery_read([case], workdir)


def classify(case):
    """One of: equal, equal-value, both-refuse, subset-gap, expected, oracle-quirk:NAME, known:NAME,
    disagree:WHAT, crash. A crash or timeout of chancery is never anything but a failure."""
    chancery, python = case.chancery, case.python
    if chancery[0] == "crash":
        return "crash"
    if chancery[0] == "accept" and python[0] == "accept":
        return compare(case)
    if chancery[0] == "refuse" and python[0] == "refuse":
        return "both-refuse"
    for name, matches in ORACLE_QUIRKS:
        if python[0] == "accept" and chancery[0] == "refuse" and matches(case):
            return f"oracle-quirk:{name}"
    for name, matches in KNOWN_DISAGREEMENTS:
        if matches(case):
            return f"known:{name}"
    if chancery[0] == "refuse":
        message = " | ".join(chancery[1])
        if any(mark in message for mark in SUBSET):
            return "subset-gap"
        if EXPECTED.search(message):
            return "expected"
        return "disagree:chancery-refuses"
    return "disagree:chancery-accepts" if chancery[0] == "accept" else "disagree:unattributed-error"


def compare(case):
    encoded = case.chancery[1]
    if encoded is None:
        return "disagree:accepted-but-not-rendered"
    packed = any_pb2.Any()
    packed.ParseFromString(base64.b64decode(encoded))
    expected = case.python[1]
    if packed.type_url != cases.URL + expected.DESCRIPTOR.full_name:
        return "disagree:type-url"
    decoded = type(expected)()
    decoded.ParseFromString(packed.value)
    if packed.value == canonical(expected).SerializeToString(deterministic=True):
        return "equal"
    # Equal in meaning but not in bytes: fields or map entries in another order, say.
    if decoded == expected or json_format.MessageToDict(decoded) == json_format.MessageToDict(expected):
        return "equal-value"
    # Known: an Any's type URL with another prefix than type.googleapis.com/ comes out as type.googleapis.com/.
    rewritten = type(expected)()
    rewritten.CopyFrom(expected)
    if canonical(rewritten, rewrite_prefix=True).SerializeToString(deterministic=True) == packed.value:
        return "known:type-url-prefix-rewritten"
    case.chancery = ("accept-different", json.dumps(json_format.MessageToDict(decoded))[:1500])
    case.python = ("refuse", "accepted as " + json.dumps(json_format.MessageToDict(expected))[:1500])
    return "disagree:different-value"


def canonical(message, rewrite_prefix=False):
    """`message` with every nested Any re-packed deterministically (ParseDict packs without sorting maps), so its
    deterministic bytes are the one encoding Chancery's encoder should produce."""
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if field.message_type.GetOptions().map_entry:
            items = value.values() if field.message_type.fields_by_name["value"].message_type else []
        else:
            items = value if field.is_repeated else [value]
        for item in items:
            canonical(item, rewrite_prefix)
    if message.DESCRIPTOR.full_name == "google.protobuf.Any" and message.type_url:
        if rewrite_prefix:
            message.type_url = cases.URL + message.type_url.split("/")[-1]
        inner_type = cases.find_descriptor(message.type_url.split("/")[-1])
        if inner_type is not None:
            inner = cases.message_class(inner_type.full_name)()
            inner.ParseFromString(message.value)
            message.value = canonical(inner, rewrite_prefix).SerializeToString(deterministic=True)
    return message


def generate(count, seed):
    cases.import_all_types()
    seeds = cases.load_seeds()
    rng = random.Random(seed)
    return [Case(i, *cases.make_case(rng.choice(seeds), i, rng)) for i in range(count)]


def run(count, seed):
    """Returns (Counter of classes, {class: [cases]})."""
    generated = generate(count, seed)
    with tempfile.TemporaryDirectory() as workdir:
        run_cases(generated, workdir)
    tally, examples = collections.Counter(), collections.defaultdict(list)
    for case in generated:
        label = classify(case)
        tally[label] += 1
        examples[label].append(case)
    return tally, examples


def failures(examples):
    return {label: found for label, found in examples.items() if label.startswith("disagree") or label == "crash"}


def report(tally, examples, limit=3):
    lines = [f"{label}: {n}" for label, n in sorted(tally.items())]
    for label, found in sorted(failures(examples).items()):
        smallest = sorted(found, key=lambda c: len(json.dumps(c.resource)))[:limit]
        lines += [f"--- {label}"] + [case.describe() for case in smallest]
    return "\n".join(lines)


def raw_run(tmp_path, resources):
    """chancery render on one raw file per resource: (exit code, stderr with the directory cut, wire entries)."""
    raw_dir = tmp_path / "raw"
    raw_dir.mkdir()
    for index, resource in enumerate(resources):
        (raw_dir / f"{index}.json").write_text(json.dumps({"resources": [resource]}))
    proc = render(str(raw_dir))
    wire = json.loads(proc.stdout) if proc.returncode == 0 else []
    return proc.returncode, proc.stderr.replace(str(raw_dir) + "/", ""), wire


def test_odd_but_valid_forms_encode_as_the_official_parser_does(tmp_path):
    cases.import_all_types()
    odd = {"@type": cases.URL + "envoy.config.cluster.v3.Cluster", "name": "hp-odd", "connect_timeout": "1.500s",
           "lbPolicy": 2, "perConnectionBufferLimitBytes": "1e3", "type": "STATIC",
           "loadAssignment": {"cluster_name": "hp-odd", "endpoints": [{"lbEndpoints": [{"endpoint": {"address": {
               "socketAddress": {"address": "127.0.0.1", "portValue": 8080.0}}}}]}]}}
    status, errors, wire = raw_run(tmp_path, [odd])
    assert status == 0, errors
    [entry] = [entry for entry in wire if entry["name"] == "hp-odd"]
    packed = any_pb2.Any()
    packed.ParseFromString(base64.b64decode(entry["any"]))
    decoded = cases.message_class("envoy.config.cluster.v3.Cluster")()
    decoded.ParseFromString(packed.value)
    assert json_format.MessageToDict(decoded) == {
        "name": "hp-odd", "connectTimeout": "1.500s", "lbPolicy": "RING_HASH", "type": "STATIC",
        "perConnectionBufferLimitBytes": 1000,
        "loadAssignment": {"clusterName": "hp-odd", "endpoints": [{"lbEndpoints": [{"endpoint": {"address": {
            "socketAddress": {"address": "127.0.0.1", "portValue": 8080}}}}]}]}}
    official = json_format.ParseDict({k: v for k, v in odd.items() if k != "@type"}, type(decoded)())
    assert packed.value == official.SerializeToString(deterministic=True)


def test_refusals_name_the_file_place_and_reason(tmp_path):
    secret = {"@type": cases.URL + cases.SECRET, "name": "hp-secret"}
    port = {"@type": cases.URL + "envoy.config.endpoint.v3.ClusterLoadAssignment", "clusterName": "hp-port",
            "endpoints": [{"lbEndpoints": [{"endpoint": {"address": {"socketAddress": {
                "address": "127.0.0.1", "portValue": 4294967296}}}}]}]}
    field = {"@type": cases.URL + "envoy.config.cluster.v3.Cluster", "name": "hp-field", "conectTimeout": "1s"}
    key = {"@type": cases.URL + "envoy.config.cluster.v3.Cluster", "name": "hp-key", "transportSocket": {
        "name": "envoy.transport_sockets.tls", "typedConfig": {
            "@type": cases.URL + "envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
            "commonTlsContext": {"tlsCertificates": [{"privateKey": {"inlineString": "KEYBYTES"}}]}}}}
    status, errors, _ = raw_run(tmp_path, [secret, port, field, key])
    assert status == 1
    assert errors.splitlines() == [
        '0.json:1:26: "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret" is not a type a raw '
        "resource file can hold (certificates come from the certificate directory (--certs); a listener refers to "
        "one by name through SDS)",
        '1.json:1:234: "portValue" 4294967296 is out of range for uint32',
        '2.json:1:101: envoy.config.cluster.v3.Cluster has no field "conectTimeout" in this build '
        '(did you mean "connectTimeout"?)',
        '3.json:1:16: cluster "hp-key" sets envoy.extensions.transport_sockets.tls.v3.TlsCertificate.private_key, '
        "which holds a secret (keep secrets out of configuration files: put certificates in the certificate directory and refer to "
        "them through SDS by name)",
    ]
    assert "KEYBYTES" not in errors


def test_integers_beyond_64_bits_are_refused(tmp_path):
    """Out-of-range 64-bit integers are refused with their place, whatever their form. At a799793 the uint64 ones
    crash chancery (a Double of 2^64 converted to UInt64 traps) and the int64 one becomes -2^63."""
    udp = {"@type": cases.URL + "envoy.config.listener.v3.Listener", "name": "hp-udp",
           "address": {"socketAddress": {"address": "0.0.0.0", "portValue": 5353, "protocol": "UDP"}},
           "udpListenerConfig": {"downstreamSocketConfig": {"maxRxDatagramSize": "18446744073709551616"}}}
    udp_float = json.loads(json.dumps(udp).replace('"18446744073709551616"', "1.8446744073709552e19"))
    below = {"@type": cases.URL + "envoy.config.cluster.v3.Cluster", "name": "hp-below", "connectTimeout": "1s",
             "healthChecks": [{"timeout": "1s", "interval": "1s", "httpHealthCheck": {
                 "path": "/", "expectedStatuses": [{"start": "-9223372036854775809", "end": 300}]}}]}
    status, errors, _ = raw_run(tmp_path, [udp, udp_float, below])
    assert status == 1, errors[:1000]
    lines = errors.splitlines()
    assert len(lines) == 3, errors[:1000]
    assert lines[0].startswith("0.json:1:") and lines[0].endswith(
        '"maxRxDatagramSize" 18446744073709551616 is out of range for uint64'), errors[:1000]
    assert lines[1].startswith("1.json:1:") and "is out of range for uint64" in lines[1], errors[:1000]
    assert lines[2].startswith("2.json:1:") and lines[2].endswith(
        '"start" -9223372036854775809 is out of range for int64'), errors[:1000]


def test_random_cases_agree_with_the_official_parser():
    tally, examples = run(300, seed=20261201)
    print(report(tally, examples))
    assert tally["equal"] + tally["equal-value"] > 30, tally  # the cases exercise acceptance, not only errors
    assert tally["both-refuse"] > 30, tally
    assert not failures(examples), report(tally, examples)


if __name__ == "__main__":
    import argparse
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--examples", type=int, default=3)
    args = parser.parse_args()
    result_tally, result_examples = run(args.count, args.seed)
    print(report(result_tally, result_examples, args.examples))
    sys.exit(1 if failures(result_examples) else 0)
