"""Checks generated routes files against the real Envoy: Chancery must refuse (with file:line:col) or Envoy accept.

For each seed: `chancery validate FILE --certs DIR`; when valid, `chancery render --format envoy-bootstrap --group G`
for every group and `envoy --mode validate` on each bootstrap. A disagreement is a file Chancery accepts and Envoy
refuses, or a file generated to be refused that Chancery accepts, or a refusal without a position.

Long mode: `python Tests/generated/check_generated.py --count 10000 [--first-seed 0] [--workers 4]`
(CHANCERY_BIN names the binary; envoy comes from PATH or .venv/bin).
"""
import argparse
import copy
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)

from routes_gen import CERTIFICATES, generate  # noqa: E402


def chancery_bin():
    path = os.environ.get("CHANCERY_BIN")
    if not path:
        out = subprocess.run(["swift", "build", "--show-bin-path"], cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout.strip()
        path = os.path.join(out, "chancery")
    return path


def envoy_bin():
    return shutil.which("envoy") or os.path.join(ROOT, ".venv", "bin", "envoy")


def make_certificates(directory):
    """A small set of self-signed EC certificates, one directory per name (the layout `--certs` reads), each with
    a ca.crt."""
    for name in CERTIFICATES:
        target = os.path.join(directory, name)
        os.makedirs(target, exist_ok=True)
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-keyout", os.path.join(target, "tls.key"), "-out", os.path.join(target, "tls.crt"),
                        "-days", "30", "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name},DNS:*.{name}"],
                       check=True, capture_output=True)
        # Each certificate also trusts itself as the CA for client certificates (`client_ca`).
        shutil.copy(os.path.join(target, "tls.crt"), os.path.join(target, "ca.crt"))
    # The descriptors of `grpc_json: { descriptors: greeter, services: [hello.Greeter] }`, made by protoc.
    os.makedirs(os.path.join(directory, "greeter"), exist_ok=True)
    with open(os.path.join(directory, "greeter", "hello.proto"), "w") as f:
        f.write('syntax = "proto3"; package hello; service Greeter { rpc SayHello (Req) returns (Rep); } '
                "message Req { string name = 1; } message Rep { string message = 1; }\n")
    subprocess.run(["protoc", "--include_imports", "--descriptor_set_out=descriptors.pb", "hello.proto"],
                   cwd=os.path.join(directory, "greeter"), check=True, capture_output=True)
    # The users of `basic_auth: { users: admins }` (alice, password "wonderland").
    os.makedirs(os.path.join(directory, "admins"), exist_ok=True)
    with open(os.path.join(directory, "admins", "htpasswd"), "w") as f:
        f.write("alice:{SHA}tiY7sUhYKUwI5L3866kDY+ENcrQ=\n")


@dataclass
class Outcome:
    seed: int
    valid: bool = False
    groups_checked: int = 0
    problems: list = field(default_factory=list)


POSITION = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): ")


def prepare_case(seed, work, certs, chancery):
    """Validates one generated file and renders the static bootstrap of each group; Envoy runs later, batched."""
    case = generate(seed)
    outcome = Outcome(seed)
    directory = os.path.join(work, f"case-{seed}")
    os.makedirs(directory, exist_ok=True)
    routes = os.path.join(directory, "routes.yaml")
    with open(routes, "w") as f:
        f.write(case.text)
    result = subprocess.run([chancery, "validate", routes, "--certs", certs], capture_output=True, text=True,
                            timeout=60)
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line and not line.startswith("warning:")]
        unpositioned = [line for line in lines if not POSITION.match(line)]
        if not case.expect_refusal:
            outcome.problems.append(f"Chancery refuses a file generated valid: {result.stderr.strip()}")
        elif unpositioned or not lines:
            outcome.problems.append(f"refusal without file:line:col: {result.stderr.strip()}")
        return outcome, []
    outcome.valid = True
    if case.expect_refusal:
        outcome.problems.append(f"Chancery accepts a file Envoy refuses ({'; '.join(case.expect_refusal)})")
    bootstraps = []
    for group in case.groups:
        render = subprocess.run([chancery, "render", "--config", routes, "--certs", certs, "--group", group,
                                 "--format", "envoy-bootstrap"], capture_output=True, text=True, timeout=60)
        if render.returncode != 0:
            outcome.problems.append(f"render failed for group {group}: {render.stderr.strip()}")
            continue
        bootstraps.append((outcome, group, json.loads(render.stdout)))
    return outcome, bootstraps


def envoy_validate(envoy, bootstrap, directory, name):
    """Runs `envoy --mode validate`; returns None when accepted, else Envoy's message without key material."""
    path = os.path.join(directory, f"{name}.json")
    with open(path, "w") as f:
        json.dump(bootstrap, f)
    check = subprocess.run([envoy, "--mode", "validate", "-c", path, "-l", "error", "--concurrency", "1",
                            "--disable-hot-restart"], capture_output=True, text=True, timeout=300)
    if check.returncode == 0:
        os.remove(path)
        return None
    lines = [line for line in (check.stdout + check.stderr).splitlines() if line.strip() and "PRIVATE KEY" not in line]
    return " / ".join(lines)[-1500:]


