"""Writes proto/ from the official descriptors, keeping only the fields listed in subset_spec.py.

Why: hand-copying field numbers is how a wrong number lands. This tool reads the descriptors shipped in PyPI's
xds-protos / protobuf packages and prints the subset Chancery uses, with upstream file paths, packages, names,
numbers, types and labels; validate/udpa annotations and options are dropped. test_proto_schema.py checks the result
independently, so hand edits to proto/ stay possible.

Usage: /tmp/venv/bin/python Tests/schema/extract_subset.py proto
"""
import importlib
import os
import sys
from collections import defaultdict

from google.protobuf import descriptor_pb2, descriptor_pool

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from subset_spec import EXTRA_ENUMS, SPEC  # noqa: E402

FDP = descriptor_pb2.FieldDescriptorProto
SCALAR = {v: k[len("TYPE_"):].lower() for k, v in FDP.Type.items()}


def load_pool():
    """Imports every *_pb2 module under the envoy/google/xds/udpa packages so the default pool knows all files."""
    import envoy
    import google.protobuf
    roots = [os.path.dirname(envoy.__file__)]
    site = os.path.dirname(roots[0])
    for root in roots + [os.path.join(site, "google", "rpc"), os.path.dirname(google.protobuf.__file__)]:
        for dirpath, _, files in os.walk(root):
            for f in files:
                if f.endswith("_pb2.py"):
                    mod = os.path.relpath(os.path.join(dirpath, f[:-3]), site).replace(os.sep, ".")
                    try:
                        importlib.import_module(mod)
                    except Exception:
                        pass
    return descriptor_pool.Default()


def main(out_dir):
    pool = load_pool()
    wanted = {name: (None if f == "*" else f.split()) for name, f in SPEC.items()}
    enums = set(EXTRA_ENUMS)
    by_file = defaultdict(list)
    for name in wanted:
        d = pool.FindMessageTypeByName(name)
        if d.containing_type is None:
            by_file[d.file.name].append(d)
    for name in enums:
        e = pool.FindEnumTypeByName(name)
        if e.containing_type is None:
            by_file[e.file.name].append(e)
    # Collect referenced enums and map entries first so nested ones get emitted.
    for name, fields in wanted.items():
        d = pool.FindMessageTypeByName(name)
        for f in d.fields:
            if fields is not None and f.name not in fields:
                continue
            if f.enum_type is not None:
                enums.add(f.enum_type.full_name)
                if f.enum_type.containing_type is None and f.enum_type not in by_file[f.enum_type.file.name]:
                    by_file[f.enum_type.file.name].append(f.enum_type)
            elif f.message_type is not None and not f.message_type.GetOptions().map_entry:
                if f.message_type.full_name not in wanted:
                    raise SystemExit(f"{name}.{f.name} needs {f.message_type.full_name}: add it to subset_spec.py")
    for fname, decls in sorted(by_file.items()):
        write_file(pool, out_dir, fname, decls, wanted, enums)


def type_ref(f):
    if f.message_type is not None:
        return "." + f.message_type.full_name
    if f.enum_type is not None:
        return "." + f.enum_type.full_name
    return SCALAR[f.type]


def field_line(f):
    if f.message_type is not None and f.message_type.GetOptions().map_entry:
        k, v = f.message_type.fields_by_name["key"], f.message_type.fields_by_name["value"]
        return f"map<{type_ref(k)}, {type_ref(v)}> {f.name} = {f.number};"
    label = "repeated " if f.is_repeated else ""
    return f"{label}{type_ref(f)} {f.name} = {f.number};"


def render_enum(e, indent):
    pad = "  " * indent
    numbers = [v.number for v in e.values]
    lines = [f"{pad}enum {e.name} {{"]
    if len(set(numbers)) != len(numbers):
        lines.append(f"{pad}  option allow_alias = true;")
    lines += [f"{pad}  {v.name} = {v.number};" for v in e.values]
    return lines + [f"{pad}}}"]


def render_message(d, wanted, enums, indent):
    pad = "  " * indent
    keep = wanted[d.full_name]
    lines = [f"{pad}message {d.name} {{"]
    for n in d.nested_types:
        if n.full_name in wanted:
            lines += render_message(n, wanted, enums, indent + 1)
    for e in d.enum_types:
        if e.full_name in enums:
            lines += render_enum(e, indent + 1)
    done_oneofs = set()
    for f in d.fields:
        if keep is not None and f.name not in keep:
            continue
        o = f.containing_oneof
        if o is not None and not is_synthetic(o):
            if o.name in done_oneofs:
                continue
            done_oneofs.add(o.name)
            lines.append(f"{pad}  oneof {o.name} {{")
            for m in o.fields:
                if keep is None or m.name in keep:
                    lines.append(f"{pad}    {field_line(m)}")
            lines.append(f"{pad}  }}")
        elif o is not None:
            lines.append(f"{pad}  optional {field_line(f)}")
        else:
            lines.append(f"{pad}  {field_line(f)}")
    return lines + [f"{pad}}}"]


def is_synthetic(o):
    return len(o.fields) == 1 and o.name == "_" + o.fields[0].name


def write_file(pool, out_dir, fname, decls, wanted, enums):
    fd = pool.FindFileByName(fname)
    deps = set()
    for name in wanted:
        d = pool.FindMessageTypeByName(name)
        if d.file.name != fname:
            continue
        keep = wanted[name]
        for f in d.fields:
            if keep is not None and f.name not in keep:
                continue
            targets = [f]
            if f.message_type is not None and f.message_type.GetOptions().map_entry:
                targets = list(f.message_type.fields)
            for t in targets:
                ref = t.message_type or t.enum_type
                if ref is not None and ref.file.name != fname:
                    deps.add(ref.file.name)
    lines = [
        f"// Subset of {fname} used by Chancery; extracted from the upstream descriptors by",
        "// Tests/schema/extract_subset.py. Names and numbers match upstream; unused fields are left out.",
        "",
        'syntax = "proto3";',
        "",
        f"package {fd.package};",
        "",
    ]
    for dep in sorted(deps):
        lines.append(f'import "{dep}";')
    if deps:
        lines.append("")
    top = sorted(decls, key=lambda x: list(fd.message_types_by_name.values()).index(x)
                 if x.full_name in wanted else 1000 + list(fd.enum_types_by_name.values()).index(x))
    for x in top:
        if x.full_name in wanted:
            lines += render_message(x, wanted, enums, 0)
        else:
            lines += render_enum(x, 0)
        lines.append("")
    path = os.path.join(out_dir, fname)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        fh.write("\n".join(lines).rstrip() + "\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "proto")
