"""Mutants of valid routes files, judged by docs/routes.schema.json and by `chancery validate`.

Mutants (deterministic per seed; the class is seed % 5): an unknown key inserted, a key misspelled (a letter
dropped, doubled or swapped), a value replaced by one of another type, a key dropped, a scalar tweaked to a near
miss (a bound ± 1, another unit, another case). The schema must never refuse a mutant chancery accepts; unknown and
misspelled keys and dropped required keys must be refused by both. Bases: Fixtures/*/routes.yaml, deploy/routes.yaml,
Tests/schema/routes_accepted/*.yaml and files from Tests/generated/routes_gen.py. YAML is read as in routes_yaml.py.

Long mode (not in CI): `python Tests/schema/routes_schema_check.py --count 3000` (CHANCERY_BIN names the binary);
`--seed S` prints one mutant and both verdicts.
"""
import argparse
import os
import random
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field

import yaml

from routes_yaml import (ROOT, compose, decoder_key_lists, edge_case_texts, fixture_texts, load_routes,
                         resolve_plain, validator)

sys.path.insert(0, os.path.join(ROOT, "Tests", "generated"))

from routes_gen import generate  # noqa: E402

# -- mutants -------------------------------------------------------------------------------------------------------

STR = "tag:yaml.org,2002:str"
INT = "tag:yaml.org,2002:int"
MUTATION_CLASSES = ["unknown_key", "misspell_key", "wrong_type", "drop_key", "tweak"]


def walk(node, path=(), seen=None):
    """Every node with its key path, each shared (aliased) node once."""
    seen = set() if seen is None else seen
    if id(node) in seen:
        return
    seen.add(id(node))
    yield path, node
    if isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from walk(item, path + (index,), seen)
    elif isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield from walk(value, path + (key.value if isinstance(key, yaml.ScalarNode) else "?",), seen)


def is_header_pairs(path):
    """`add:` and `set:` of header edits: their keys are header names, not schema keys."""
    return len(path) >= 2 and path[-1] in ("add", "set") and path[-2] in ("request_headers", "response_headers")


def scalar(value, tag=STR):
    return yaml.ScalarNode(tag, str(value), style=None)


def random_value(r, kind):
    if kind == "string":
        return scalar(r.choice(["wrong", "x y", "/", "v3", "365d"]))
    if kind == "number":
        return scalar(r.choice([0, 7, 443, 100000, -3]), INT)
    if kind == "list":
        return yaml.SequenceNode("tag:yaml.org,2002:seq", [scalar(r.choice(["a", "/b", "1"]))], flow_style=True)
    return yaml.MappingNode("tag:yaml.org,2002:map", [(scalar("a"), scalar("b"))], flow_style=True)


def kind_of(node):
    if isinstance(node, yaml.SequenceNode):
        return "list"
    if isinstance(node, yaml.MappingNode):
        return "mapping"
    return "number" if node.style is None and isinstance(resolve_plain(node.value), (int, float)) else "string"


INT_TWEAKS = [0, -1, 1, 2, 32, 33, 99, 100, 101, 199, 200, 599, 600, 1000, 1001, 10000, 10001, 65535, 65536,
              1000000, 1000001]
TEXT_TWEAKS = ["", " ", "0s", "1.5s", "10", "365d", "1d", "x y", "/", "*", "*.a.test", "v1", "V2", "v3", "::1",
               "[::1]:80", "a:b", "yes", "Off", "maybe", "Round_Robin", "required", "5XX", "h2", "/a\\nb",
               "300-200", "200 - 299"]