def merge(bootstraps):
    """Several groups' bootstraps as one: every name gets a per-member prefix, every listener port a per-member
    port (two listeners of one member that share a port still share one), so members cannot collide."""
    merged = {"static_resources": {"listeners": [], "clusters": [], "secrets": []}}
    next_port = [1024]
    for index, (_, _, bootstrap) in enumerate(bootstraps):
        prefix = f"m{index}-"
        ports = {}
        resources = copy.deepcopy(bootstrap["static_resources"])
        for listener in resources.get("listeners", []):
            listener["name"] = prefix + listener["name"]
            socket_address = listener.get("address", {}).get("socketAddress")
            if socket_address:
                original = socket_address.get("portValue", 0)
                if original not in ports:
                    ports[original] = next_port[0]
                    next_port[0] += 1
                socket_address["portValue"] = ports[original]
            rename_references(listener, prefix)
        for cluster in resources.get("clusters", []):
            cluster["name"] = prefix + cluster["name"]
            if "loadAssignment" in cluster:
                cluster["loadAssignment"]["clusterName"] = prefix + cluster["loadAssignment"]["clusterName"]
        for secret in resources.get("secrets", []):
            secret["name"] = prefix + secret["name"]
        for key in ("listeners", "clusters", "secrets"):
            merged["static_resources"][key] += resources.get(key, [])
    return merged


def rename_references(value, prefix):
    """Prefixes the cluster names routes (one or weighted) and TCP proxies name, and the secret names TLS contexts
    name (certificates and CAs)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "cluster" and isinstance(item, str):
                value[key] = prefix + item
            elif key == "tlsCertificateSdsSecretConfigs":
                for config in item:
                    config["name"] = prefix + config["name"]
            elif key == "validationContextSdsSecretConfig":
                item["name"] = prefix + item["name"]
            elif key == "weightedClusters":
                for weighted in item.get("clusters", []):
                    weighted["name"] = prefix + weighted["name"]
            else:
                rename_references(item, prefix)
    elif isinstance(value, list):
        for item in value:
            rename_references(item, prefix)


def check_batch(batch, envoy, directory, number):
    """One Envoy run for the whole batch; only when it fails, one run per member to say which one Envoy refuses."""
    if envoy_validate(envoy, merge(batch), directory, f"batch-{number}") is None:
        for outcome, _, _ in batch:
            outcome.groups_checked += 1
        return
    for outcome, group, bootstrap in batch:
        outcome.groups_checked += 1
        message = envoy_validate(envoy, bootstrap, directory, f"case-{outcome.seed}-{group}")
        if message:
            outcome.problems.append(f"Envoy refuses group {group}: {message}")


def run(seeds, workers=4, batch_size=16, keep=None):
    """Checks every seed; returns (outcomes, work directory kept for failing cases or None)."""
    chancery = chancery_bin()
    envoy = envoy_bin()
    work = keep or tempfile.mkdtemp(prefix="chancery-generated-")
    certs = os.path.join(work, "certs")
    make_certificates(certs)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        prepared = list(pool.map(lambda seed: prepare_case(seed, work, certs, chancery), seeds))
        outcomes = [outcome for outcome, _ in prepared]
        bootstraps = [item for _, items in prepared for item in items]
        batches = [bootstraps[i:i + batch_size] for i in range(0, len(bootstraps), batch_size)]
        list(pool.map(lambda numbered: check_batch(numbered[1], envoy, work, numbered[0]), enumerate(batches)))
    failing = [o for o in outcomes if o.problems]
    for outcome in outcomes:
        if not outcome.problems:
            shutil.rmtree(os.path.join(work, f"case-{outcome.seed}"), ignore_errors=True)
    if not failing and keep is None:
        shutil.rmtree(work, ignore_errors=True)
        work = None
    return outcomes, work


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=int(os.environ.get("CHANCERY_GENERATED_CASES", "300")))
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--batch", type=int, default=16, help="groups per Envoy run")
    args = parser.parse_args()
    started = time.monotonic()
    outcomes, work = run(range(args.first_seed, args.first_seed + args.count), workers=args.workers, batch_size=args.batch)
    valid = sum(o.valid for o in outcomes)
    groups = sum(o.groups_checked for o in outcomes)
    failing = [o for o in outcomes if o.problems]
    for outcome in failing:
        for problem in outcome.problems:
            print(f"seed {outcome.seed}: {problem}")
    print(f"{len(outcomes)} cases: {valid} valid, {len(outcomes) - valid} refused, {groups} group bootstraps "
          f"checked by Envoy, {len(failing)} disagreements, {time.monotonic() - started:.0f}s"
          + (f"; failing cases kept in {work}" if work else ""))
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
