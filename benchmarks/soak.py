#!/usr/bin/env python3
"""The soak: Chancery under steady change, with restarts, for an hour (not part of CI).

    .venv/bin/python benchmarks/soak.py                          # the full run: 1 h, 1,000 proxies
    .venv/bin/python benchmarks/soak.py --duration 300 --restart-every 120 --proxies 200   # a quick look

One release Chancery, one real Envoy (group `default`, state of the world, an HTTPS listener whose certificate comes
through SDS) and a fleet of simulated proxies (`ChanceryBench hold`, half state of the world, half delta, all
reconnecting on loss). Every `--change-every` seconds the routes file moves one cluster's endpoint; every fifth change
rotates the certificate instead (the certificate directory swapped the way Kubernetes does it, `..data` to a new
directory). Every `--restart-every` seconds Chancery is killed with SIGKILL and started again on the same ports and
files. Around each restart the changes pause, and the Envoy's config is compared before and after: versions and
Envoy's listener/cluster modification counters must not move.

Reported (stdout, and JSON with --json): RSS and open descriptors of Chancery every 5 s; per process lifetime the RSS
after warm-up and at the end (growth in %), and the descriptors once the fleet is back; whether every proxy ended on
the final versions (checked against a fresh probe connected at the end); NACKs seen by Chancery (`/clients?
status=nacked`) and Envoy's rejected updates; whether the Envoy applied any change across restarts. Exit status 1
when any of these fails.

Needs the release binaries: `swift build -c release --product chancery`, the same with `--product ChanceryBench`.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "Tests", "e2e"))
import harness  # noqa: E402  (the e2e helpers: free ports, bounded waits, the Envoy process)



def routes_file(step, http_port, https_port, clusters):
    """The soak's routes file; `step` moves one cluster's endpoint (cluster step % clusters)."""
    lines = ["groups: [default]", "listeners:",
             "  - name: http", "    address: 127.0.0.1", f"    port: {http_port}", "    hosts:",
             "      - name: site", "        domains: ['*']", "        routes:"]
    lines += [f"          - prefix: /c{i}/\n            cluster: c{i}" for i in range(clusters)]
    lines += ["  - name: https", "    address: 127.0.0.1", f"    port: {https_port}",
              "    tls: { certificate: site.test }", "    hosts:",
              "      - name: secure", "        domains: [site.test]", "        routes:",
              "          - prefix: /", "            cluster: c0", "clusters:"]
    moved = step % clusters
    for i in range(clusters):
        port = 21000 + i * 100 + (step // clusters) % 100 if i == moved else 21000 + i * 100
        lines.append(f"  - name: c{i}\n    endpoints: [127.0.0.1:{port}]")
    return "\n".join(lines) + "\n"


def write_atomically(path, text):
    temporary = path + ".tmp"
    with open(temporary, "w") as handle:
        handle.write(text)
    os.replace(temporary, path)


class Certificates:
    """Two pre-made certificate pairs for site.test, swapped in with a `..data` link as Kubernetes does."""

    def __init__(self, root):
        self.root = root
        self.pairs = []
        for index in range(2):
            pair = os.path.join(root, f"pair{index}")
            os.makedirs(pair)
            subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                            "-nodes", "-days", "30", "-subj", "/CN=site.test", "-addext",
                            "subjectAltName=DNS:site.test", "-keyout", os.path.join(pair, "tls.key"),
                            "-out", os.path.join(pair, "tls.crt")], check=True, capture_output=True)
            self.pairs.append(pair)
        self.site = os.path.join(root, "certs", "site.test")
        os.makedirs(self.site)
        for name in ("tls.crt", "tls.key"):
            os.symlink(os.path.join("..data", name), os.path.join(self.site, name))
        self.generation = 0
        self.rotate()

    def rotate(self):
        """A new timestamped directory with the next pair, then `..data` swung to it in one rename."""
        self.generation += 1
        fresh = os.path.join(self.site, f"..{self.generation}")
        shutil.copytree(self.pairs[self.generation % 2], fresh)
        link = os.path.join(self.site, "..data_tmp")
        os.symlink(os.path.basename(fresh), link)
        os.replace(link, os.path.join(self.site, "..data"))
        old = os.path.join(self.site, f"..{self.generation - 1}")
        if os.path.isdir(old):
            shutil.rmtree(old)

    @property
    def directory(self):
        return os.path.join(self.root, "certs")


class Fleet:
    """`ChanceryBench hold`: its last JSON report is kept."""

    def __init__(self, bench, port, proxies, duration, prefix="soak"):
        self.proc = subprocess.Popen(
            [bench, "hold", "--port", str(port), "--proxies", str(proxies), "--duration", str(duration),
             "--report-seconds", "2", "--node-prefix", prefix],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.last = None
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                self.last = json.loads(line)
            except ValueError:
                pass

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def converged(report, proxies):
    """Every proxy connected and, per stream kind and type, all on one version."""
    if not report or report["connected"] != proxies:
        return False
    held = report["versions"]
    kinds = {key.split(":")[0] for key in held}
    return all(len(counts) == 1 for counts in held.values()) and len(held) == 4 * len(kinds)


def process_sample(pid):
    with open(f"/proc/{pid}/status") as handle:
        rss = next(int(line.split()[1]) for line in handle if line.startswith("VmRSS:"))
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


def get(url, timeout=5.0):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, dict(response.headers), response.read().decode()


class Soak:
    def __init__(self, options):
        self.options = options
        self.work = tempfile.mkdtemp(prefix="chancery-soak-")
        self.certs = Certificates(self.work)
        self.config = os.path.join(self.work, "routes.yaml")
        self.http_port, self.https_port = harness.free_port(), harness.free_port()
        self.step = 0
        write_atomically(self.config, self.routes())
        self.xds_port, self.admin_port = harness.free_port(), harness.free_port()
        self.samples = []          # (t, pid, rss KiB, fds)
        self.lifetimes = []        # per Chancery process: start, pid, warm rss, last rss, fds after the fleet is back
        self.restarts = []         # per restart: what the Envoy showed before and after
        self.nacks_seen = 0
        self.started = time.monotonic()
        self.chancery = None

    def routes(self):
        return routes_file(self.step, self.http_port, self.https_port, self.options.clusters)

    def now(self):
        return time.monotonic() - self.started

    def admin(self, path):
        return f"http://127.0.0.1:{self.admin_port}{path}"

    def start_chancery(self):
        log = open(os.path.join(self.work, f"chancery-{len(self.lifetimes)}.log"), "w")
        self.chancery = subprocess.Popen(
            [self.options.chancery, "serve", "--config", self.config, "--certs", self.certs.directory,
             "--xds", f"127.0.0.1:{self.xds_port}", "--admin", f"127.0.0.1:{self.admin_port}"],
            stdout=log, stderr=subprocess.STDOUT)
        harness.wait_until(lambda: get(self.admin("/readyz"))[0] == 200, timeout=30, what="chancery ready")
        self.lifetimes.append({"start": round(self.now(), 1), "pid": self.chancery.pid, "warm_rss_kib": None,
                               "last_rss_kib": None, "fds_with_fleet": None})

    def sample(self):
        rss, fds = process_sample(self.chancery.pid)
        self.samples.append((round(self.now(), 1), self.chancery.pid, rss, fds))
        life = self.lifetimes[-1]
        if life["warm_rss_kib"] is None and self.now() - life["start"] >= self.options.warmup:
            life["warm_rss_kib"] = rss
        life["last_rss_kib"] = rss
        _, headers, _ = get(self.admin("/clients?status=nacked&limit=1"))
        self.nacks_seen = max(self.nacks_seen, int(headers.get("x-total-count", "0")))

    def change(self):
        self.step += 1
        if self.step % 5 == 0:
            self.certs.rotate()
        else:
            write_atomically(self.config, self.routes())

    def envoy_synced(self, envoy):
        """The Envoy's stream is known to Chancery and everything sent to it is ACKed (`/clients` filters)."""
        def count(query):
            return int(get(self.admin(f"/clients?node=soak-envoy{query}&limit=1"))[1].get("x-total-count", "0"))
        total = count("")
        return total > 0 and count("&status=synced") == total

    def envoy_state(self, envoy):
        dump = envoy.config_dump()
        versions = []
        for config in dump["configs"]:
            for key in ("dynamic_listeners", "dynamic_active_clusters", "dynamic_active_secrets"):
                for item in config.get(key, []):
                    name = item.get("name") or item.get("cluster", {}).get("name")
                    active = item.get("active_state", item)
                    versions.append((key, name, active.get("version_info")))
        stats = envoy.stats()
        counters = {name: stats.get(name, 0) for name in (
            "listener_manager.listener_modified", "listener_manager.listener_added",
            "listener_manager.listener_removed", "cluster_manager.cluster_modified",
            "cluster_manager.cluster_added", "cluster_manager.cluster_removed",
            "listener_manager.lds.update_rejected", "cluster_manager.cds.update_rejected")}
        return sorted(versions), counters

    def restart(self, envoy, fleet):
        """kill -9 and start again, with the changes paused: the Envoy must apply nothing."""
        harness.wait_until(lambda: self.envoy_synced(envoy), timeout=60, what="envoy synced before the kill")
        before = self.envoy_state(envoy)
        os.kill(self.chancery.pid, signal.SIGKILL)
        self.chancery.wait(timeout=10)
        self.start_chancery()
        harness.wait_until(lambda: envoy.stats().get("control_plane.connected_state") == 1
                           and self.envoy_synced(envoy), timeout=120, what="envoy back and synced")
        harness.wait_until(lambda: converged(fleet.last, self.options.proxies), timeout=180,
                           what="fleet back and converged")
        time.sleep(2)  # anything Envoy would apply has arrived by now
        after = self.envoy_state(envoy)
        self.lifetimes[-1]["fds_with_fleet"] = process_sample(self.chancery.pid)[1]
        self.restarts.append({"at": round(self.now(), 1), "versions_same": before[0] == after[0],
                              "counters_before": before[1], "counters_after": after[1]})

    def run(self):
        options = self.options
        self.start_chancery()
        envoy = harness.Envoy(type("C", (), {"xds_port": self.xds_port})(), node="soak-envoy")
        fleet = Fleet(options.bench, self.xds_port, options.proxies, options.duration + 600)
        try:
            harness.wait_until(lambda: converged(fleet.last, options.proxies), timeout=300, what="fleet connected")
            self.lifetimes[-1]["fds_with_fleet"] = process_sample(self.chancery.pid)[1]
            next_change = next_sample = self.now()
            next_restart = self.now() + options.restart_every
            end = options.duration
            while self.now() < end:
                if self.chancery.poll() is not None:
                    raise AssertionError(f"chancery exited with {self.chancery.returncode}")
                if self.now() >= next_restart and self.now() + 60 < end:
                    self.restart(envoy, fleet)
                    next_restart = self.now() + options.restart_every
                if self.now() >= next_change:
                    self.change()
                    next_change += options.change_every
                if self.now() >= next_sample:
                    self.sample()
                    next_sample += 5
                    print(f"[{self.now():7.1f}s] pid {self.samples[-1][1]} rss {self.samples[-1][2]} KiB "
                          f"fds {self.samples[-1][3]} fleet {fleet.last and fleet.last['connected']} "
                          f"changes {self.step} restarts {len(self.restarts)}", flush=True)
                time.sleep(0.05)
            return self.finish(envoy, fleet)
        finally:
            fleet.stop()
            envoy.stop()
            if self.chancery.poll() is None:
                self.chancery.terminate()
                self.chancery.wait(timeout=10)

    def finish(self, envoy, fleet):
        """The last change has settled: every proxy on one version, equal to what a fresh probe gets."""
        options = self.options
        harness.wait_until(lambda: converged(fleet.last, options.proxies), timeout=120, what="fleet final")
        harness.wait_until(lambda: self.envoy_synced(envoy), timeout=60, what="envoy final")
        probe = Fleet(options.bench, self.xds_port, 2, 12, prefix="probe")
        harness.wait_until(lambda: converged(probe.last, 2), timeout=60, what="probe")
        probe_versions = {key: next(iter(counts)) for key, counts in probe.last["versions"].items()}
        probe.stop()
        fleet_versions = {key: next(iter(counts)) for key, counts in fleet.last["versions"].items()}
        stats = envoy.stats()
        result = {
            "options": vars(options), "changes": self.step, "samples": self.samples, "lifetimes": self.lifetimes,
            "restarts": self.restarts, "nacked_streams_max": self.nacks_seen,
            "envoy_rejected": stats.get("listener_manager.lds.update_rejected", 0)
            + stats.get("cluster_manager.cds.update_rejected", 0),
            "fleet_final": fleet.last, "probe_versions": probe_versions,
            "fleet_on_final_versions": fleet_versions == probe_versions,
        }
        result["checks"] = checks(result)
        return result


