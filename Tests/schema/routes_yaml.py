"""Reads a routes file the way Chancery does, for checking docs/routes.schema.json against the decoder.

Chancery (Yams, then its own YAMLReader) never uses YAML's implicit types: it takes each scalar's text and style and
decides per key (a port is plain decimal digits, a switch is plain true/false/yes/no/on/off in any case, text is any
non-null scalar). Editors (yaml-language-server) load YAML 1.2 core, where `on` and `yes` stay text and `0443` is
443, not PyYAML's YAML 1.1, which turns `on:` (the retries key) into True and `1:30` into 90. So `load_routes`
resolves plain scalars by the YAML 1.2 core rules, keeps quoted and block scalars as text, keeps mapping keys as their
text, ignores explicit tags (as Chancery does) and does not merge `<<` keys (Chancery refuses them as unknown keys).
The schema is written for that reading: text keys also take numbers and booleans, switches also take the strings
yes/no/on/off.
"""
import json
import math
import os
import re

import jsonschema
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
SCHEMA_PATH = os.path.join(ROOT, "docs", "routes.schema.json")

_NULL = {"", "~", "null", "Null", "NULL"}
_INT = re.compile(r"[-+]?[0-9]+")
_OCT = re.compile(r"0o[0-7]+")
_HEX = re.compile(r"0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_INF = re.compile(r"[-+]?\.(inf|Inf|INF)")
_NAN = re.compile(r"\.(nan|NaN|NAN)")
NON_SCALAR_KEY = "<a non-scalar key>"  # not a valid key anywhere, like Chancery's "unknown key" for it


def resolve_plain(text):
    """A plain scalar by the YAML 1.2 core schema."""
    if text in _NULL:
        return None
    if text in ("true", "True", "TRUE"):
        return True
    if text in ("false", "False", "FALSE"):
        return False
    if _INT.fullmatch(text):
        return int(text, 10)
    if _OCT.fullmatch(text):
        return int(text[2:], 8)
    if _HEX.fullmatch(text):
        return int(text[2:], 16)
    if _FLOAT.fullmatch(text):
        return float(text)
    if _INF.fullmatch(text):
        return -math.inf if text.startswith("-") else math.inf
    if _NAN.fullmatch(text):
        return math.nan
    return text


def to_data(node, depth=0):
    """A composed PyYAML node as JSON-like data (see the module docstring)."""
    if depth > 200:
        raise ValueError("nesting too deep")
    if isinstance(node, yaml.ScalarNode):
        return resolve_plain(node.value) if node.style is None else node.value
    if isinstance(node, yaml.SequenceNode):
        return [to_data(item, depth + 1) for item in node.value]
    result = {}
    for key, value in node.value:
        name = key.value if isinstance(key, yaml.ScalarNode) else NON_SCALAR_KEY
        if name not in result:  # a repeated key: Chancery refuses the file (Yams reports it)
            result[name] = to_data(value, depth + 1)
    return result


def compose(text):
    return yaml.compose(text, Loader=yaml.SafeLoader)


def load_routes(text):
    node = compose(text)
    return None if node is None else to_data(node)


# -- the schema and the decoder's key lists ------------------------------------------------------------------------

def load_schema():
    with open(SCHEMA_PATH) as f:
        return json.load(f)


def validator(schema=None):
    return jsonschema.Draft202012Validator(schema or load_schema())


KEY_LIST = re.compile(r"static let (\w*[Kk]eys)\s*=\s*\[(.*?)\]", re.S)


def decoder_key_lists():
    """Every `static let …Keys = [...]` of Sources/Config: list name → keys."""
    lists = {}
    directory = os.path.join(ROOT, "Sources", "Config")
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".swift"):
            continue
        with open(os.path.join(directory, name)) as f:
            for match in KEY_LIST.finditer(f.read()):
                lists[match.group(1)] = re.findall(r'"([^"]*)"', match.group(2))
    return lists


def fixture_texts():
    """The committed valid routes files: Fixtures/*/routes.yaml and the .deb's default file."""
    texts = {}
    fixtures = os.path.join(ROOT, "Fixtures")
    for name in sorted(os.listdir(fixtures)):
        path = os.path.join(fixtures, name, "routes.yaml")
        if os.path.isfile(path):
            texts[os.path.relpath(path, ROOT)] = open(path).read()
    deploy = os.path.join(ROOT, "deploy", "routes.yaml")
    if os.path.isfile(deploy):
        texts["deploy/routes.yaml"] = open(deploy).read()
    return texts


def edge_case_texts():
    """Tests/schema/routes_accepted/*.yaml: accepted files that lean on the schema's leniency (see its README)."""
    directory = os.path.join(HERE, "routes_accepted")
    return {os.path.relpath(os.path.join(directory, name), ROOT): open(os.path.join(directory, name)).read()
            for name in sorted(os.listdir(directory)) if name.endswith(".yaml")}
