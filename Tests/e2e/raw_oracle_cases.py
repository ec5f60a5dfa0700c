"""Cases for the raw-resource oracle check: seed resources from the golden files, mutated at random.

Mutations are guided by the official descriptors (PyPI xds-protos), so an integer field gets integer edge values, a
Duration gets odd durations, a oneof gets a second member, and so on. Every case is one resource with a unique name.
"""
import copy
import importlib
import json
import os
import pkgutil
import re

from google.protobuf import descriptor, descriptor_pool, symbol_database

from harness import FIXTURES

RESOURCES = {
    "listener": ("envoy.config.listener.v3.Listener", "name"),
    "route": ("envoy.config.route.v3.RouteConfiguration", "name"),
    "cluster": ("envoy.config.cluster.v3.Cluster", "name"),
    "endpoint": ("envoy.config.endpoint.v3.ClusterLoadAssignment", "clusterName"),
}
URL = "type.googleapis.com/"
SECRET = "envoy.extensions.transport_sockets.tls.v3.Secret"
# Real Envoy types that are (most likely) outside Chancery's subset, and one that exists nowhere.
FOREIGN_TYPES = [
    "envoy.extensions.filters.http.lua.v3.Lua",
    "envoy.extensions.filters.network.redis_proxy.v3.RedisProxy",
    "envoy.extensions.filters.http.nope.v3.Nope",
]
EXTRA_MODULES = ["envoy.extensions.filters.http.lua.v3", "envoy.extensions.filters.network.redis_proxy.v3",
                 "envoy.extensions.transport_sockets.tls.v3"]

INT_EDGES = [0, -1, 1, 2147483647, 2147483648, -2147483648, -2147483649, 4294967295, 4294967296,
             9223372036854775807, 9223372036854775808, -9223372036854775808, -9223372036854775809,
             18446744073709551615, 18446744073709551616]
DURATIONS = ["1.5s", "5", "-1s", "1.0000000001s", "0s", "0.000000001s", "315576000000s", "315576000001s", "1.s",
             ".5s", "1m", "-0.5s", "+1s", "1e3s", " 1s", "s", "", "1.5S", "01s", "-315576000000s", "1.123456789s"]
TIMESTAMPS = ["2026-01-02T03:04:05Z", "2026-01-02T03:04:05.5+01:00", "2026-13-02T03:04:05Z", "2026-01-02 03:04:05Z",
              "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999Z", "2026-01-02T03:04:05"]
BASE64 = ["", "YQ", "YQ==", "YQ=", "Y Q==", "@@@@", "YQ==YQ==", "-_-_", "YWJj", "YWJjZA", "a"]
TEXTS = ["", "ü", "日本語", "a\"b\\c", "\u0000", "\U0001F600", "\ud800", "\udc00x", "tab\there", " ", "é" * 300]
FLOATS = [0.5, -0.0, 1e308, 1e309, -1e309, 5e-324, 1e-400, "NaN", "Infinity", "-Infinity", "nan", "1.5", "0x10", 3]
STRUCTS = [{}, {"a": None}, {"a": [1, 2.5, "x", True, None, {"b": {}}]}, {"big": 18446744073709551616},
           {"e": 1e300, "n": -0.0}, {"ü": "日本"}, [], "text", 5]
# Anys holding well-known types, which carry their JSON form under "value".
WELL_KNOWN_ANYS = [
    {"@type": URL + "google.protobuf.Duration", "value": "1.5s"},
    {"@type": URL + "google.protobuf.Struct", "value": {"a": [1, {"b": None}]}},
    {"@type": URL + "google.protobuf.UInt32Value", "value": "7"},
    {"@type": URL + "google.protobuf.Value", "value": None},
    {"@type": URL + "google.protobuf.StringValue", "value": "ü"},
    {"@type": URL + "google.protobuf.Any", "value": {"@type": URL + "google.protobuf.BoolValue", "value": True}},
    {"@type": URL + "google.protobuf.Duration", "value": "1s", "extra": 1},
    {"@type": URL + "google.protobuf.Duration"},
    {"@type": URL + "google.protobuf.Empty"},
]
JUNK = [None, 0, 1, -3, 2.5, 1e3, True, False, "", "x", "12", "1e3", "NaN", "Infinity", [], [1], {}, {"a": 1}]


