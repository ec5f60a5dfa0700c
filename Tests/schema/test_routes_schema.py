"""docs/routes.schema.json against the decoder: valid against its metaschema, accepts every valid fixture and
generated file, never refuses a file `chancery validate` accepts (mutants of valid files), refuses unknown keys and
missing required keys like chancery does, and names exactly the keys of the decoder's `static let …Keys` lists.

How YAML is read here (YAML 1.2 core, as editors do; scalars as Chancery reads them): see routes_yaml.py.
Long mode: `python Tests/schema/routes_schema_check.py --count 3000`.
"""
import os
import re
import tempfile

import jsonschema
import pytest

from routes_schema_check import chancery_bin, generate, run_campaign, run_chancery
from routes_yaml import ROOT, decoder_key_lists, edge_case_texts, fixture_texts, load_routes, load_schema, validator

GENERATED_SEEDS = 300
MUTANTS = 60

# Where each decoder key list lives in the schema (JSON pointers to an object schema); `subset` lists are subsets of
# another section's keys (they name which of a mapping's keys go together, not a mapping of their own).
SECTIONS = {
    "topKeys": "",
    "groupKeys": "/$defs/group/anyOf/1",
    "clusterKeys": "/$defs/cluster",
    "listenerKeys": "/$defs/listener",
    "tlsKeys": "/$defs/tls",
    "tcpKeys": "/$defs/tcp",
    "passthroughKeys": "/$defs/passthrough",
    "rateLimitKeys": "/$defs/rateLimit",
    "compressionKeys": "/$defs/compression/anyOf/1",
    "corsKeys": "/$defs/cors",
    "udpKeys": "/$defs/udp",
    "basicAuthKeys": "/$defs/basicAuth",
    "grpcJSONKeys": "/$defs/grpcJson",
    "hstsKeys": "/$defs/hsts/anyOf/1",
    "accessLogKeys": "/$defs/accessLog/anyOf/1",
    "hostKeys": "/$defs/host",
    "routeKeys": "/$defs/route",
    "redirectKeys": "/$defs/redirect",
    "respondKeys": "/$defs/respond",
    "headerMatchKeys": "/$defs/headerMatch",
    "queryMatchKeys": "/$defs/queryMatch",
    "headerEditKeys": "/$defs/headerEdits",
    "weightedClusterKeys": "/$defs/weightedCluster",
    "retryKeys": "/$defs/retries",
    "endpointKeys": "/$defs/endpoint/anyOf/1",
    "healthCheckKeys": "/$defs/healthCheck",
    "outlierKeys": "/$defs/outlierDetection/anyOf/1",
    "circuitBreakerKeys": "/$defs/circuitBreakers",
    "upstreamTLSKeys": "/$defs/upstreamTls",
    "grpcServiceKeys": "/$defs/grpcService",
}
SUBSETS = {"forwardOnlyKeys": "routeKeys", "matchKeys": "routeKeys"}


@pytest.fixture(scope="module")
def schema():
    return load_schema()


@pytest.fixture(scope="module")
def check(schema):
    return validator(schema)


def pointer(schema, path):
    node = schema
    for part in filter(None, path.split("/")):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def property_names(node):
    """Every name under a `properties` anywhere in the schema (conditions included)."""
    names = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "properties":
                names |= set(value)
            names |= property_names(value)
    elif isinstance(node, list):
        for item in node:
            names |= property_names(item)
    return names


def messages(check, data):
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in check.iter_errors(data)]


def test_schema_is_valid_against_its_metaschema(schema):
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_every_mapping_refuses_unknown_keys(schema):
    """`additionalProperties: false` on every object schema with properties, as the decoder refuses unknown keys."""
    open_objects = []

    def visit(node, where):
        if isinstance(node, dict):
            if "properties" in node and node.get("type") == "object" and node.get("additionalProperties") is not False:
                open_objects.append(where)
            for key, value in node.items():
                visit(value, f"{where}/{key}")
        elif isinstance(node, list):
            for index, item in enumerate(node):
                visit(item, f"{where}/{index}")

    visit(schema, "")
    assert open_objects == []


def test_every_key_has_a_description(schema):
    """Editors show it on hover: on the key itself or on the shape it refers to."""
    def described(node):
        for _ in range(5):
            if "description" in node or "$ref" not in node:
                break
            node = pointer(schema, node["$ref"][1:])
        return "description" in node

    undescribed = []

    def visit(node, where):
        if isinstance(node, dict):
            if node.get("additionalProperties") is False:
                properties = node["properties"].items()
                undescribed.extend(f"{where}/{key}" for key, value in properties if not described(value))
            for key, value in node.items():
                visit(value, f"{where}/{key}")
        elif isinstance(node, list):
            for index, item in enumerate(node):
                visit(item, f"{where}/{index}")

    visit(schema, "")
    assert undescribed == []


@pytest.mark.parametrize("name", sorted(fixture_texts()))
def test_valid_fixture_matches_schema(check, name):
    text = fixture_texts()[name]
    assert messages(check, load_routes(text)) == []


@pytest.mark.parametrize("name", sorted(edge_case_texts()))
def test_accepted_edge_case_matches_schema(check, name):
    """Chancery accepts it (checked here, so the case stays meaningful) and so must the schema."""
    text = edge_case_texts()[name]
    with tempfile.TemporaryDirectory() as directory:
        refused, output = run_chancery(chancery_path(), text, directory)
    assert not refused, output
    assert messages(check, load_routes(text)) == []


