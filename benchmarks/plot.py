#!/usr/bin/env python3
"""Plots the load tool's JSON: endpoint-change latency (p50, p99) and server RSS per proxy against proxy count.

    .venv/bin/python benchmarks/plot.py results.json [more.json ...] --out docs/benchmarks.png

Needs matplotlib (an optional extra: `.venv/bin/pip install matplotlib`). Several JSON files (e.g. one run per proxy
count) are merged; one line per server and stream kind. `--table` prints the Markdown table of docs/BENCHMARKS.md
instead (no matplotlib needed).
"""

import argparse
import json
from collections import defaultdict


def load(paths):
    runs = []
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            runs += [run for run in json.load(handle)["runs"] if not run.get("error")]
    return runs


def series(runs, value):
    lines = defaultdict(dict)
    for run in runs:
        label = run["server"] if run["server"] == "raw" else f'{run["server"]} ({run["mode"]})'
        figure = value(run)
        if figure is not None:
            lines[label][run["proxies"]] = figure
    return {label: sorted(points.items()) for label, points in sorted(lines.items())}


COLOURS = {}


def colour(label):
    """One colour per server and stream kind, the same in both panels (p50 dashed, p99 solid)."""
    return COLOURS.setdefault(label, f"C{len(COLOURS)}")


def scenario(run, name):
    return next((s for s in run["scenarios"] if s["name"] == name), None)


def ratio(value, base):
    return f"{value / base:.2f}" if base else "-"


def idle_cpu(run):
    value = run.get("idleCpuSecondsPerSecond")
    return "-" if value is None else f"{value:.3f}"


def table(runs):
    """One row per proxy count, stream kind and scenario; Chancery, reference and raw side by side."""
    index = {(r["server"], r["mode"], r["proxies"]): r for r in runs}
    print(
        "| proxies | mode | scenario | Chancery p50 / p99 ms | reference p50 / p99 ms | raw p50 / p99 ms "
        "| Chancery CPU µs/proxy | reference | raw | CPU ×ref | CPU ×raw | p99 ×raw |"
    )
    print("|" + "---|" * 12)
    for (server, mode, proxies), run in sorted(index.items(), key=lambda item: (item[0][2], item[0][1])):
        if server != "chancery":
            continue
        reference = index.get(("reference", mode, proxies))
        raw = index.get(("raw", "raw", proxies))
        for own in run["scenarios"]:
            ref = scenario(reference, own["name"]) if reference else None
            base = scenario(raw, own["name"]) if raw else None

            def cell(found):
                return f'{found["p50Ms"]:.0f} / {found["p99Ms"]:.0f}' if found else "-"

            def cpu(found):
                return f'{found["cpuMicrosPerProxy"]:.1f}' if found else "-"

            print(
                f'| {proxies} | {mode} | {own["name"]} | {cell(own)} | {cell(ref)} | {cell(base)} | {cpu(own)} '
                f"| {cpu(ref)} | {cpu(base)} "
                f'| {ratio(own["cpuSeconds"], ref["cpuSeconds"]) if ref else "-"} '
                f'| {ratio(own["cpuSeconds"], base["cpuSeconds"]) if base else "-"} '
                f'| {ratio(own["p99Ms"], base["p99Ms"]) if base else "-"} |'
            )
    print()
    print(
        "| proxies | server | mode | RSS before KiB | RSS connected KiB | RSS KiB/proxy | connect total ms "
        "| idle CPU s/s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for run in sorted(runs, key=lambda r: (r["proxies"], r["server"], r["mode"])):
        print(
            f'| {run["proxies"]} | {run["server"]} | {run["mode"]} | {run["rssBeforeKiB"]} | {run["rssConnectedKiB"]} '
            f'| {run["rssPerProxyKiB"]:.1f} | {run["connectTotalMs"]:.0f} '
            f'| {idle_cpu(run)} |'
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("json", nargs="+")
    parser.add_argument("--out", default="benchmarks.png")
    parser.add_argument("--table", action="store_true", help="print the Markdown tables instead of plotting")
    parser.add_argument(
        "--nghttp2-floor",
        type=float,
        help="KiB one libnghttp2 session holds on its own (benchmarks/nghttp2_session_rss.c), drawn as a line",
    )
    args = parser.parse_args()
    runs = load(args.json)
    if args.table:
        table(runs)
        return

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (latency, memory) = plt.subplots(1, 2, figsize=(13, 5))
    for percentile, style in (("p50Ms", "--"), ("p99Ms", "-")):
        def pick(run, key=percentile):
            found = scenario(run, "endpoint-change")
            return found[key] if found else None

        for label, points in series(runs, pick).items():
            xs, ys = zip(*points)
            latency.plot(xs, ys, style, marker="o", color=colour(label), label=f"{label} {percentile[:3]}")
    latency.set_title("Endpoint change: save → ACKed by every proxy")
    latency.set_xlabel("proxies")
    latency.set_ylabel("ms")
    latency.set_yscale("log")
    latency.grid(True, which="both", alpha=0.3)
    latency.legend(fontsize=7)

    for label, points in series(runs, lambda run: run["rssPerProxyKiB"]).items():
        xs, ys = zip(*points)
        memory.plot(xs, ys, marker="o", color=colour(label), label=label)
    memory.axhline(16, color="grey", linestyle=":", label="target 16 KiB")
    if args.nghttp2_floor:
        memory.axhline(
            args.nghttp2_floor, color="black", linestyle="--", label=f"libnghttp2 session alone ({args.nghttp2_floor} KiB)"
        )
    memory.set_title("Server RSS per connected idle proxy")
    memory.set_xlabel("proxies")
    memory.set_ylabel("KiB")
    memory.grid(True, alpha=0.3)
    memory.legend(fontsize=7, loc="center right")

    figure.tight_layout()
    figure.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