def mutate(root, r, kind, unknown_names):
    """Applies one mutation of `kind` to the node graph in place; returns a description, or None if none applies."""
    nodes = list(walk(root))
    if kind == "unknown_key":
        maps = [(p, n) for p, n in nodes if isinstance(n, yaml.MappingNode) and not is_header_pairs(p)]
        if not maps:
            return None
        path, target = r.choice(maps)
        name = r.choice(unknown_names)
        target.value.insert(r.randint(0, len(target.value)), (scalar(name), scalar(r.choice(["1", "x", "true"]))))
        return f"unknown key {name!r} at {path}"
    if kind == "misspell_key":
        keys = [(p, n, i) for p, n in nodes if isinstance(n, yaml.MappingNode) and not is_header_pairs(p)
                for i, (k, _) in enumerate(n.value) if isinstance(k, yaml.ScalarNode) and len(k.value) > 2]
        if not keys:
            return None
        path, target, index = r.choice(keys)
        old = target.value[index][0].value
        typos = sorted(set(misspellings(old)) - set(unknown_names.known))
        if not typos:
            return None
        typo = r.choice(typos)
        target.value[index] = (scalar(typo), target.value[index][1])
        return f"misspell key {old!r} as {typo!r} at {path}"
    if kind == "drop_key":
        maps = [(p, n) for p, n in nodes if isinstance(n, yaml.MappingNode) and n.value]
        if not maps:
            return None
        path, target = r.choice(maps)
        index = r.randrange(len(target.value))
        key = target.value.pop(index)[0]
        return f"drop key {key.value!r} at {path}"
    slots = []  # (container, index, path, value): values that can be replaced
    for path, node in nodes:
        if isinstance(node, yaml.MappingNode):
            slots += [(node, i, path + (k.value,), v) for i, (k, v) in enumerate(node.value)]
        elif isinstance(node, yaml.SequenceNode):
            slots += [(node, i, path + (i,), v) for i, v in enumerate(node.value)]
    if kind == "tweak":
        slots = [slot for slot in slots if isinstance(slot[3], yaml.ScalarNode)]
    if not slots:
        return None
    container, index, path, old = r.choice(slots)
    if kind == "wrong_type":
        new_kind = r.choice([k for k in ("string", "number", "list", "mapping") if k != kind_of(old)])
        new = random_value(r, new_kind)
        what = f"{kind_of(old)} -> {new_kind}"
    else:
        if kind_of(old) == "number":
            new = scalar(r.choice(INT_TWEAKS), INT)
        else:
            text = r.choice(TEXT_TWEAKS)
            new = yaml.ScalarNode(STR, text.replace("\\n", "\n"), style='"' if "\\n" in text else None)
        what = f"{old.value!r} -> {new.value!r}"
    if isinstance(container, yaml.MappingNode):
        container.value[index] = (container.value[index][0], new)
    else:
        container.value[index] = new
    return f"{kind} {what} at {path}"


def misspellings(key):
    """A letter dropped, doubled, or swapped with the next: the typos the decoder answers with "did you mean"."""
    for i in range(len(key)):
        yield key[:i] + key[i + 1:]
        yield key[:i] + key[i] + key[i:]
        if i + 1 < len(key) and key[i] != key[i + 1]:
            yield key[:i] + key[i + 1] + key[i] + key[i + 2:]


class UnknownNames(list):
    """Keys to insert: near misses of real keys and a few plain wrong names, none of them a key anywhere."""

    def __init__(self):
        self.known = {k for keys in decoder_key_lists().values() for k in keys}
        names = {"foo", "Name", "cluster_name", "timeout_ms", "enable"}
        for key in self.known:
            if len(key) > 3:
                names |= {key[:-1], key + key[-1]}
        super().__init__(sorted(names - self.known))


def unknown_key_names():
    return UnknownNames()


def serialize(root):
    return yaml.serialize(root, Dumper=yaml.SafeDumper, width=1 << 20, allow_unicode=True)


@dataclass
class Bases:
    """Valid files to mutate: the fixtures and edge cases, then generated files chosen by seed."""
    fixtures: dict
    generated_seeds: int = 1000
    cache: dict = field(default_factory=dict)

    def pick(self, r):
        if r.random() < 0.5:
            name = r.choice(sorted(self.fixtures))
            return name, self.fixtures[name]
        while True:
            seed = r.randrange(self.generated_seeds)
            case = self.cache.get(seed) or generate(seed)
            self.cache[seed] = case
            if not case.expect_refusal:
                return f"generated seed {seed}", case.text


@dataclass
class Verdict:
    seed: int
    kind: str
    base: str
    change: str
    text: str
    schema_rejects: bool
    chancery_rejects: bool
    schema_messages: list
    chancery_output: str

    @property
    def dropped_required(self):
        """A drop the decoder or the schema calls a missing required key (or a route's missing match or action)."""
        if self.kind != "drop_key":
            return False
        key = self.change.split("'")[1]
        said = self.chancery_output
        return (f'missing required key "{key}"' in said or "route has no" in said
                or any(f"'{key}' is a required property" in m for m in self.schema_messages))

    def problem(self):
        """Why this mutant is a disagreement, or None."""
        if self.schema_rejects and not self.chancery_rejects:
            return "the schema refuses a file chancery accepts"
        if self.kind in ("unknown_key", "misspell_key") and not (self.schema_rejects and self.chancery_rejects):
            return "an unknown key is not refused by both"
        if self.dropped_required and not (self.schema_rejects and self.chancery_rejects):
            return "a missing required key is not refused by both"
        return None


