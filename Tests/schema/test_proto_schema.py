"""Holds proto/ against the official Envoy descriptors (PyPI xds-protos, protobuf), and checks that bytes and JSON
produced by the Swift Protobuf module read back identically with the official Python classes.

Run: /tmp/venv/bin/python -m pytest Tests/schema
"""
import json
import os
import shutil
import subprocess

import pytest
from google.protobuf import descriptor_pb2, json_format, message_factory

from extract_subset import load_pool

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROTO_DIR = os.path.join(ROOT, "proto")
FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")


@pytest.fixture(scope="session")
def pool():
    return load_pool()


@pytest.fixture(scope="session")
def ours(tmp_path_factory):
    """proto/ compiled by protoc into a FileDescriptorSet."""
    protoc = shutil.which("protoc")
    assert protoc, "protoc must be on PATH"
    files = sorted(
        os.path.relpath(os.path.join(d, f), PROTO_DIR)
        for d, _, fs in os.walk(PROTO_DIR) for f in fs if f.endswith(".proto")
    )
    assert files, "proto/ is empty"
    out = tmp_path_factory.mktemp("ds") / "set.pb"
    subprocess.run([protoc, f"--proto_path={PROTO_DIR}", "--include_imports", f"--descriptor_set_out={out}", *files],
                   check=True)
    fds = descriptor_pb2.FileDescriptorSet()
    fds.ParseFromString(out.read_bytes())
    names = {f.name for f in fds.file}
    assert names == set(files), f"descriptor set and proto/ disagree: {names ^ set(files)}"
    return fds


def official_file(pool, name):
    fdp = descriptor_pb2.FileDescriptorProto()
    pool.FindFileByName(name).CopyToProto(fdp)
    return fdp


def walk_messages(prefix, messages):
    for m in messages:
        full = f"{prefix}.{m.name}"
        yield full, m
        yield from walk_messages(full, m.nested_type)


def walk_enums(prefix, messages, enums):
    for e in enums:
        yield f"{prefix}.{e.name}", e
    for m in messages:
        yield from walk_enums(f"{prefix}.{m.name}", m.nested_type, m.enum_type)


def index(fdp):
    msgs = dict(walk_messages(fdp.package, fdp.message_type))
    enums = dict(walk_enums(fdp.package, fdp.message_type, fdp.enum_type))
    return msgs, enums


def oneof_name(msg, field):
    if not field.HasField("oneof_index"):
        return None
    return msg.oneof_decl[field.oneof_index].name


def test_every_file_declares_something_and_exists_upstream(ours, pool):
    for f in ours.file:
        assert f.message_type or f.enum_type, f"{f.name} declares nothing"
        upstream = pool.FindFileByName(f.name)
        assert upstream.package == f.package, f"{f.name}: package {f.package} != {upstream.package}"


def test_messages_and_fields_match_upstream(ours, pool):
    problems = []
    checked = 0
    for f in ours.file:
        up_msgs, _ = index(official_file(pool, f.name))
        our_msgs, _ = index(f)
        for full, msg in our_msgs.items():
            up = up_msgs.get(full)
            if up is None:
                problems.append(f"{full}: no such message upstream in {f.name}")
                continue
            if msg.options.map_entry != up.options.map_entry:
                problems.append(f"{full}: map_entry differs")
            up_fields = {x.name: x for x in up.field}
            for field in msg.field:
                checked += 1
                where = f"{full}.{field.name}"
                u = up_fields.get(field.name)
                if u is None:
                    problems.append(f"{where}: no such field upstream")
                    continue
                # CopyToProto leaves json_name empty, so take it from the live descriptor.
                live = pool.FindMessageTypeByName(full).fields_by_name[field.name].json_name
                if field.json_name != live:
                    problems.append(f"{where}: json_name {field.json_name!r} != upstream {live!r}")
                for attr in ("number", "type", "label", "type_name", "proto3_optional"):
                    if getattr(field, attr) != getattr(u, attr):
                        problems.append(f"{where}: {attr} {getattr(field, attr)!r} != upstream {getattr(u, attr)!r}")
                if oneof_name(msg, field) != oneof_name(up, u):
                    problems.append(f"{where}: oneof {oneof_name(msg, field)!r} != upstream {oneof_name(up, u)!r}")
    assert not problems, "\n".join(problems)
    assert checked > 300


def test_enums_match_upstream(ours, pool):
    problems = []
    for f in ours.file:
        _, up_enums = index(official_file(pool, f.name))
        _, our_enums = index(f)
        for full, enum in our_enums.items():
            up = up_enums.get(full)
            if up is None:
                problems.append(f"{full}: no such enum upstream")
                continue
            mine = [(v.name, v.number) for v in enum.value]
            theirs = [(v.name, v.number) for v in up.value]
            if sorted(mine) != sorted(theirs):
                problems.append(f"{full}: values {mine} != upstream {theirs}")
    assert not problems, "\n".join(problems)


# protobuf-c leaves a map entry's empty value off the wire; Python writes it. Both parse to the same map.
BYTES_MAY_DIFFER = {"delta_request"}


def fixture_names():
    if not os.path.isdir(FIXTURES):
        return []
    return sorted(f[:-4] for f in os.listdir(FIXTURES) if f.endswith(".bin"))


def test_fixtures_exist():
    assert len(fixture_names()) >= 5, "run the Swift tests with PROTO_UPDATE_FIXTURES=1 to write Tests/schema/fixtures"


@pytest.mark.parametrize("name", fixture_names())
def test_swift_bytes_decode_with_official_classes(pool, name):
    """Bytes from ProtoCodec.encode parse with the official classes, render the same JSON as ProtoJSON, and
    re-serialize to the same bytes (both sides write fields in number order and map keys sorted)."""
    with open(os.path.join(FIXTURES, name + ".type")) as fh:
        type_name = fh.read().strip()
    with open(os.path.join(FIXTURES, name + ".bin"), "rb") as fh:
        data = fh.read()
    with open(os.path.join(FIXTURES, name + ".json")) as fh:
        swift_json = json.load(fh)
    cls = message_factory.GetMessageClass(pool.FindMessageTypeByName(type_name))
    msg = cls()
    msg.ParseFromString(data)
    assert json_format.MessageToDict(msg, descriptor_pool=pool) == swift_json
    if name not in BYTES_MAY_DIFFER:
        assert msg.SerializeToString(deterministic=True) == data