def test_yaml_is_read_as_chancery_reads_it(check):
    """YAML 1.2 core, not PyYAML's 1.1: `on:` stays a key, `0443` is 443 (Chancery's decimal), `1:30` stays text."""
    data = load_routes("a: {on: [5xx], port: 0443, t: 1:30, f: yes, q: '8080', n: ~}\n")
    assert data == {"a": {"on": ["5xx"], "port": 443, "t": "1:30", "f": "yes", "q": "8080", "n": None}}
    text = ("listeners:\n  - {name: 7, port: 0080, accept_proxy_protocol: On, hosts: [{domains: [1234, true],"
            " routes: [{prefix: /, cluster: 1.5, retries: {on: [5xx]}, websockets: NO}]}]}\n"
            "clusters: [{name: 1.5, endpoints: ['127.0.0.1:80'], http2: Yes}]\n")
    assert messages(check, load_routes(text)) == []
    with tempfile.TemporaryDirectory() as directory:
        refused, output = run_chancery(chancery_path(), text, directory)
    assert not refused, output


def chancery_path():
    return chancery_bin()


def test_generated_files_match_schema(check):
    checked = 0
    for seed in range(GENERATED_SEEDS):
        case = generate(seed)
        if case.expect_refusal:
            continue
        assert messages(check, load_routes(case.text)) == [], f"generated seed {seed}"
        checked += 1
    assert checked > GENERATED_SEEDS // 2


def test_mutants_agree_with_chancery():
    """Every schema refusal is a chancery refusal; unknown keys and missing required keys are refused by both."""
    printed = []
    stats, disagreements = run_campaign(0, MUTANTS, chancery_path(), report=printed.append)
    assert disagreements == [], "\n".join(printed) + "\nreproduce: python Tests/schema/routes_schema_check.py --seed S"
    judged = sum(counter["mutants"] for counter in stats.values())
    assert judged >= MUTANTS * 0.9
    # The campaign must exercise what it asserts: unknown keys, drops of required keys, and schema refusals.
    assert stats["unknown_key"]["schema rejects"] > 0
    assert stats["drop_key"]["drops of a required key"] > 0
    assert sum(counter["schema rejects"] for counter in stats.values()) > judged / 2


def test_unknown_key_and_missing_key_are_refused_by_both(check):
    """The two classes where agreement must be total, on a hand-made file (the campaign covers them at random)."""
    with tempfile.TemporaryDirectory() as directory:
        base = fixture_texts()["Fixtures/example-site/routes.yaml"]
        for text in [base.replace("    port: 10080\n", "    port: 10080\n    prot: 81\n", 1),
                     base.replace("    port: 10080\n", "\n", 1)]:
            assert text != base
            refused, _ = run_chancery(chancery_path(), text, directory)
            assert refused and messages(check, load_routes(text)) != []


def test_schema_keys_are_the_decoder_keys(schema):
    lists = decoder_key_lists()
    assert "routeKeys" in lists and "listenerKeys" in lists, "the key lists of Sources/Config were not found"
    everywhere = set().union(*lists.values())
    in_schema = property_names(schema)
    assert sorted(everywhere - in_schema) == [], "decoder keys missing from docs/routes.schema.json"
    assert sorted(in_schema - everywhere) == [], "schema properties that no decoder key list has"

    unmapped = sorted(set(lists) - set(SECTIONS) - set(SUBSETS))
    assert unmapped == [], "new decoder key lists: map each to its place in the schema in SECTIONS"
    for name, where in SECTIONS.items():
        section = pointer(schema, where)
        assert section.get("additionalProperties") is False, name
        assert sorted(section["properties"]) == sorted(lists[name]), f"{name} vs schema {where or '/'}"
    for name, parent in SUBSETS.items():
        assert set(lists[name]) <= set(lists[parent]), name


ENUM = re.compile(r"enum (\w+): String[^{]*\{(.*?)\n\}", re.S)


def swift_string_enums():
    """Raw values of the `enum X: String` types of Sources/Config (`case a = "b", c` → b, c)."""
    enums = {}
    directory = os.path.join(ROOT, "Sources", "Config")
    for name in os.listdir(directory):
        if name.endswith(".swift"):
            for match in ENUM.finditer(open(os.path.join(directory, name)).read()):
                values = []
                for line in match.group(2).splitlines():
                    line = line.strip()
                    if line.startswith("case "):
                        for part in line[5:].split(","):
                            raw = re.search(r'"([^"]*)"', part)
                            values.append(raw.group(1) if raw else part.strip())
                enums[match.group(1)] = values
    return enums


def test_schema_enums_are_the_decoder_values(schema):
    enums = swift_string_enums()
    source = "".join(open(os.path.join(ROOT, "Sources", "Config", f)).read()
                     for f in os.listdir(os.path.join(ROOT, "Sources", "Config")) if f.endswith(".swift"))
    retry = re.search(r"static let retryConditions = \[(.*?)\]", source, re.S)
    statuses = re.search(r"static let redirectStatuses = \[(.*?)\]", source, re.S)
    defs = schema["$defs"]
    assert sorted(defs["retries"]["properties"]["on"]["items"]["enum"]) == sorted(re.findall(r'"([^"]*)"',
                                                                                             retry.group(1)))
    assert defs["redirect"]["properties"]["status"]["enum"] == [int(s) for s in re.findall(r"\d+", statuses.group(1))]
    assert sorted(defs["cluster"]["properties"]["lb_policy"]["enum"]) == sorted(enums["LBPolicy"])
    assert sorted(defs["tls"]["properties"]["client_certificates"]["enum"]) == sorted(enums["ClientCertificates"])
    assert sorted(defs["host"]["properties"]["client_certificates"]["enum"]) == sorted(enums["ClientCertificates"])
    family = re.compile(defs["cluster"]["properties"]["dns_lookup_family"]["pattern"])
    assert enums["DNSLookupFamily"] and all(family.search(v) and family.search(v.upper())
                                            for v in enums["DNSLookupFamily"])
    assert not family.search("v4_preferred_not")
