"""Benchmark (not a test): time from saving the routes file to the real Envoy serving the change.

    .venv/bin/python Tests/e2e/bench_reload.py [rounds]

Each round renames a new routes file over the old one (as editors do) with one more domain on the `dl` host, then
polls Envoy with that Host header until it routes it. Reports the median and worst of the rounds.
"""
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import FIXTURES, Backend, Chancery, Envoy, wait_until  # noqa: E402
from test_example_site import BACKENDS, https_get  # noqa: E402


def main(rounds):
    site = os.path.join(FIXTURES, "example-site")
    work = tempfile.mkdtemp(prefix="bench-reload-")
    shutil.copytree(os.path.join(site, "certs"), os.path.join(work, "certs"))
    routes = os.path.join(work, "routes.yaml")
    with open(os.path.join(site, "routes.yaml")) as f:
        original = f.read()
    with open(routes, "w") as f:
        f.write(original)
    backends = [Backend(name, port) for name, port in BACKENDS.items()]
    chancery = Chancery(routes, os.path.join(work, "certs"))
    envoy = Envoy(chancery, node="bench")
    try:
        wait_until(lambda: https_get("www.example.test")[0] == 200, timeout=30, what="envoy serving")
        times = []
        for round_ in range(1, rounds + 1):
            domain = f"r{round_}.example.test"
            text = original.replace("domains: [dl.example.test]", f"domains: [dl.example.test, {domain}]")
            with open(routes + ".tmp", "w") as f:
                f.write(text)
            start = time.monotonic()
            os.rename(routes + ".tmp", routes)
            while https_get(domain)[0] != 200:
                if time.monotonic() - start > 10:
                    raise SystemExit(f"round {round_}: envoy did not pick up the change within 10 s")
                time.sleep(0.005)
            times.append((time.monotonic() - start) * 1000)
        print(f"reload: file saved -> Envoy routes the new host: median {statistics.median(times):.0f} ms, "
              f"max {max(times):.0f} ms over {rounds} rounds (includes the 100 ms debounce)")
    finally:
        envoy.stop()
        chancery.stop()
        for backend in backends:
            backend.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