def run_chancery(chancery, text, directory):
    path = os.path.join(directory, "routes.yaml")
    with open(path, "w") as f:
        f.write(text)
    result = subprocess.run([chancery, "validate", path], capture_output=True, text=True, timeout=60)
    return result.returncode != 0, result.stdout + result.stderr


def make_mutant(seed, bases, unknown_names):
    """Deterministic per seed: (kind, base name, change, text), or None when the mutation found nothing to change."""
    r = random.Random(seed)
    kind = MUTATION_CLASSES[seed % len(MUTATION_CLASSES)]
    base, text = bases.pick(r)
    root = compose(text)
    change = mutate(root, r, kind, unknown_names)
    if change is None:
        return None
    return kind, base, change, serialize(root)


def judge(seed, bases, unknown_names, check, chancery, directory):
    made = make_mutant(seed, bases, unknown_names)
    if made is None:
        return None
    kind, base, change, text = made
    try:
        data = load_routes(text)
        messages = [e.message for e in check.iter_errors(data)]
    except yaml.YAMLError as error:  # a mutant PyYAML cannot read back is not a schema question
        return Verdict(seed, kind, base, change, text, True, True, [f"YAML: {error}"], "")
    rejected, output = run_chancery(chancery, text, directory)
    return Verdict(seed, kind, base, change, text, bool(messages), rejected, messages, output)


def chancery_bin():
    path = os.environ.get("CHANCERY_BIN")
    if not path:
        out = subprocess.run(["swift", "build", "--show-bin-path"], cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout.strip()
        path = os.path.join(out, "chancery")
    assert os.path.exists(path), f"chancery binary not built at {path}"
    return path


def run_campaign(first_seed, count, chancery, report=print):
    """Judges `count` mutants from `first_seed`; returns (per-class counters, disagreements)."""
    bases = Bases({**fixture_texts(), **edge_case_texts()})
    names = unknown_key_names()
    check = validator()
    stats = {kind: Counter() for kind in MUTATION_CLASSES}
    disagreements = []
    with tempfile.TemporaryDirectory() as directory:
        for seed in range(first_seed, first_seed + count):
            verdict = judge(seed, bases, names, check, chancery, directory)
            if verdict is None:
                continue
            counter = stats[verdict.kind]
            counter["mutants"] += 1
            counter["schema rejects"] += verdict.schema_rejects
            counter["chancery rejects"] += verdict.chancery_rejects
            counter["only chancery rejects"] += verdict.chancery_rejects and not verdict.schema_rejects
            counter["drops of a required key"] += verdict.dropped_required
            problem = verdict.problem()
            if problem:
                disagreements.append((verdict, problem))
                report(f"DISAGREEMENT seed {seed} ({verdict.kind}, {verdict.base}: {verdict.change}): {problem}")
    return stats, disagreements


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--seed", type=int, help="show one mutant and both verdicts")
    args = parser.parse_args()
    chancery = chancery_bin()
    if args.seed is not None:
        with tempfile.TemporaryDirectory() as directory:
            bases = Bases({**fixture_texts(), **edge_case_texts()})
            verdict = judge(args.seed, bases, unknown_key_names(), validator(), chancery, directory)
        if verdict is None:
            print("this seed's mutation found nothing to change")
            return 0
        print(f"{verdict.kind} on {verdict.base}: {verdict.change}\n---\n{verdict.text}---")
        print("schema:", verdict.schema_messages or "accepts")
        print("chancery:", verdict.chancery_output.strip())
        print("problem:", verdict.problem())
        return 0
    stats, disagreements = run_campaign(args.first_seed, args.count, chancery)
    total = Counter()
    for kind, counter in stats.items():
        total.update(counter)
        print(f"{kind:12} " + ", ".join(f"{k}: {v}" for k, v in counter.items()))
    print("all          " + ", ".join(f"{k}: {v}" for k, v in total.items()) + f", disagreements: {len(disagreements)}")
    return 1 if disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