def import_all_types():
    """Imports every module of every package whose types the golden files hold, and a few more."""
    names = set()
    for root, _, files in os.walk(FIXTURES):
        for name in files:
            if name.endswith(".json") and os.sep + "expected" + os.sep in root + os.sep:
                with open(os.path.join(root, name)) as f:
                    names.update(re.findall(r'"@type": "type.googleapis.com/([^"]+)"', f.read()))
    packages = {name.rsplit(".", 1)[0] for name in names} | {t.rsplit(".", 1)[0] for t, _ in RESOURCES.values()}
    for package_name in sorted(packages) + EXTRA_MODULES:
        try:
            package = importlib.import_module(package_name)
        except ImportError:
            continue
        for module in pkgutil.iter_modules(package.__path__):
            if module.name.endswith("_pb2"):
                importlib.import_module(f"{package.__name__}.{module.name}")


def message_class(type_name):
    return symbol_database.Default().GetSymbol(type_name)


def find_descriptor(type_name):
    try:
        return descriptor_pool.Default().FindMessageTypeByName(type_name)
    except KeyError:
        return None


def load_seeds():
    """(kind, resource dict with "@type", fixture, group) for every resource in every golden file, without redacted
    ones. A case is read against its seed's fixture and group, so what the resource refers to exists."""
    seeds, seen = [], set()
    for case in sorted(os.listdir(FIXTURES)):
        expected = os.path.join(FIXTURES, case, "expected")
        if not os.path.isdir(expected):
            continue
        for group in sorted(os.listdir(expected)):
            for kind in RESOURCES:
                path = os.path.join(expected, group, f"{kind}.json")
                if not os.path.exists(path):
                    continue
                with open(path) as f:
                    text = f.read()
                for resource in json.loads(text):
                    encoded = json.dumps(resource, sort_keys=True)
                    if "[redacted]" in encoded or encoded in seen:
                        continue
                    seen.add(encoded)
                    seeds.append((kind, {"@type": URL + RESOURCES[kind][0], **resource}, case, group))
    return seeds


def camel(name):
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def snake(name):
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name)


class Spot:
    """A place in the resource: container[key], with the field there (None in a Struct or for an Any's @type)."""

    def __init__(self, container, key, field, message):
        self.container, self.key, self.field, self.message = container, key, field, message


def spots(value, message_desc, out):
    """Every place inside `value` (the JSON form of a `message_desc`), with its field descriptor."""
    if not isinstance(value, dict) or message_desc is None:
        return out
    if message_desc.full_name == "google.protobuf.Any":
        inner = find_descriptor(str(value.get("@type", "")).split("/")[-1])
        if "@type" in value:
            out.append(Spot(value, "@type", None, message_desc))
        if inner is not None and inner.full_name.startswith("google.protobuf."):
            return out
        return spots(value, inner, out)
    if message_desc.full_name.startswith("google.protobuf."):
        return out
    out.append(Spot(value, None, None, message_desc))  # a place to add a field
    for key in list(value):
        if key == "@type":
            continue
        field = message_desc.fields_by_camelcase_name.get(key) or message_desc.fields_by_name.get(key)
        out.append(Spot(value, key, field, message_desc))
        if field is None or field.message_type is None:
            continue
        item = value[key]
        if field.message_type.GetOptions().map_entry:
            value_field = field.message_type.fields_by_name["value"]
            if isinstance(item, dict) and value_field.message_type is not None:
                for sub in item.values():
                    spots(sub, value_field.message_type, out)
        elif isinstance(item, list):
            for sub in item:
                spots(sub, field.message_type, out)
        else:
            spots(item, field.message_type, out)
    return out