def checks(result):
    out = {}
    growth = [round(100.0 * (life["last_rss_kib"] - life["warm_rss_kib"]) / life["warm_rss_kib"], 1)
              for life in result["lifetimes"] if life["warm_rss_kib"]]
    out["rss_growth_percent_per_lifetime"] = growth
    out["rss_growth_ok"] = bool(growth) and max(growth) <= 5.0
    fds = [life["fds_with_fleet"] for life in result["lifetimes"] if life["fds_with_fleet"] is not None]
    out["fds_with_fleet_per_lifetime"] = fds
    out["fds_back_to_baseline"] = bool(fds) and max(fds) - min(fds) <= 4
    out["fleet_on_final_versions"] = result["fleet_on_final_versions"]
    out["zero_nacks"] = result["nacked_streams_max"] == 0 and result["envoy_rejected"] == 0
    out["envoy_unchanged_across_restarts"] = all(
        r["versions_same"] and all(r["counters_before"][k] == r["counters_after"][k]
                                   for k in r["counters_before"] if "rejected" not in k)
        for r in result["restarts"])
    out["ok"] = all(value for key, value in out.items() if isinstance(value, bool))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=3600)
    parser.add_argument("--proxies", type=int, default=1000)
    parser.add_argument("--change-every", type=float, default=1.0)
    parser.add_argument("--restart-every", type=float, default=600)
    parser.add_argument("--clusters", type=int, default=10)
    parser.add_argument("--warmup", type=float, default=120, help="seconds after each start before RSS counts")
    parser.add_argument("--chancery", default=os.path.join(ROOT, ".build", "release", "chancery"))
    parser.add_argument("--bench", default=os.path.join(ROOT, ".build", "release", "ChanceryBench"))
    parser.add_argument("--json", help="write the whole result (samples included) here")
    options = parser.parse_args()
    os.environ["CHANCERY_BIN"] = options.chancery
    result = Soak(options).run()
    if options.json:
        with open(options.json, "w") as handle:
            json.dump(result, handle, indent=1)
    print(json.dumps({"changes": result["changes"], "restarts": len(result["restarts"]),
                      "lifetimes": result["lifetimes"], "checks": result["checks"]}, indent=1))
    return 0 if result["checks"]["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