def plausible(field, rng):
    """A value a field of this type could take."""
    if field.message_type is not None:
        name = field.message_type.full_name
        if field.message_type.GetOptions().map_entry:
            return {"k": "v"} if field.message_type.fields_by_name["value"].type == field.TYPE_STRING else {}
        single = {"google.protobuf.Duration": "3s", "google.protobuf.UInt32Value": 7, "google.protobuf.BoolValue": True,
                  "google.protobuf.Struct": {"a": [1, "b"]}, "google.protobuf.Any": {"@type": URL + FOREIGN_TYPES[0]},
                  }.get(name, {})
    elif field.enum_type is not None:
        single = rng.choice(field.enum_type.values).name
    elif field.type == field.TYPE_BOOL:
        single = True
    elif field.type == field.TYPE_STRING:
        single = "oracle"
    elif field.type == field.TYPE_BYTES:
        single = "YWJj"
    elif field.cpp_type in (field.CPPTYPE_FLOAT, field.CPPTYPE_DOUBLE):
        single = 0.5
    else:
        single = 3
    repeated = field.is_repeated
    is_map = field.message_type is not None and field.message_type.GetOptions().map_entry
    return [single] if repeated and not is_map else single


def typo(key, rng):
    if not key:
        return "x"
    i = rng.randrange(len(key))
    return rng.choice([key[:i] + key[i + 1:], key[:i] + "x" + key[i:], key + "s"]) or "x"


def mutate_spot(spot, rng):
    """One mutation at `spot`; returns a short description."""
    c, key, field = spot.container, spot.key, spot.field
    if key is None:
        return add_field(c, spot.message, rng)
    if key == "@type":
        if spot.field is None and spot.message.full_name == "google.protobuf.Any" and rng.random() < 0.3:
            c.clear()
            c.update(copy.deepcopy(rng.choice(WELL_KNOWN_ANYS)))
            return f"any={c['@type']}"
        new = rng.choice([URL + rng.choice(FOREIGN_TYPES), URL + typo(c[key].split("/")[-1], rng),
                          c[key].split("/")[-1], "", URL + SECRET, "example.com/a/" + c[key].split("/")[-1]])
        c[key] = new
        return f"@type={new}"
    value = c[key]
    choices = ["delete", "typo", "case", "junk", "null", "empty"]
    if field is not None:
        if field.enum_type is not None:
            choices += ["enum"] * 3
        elif field.message_type is not None and field.message_type.full_name == "google.protobuf.Duration":
            choices += ["duration"] * 4
        elif field.message_type is not None and field.message_type.full_name == "google.protobuf.Timestamp":
            choices += ["timestamp"] * 3
        elif field.type == field.TYPE_BYTES:
            choices += ["base64"] * 3
        elif field.type == field.TYPE_STRING:
            choices += ["text"]
        elif field.cpp_type in (field.CPPTYPE_FLOAT, field.CPPTYPE_DOUBLE):
            choices += ["float"] * 3
        elif field.message_type is not None and field.message_type.full_name in (
                "google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue"):
            choices += ["struct"] * 3
        elif field.message_type is None and field.cpp_type in (
                field.CPPTYPE_INT32, field.CPPTYPE_INT64, field.CPPTYPE_UINT32, field.CPPTYPE_UINT64):
            choices += ["int"] * 4
        elif field.message_type is not None and field.message_type.full_name.startswith("google.protobuf.") \
                and field.message_type.full_name.endswith("Value") and not isinstance(value, list):
            choices += ["int"] * 2
        if field.containing_oneof is not None:
            choices += ["oneof"] * 2
        if field.message_type is not None and isinstance(value, dict) and not field.message_type.GetOptions().map_entry:
            choices += ["add"] * 2
    kind = rng.choice(choices)
    if kind == "delete":
        del c[key]
    elif kind == "typo":
        c[typo(key, rng)] = c.pop(key)
    elif kind == "case":
        other = snake(key) if key != snake(key) else camel(key)
        c[other] = c.pop(key)
        kind += f"->{other}"
    elif kind == "junk":
        c[key] = copy.deepcopy(rng.choice(JUNK))
    elif kind == "null":
        c[key] = None
    elif kind == "empty":
        c[key] = rng.choice([{}, [], ""])
    elif kind == "enum":
        c[key] = rng.choice([typo(str(value), rng), rng.randrange(-2, 6), 2147483648, str(value).lower(), 1.0])
    elif kind == "duration":
        c[key] = rng.choice(DURATIONS)
    elif kind == "timestamp":
        c[key] = rng.choice(TIMESTAMPS)
    elif kind == "base64":
        c[key] = rng.choice(BASE64)
    elif kind == "text":
        c[key] = rng.choice(TEXTS)
        if field.is_repeated:
            c[key] = [c[key]]
    elif kind == "float":
        c[key] = rng.choice(FLOATS)
    elif kind == "struct":
        c[key] = copy.deepcopy(rng.choice(STRUCTS))
    elif kind == "int":
        base = rng.choice(INT_EDGES + [value if isinstance(value, int) and not isinstance(value, bool) else 5])
        form = rng.choice(["number", "text", "float", "exponent", "fraction", "exptext", "hex", "odd"])
        c[key] = {"number": base, "text": str(base), "float": float(base), "exponent": f"{base}e0",
                  "fraction": base + 0.5, "exptext": f"{base / 1000}e3", "hex": hex(base),
                  "odd": rng.choice(["+5", "05", "-0", "1_000", "\u0661\u0662", "1E2", "10e-1", "0x1p3", " 5"])}[form]
        if field.is_repeated:
            c[key] = [c[key]]
        kind += f":{form}"
    elif kind == "oneof":
        others = [f for f in field.containing_oneof.fields if f is not field]
        if others:
            other = rng.choice(others)
            c[rng.choice([other.json_name, other.name])] = plausible(other, rng)
        else:
            c[snake(key) if snake(key) != key else camel(key)] = copy.deepcopy(value)
    elif kind == "add":
        unset = [f for f in field.message_type.fields if f.json_name not in value and f.name not in value]
        if unset:
            other = rng.choice(unset)
            value[rng.choice([other.json_name, other.name])] = plausible(other, rng)
    return f"{kind} {key}"


def add_field(container, message_desc, rng):
    """Sets a field the object lacks, or gives one it has a second time under its other spelling."""
    present = [f for f in message_desc.fields if f.json_name in container or f.name in container]
    if present and rng.random() < 0.3:
        field = rng.choice(present)
        key = field.json_name if field.name in container else field.name
        if key in container:
            return "twin (same spelling)"
        container[key] = copy.deepcopy(container.get(field.name, container.get(field.json_name)))
        return f"twin {key}"
    unset = [f for f in message_desc.fields if f not in present]
    if not unset:
        return "add nothing"
    field = rng.choice(unset)
    key = rng.choice([field.json_name, field.name])
    container[key] = plausible(field, rng)
    return f"add {key}"


def is_64_bit(field):
    """A 64-bit integer field, or a wrapper of one."""
    if field is None:
        return False
    if field.message_type is not None:
        return field.message_type.full_name in ("google.protobuf.Int64Value", "google.protobuf.UInt64Value")
    return field.cpp_type in (field.CPPTYPE_INT64, field.CPPTYPE_UINT64)


def make_case(seed, index, rng):
    """A mutated copy of a seed, with a unique name; (kind, resource, list of mutations, fixture, group)."""
    kind, resource, fixture, group = seed
    resource = copy.deepcopy(resource)
    name_key = RESOURCES[kind][1]
    eds = resource.get("edsClusterConfig")
    if isinstance(eds, dict) and "serviceName" not in eds:
        eds["serviceName"] = resource[name_key]  # the renamed cluster still reads its fixture's endpoints
    resource[name_key] = f"o{index}-{resource.get(name_key, '')}"[:60]
    done = []
    for _ in range(rng.choice([0, 1, 1, 2, 2, 3])):
        top = find_descriptor(resource.get("@type", "").split("/")[-1]) or find_descriptor(RESOURCES[kind][0])
        places = spots(resource, top, [])
        if rng.random() < 0.03:
            places = [Spot(resource, "@type", None, top)]
        wide = [spot for spot in places if is_64_bit(spot.field)]
        if wide and rng.random() < 0.3:
            places = wide  # 64-bit integers are rare in the seeds and have the most edges
        if not places:
            break
        done.append(mutate_spot(rng.choice(places), rng))
    return kind, resource, done, fixture, group
