"""Issue 12, items 2 and 3: `/metrics` rendered by swift-prometheus and `serve --log-format json`, followed through a
real Envoy's connect, ACKs, a NACK and its disconnect; the Grafana dashboard names only metrics a real scrape has."""
import json
import os
import re
import shutil
import socket
import tempfile

from harness import FIXTURES, ROOT, Chancery, Envoy, free_port, get_json, http_get, wait_until

SITE = os.path.join(FIXTURES, "example-site")
DASHBOARD = os.path.join(ROOT, "deploy", "grafana", "chancery.json")

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
SAMPLE = re.compile(rf"^({NAME})(?:\{{(.*)\}})? (\S+)$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')
COMMENT = re.compile(rf"^# (?:HELP ({NAME}) .*|TYPE ({NAME}) (counter|gauge|histogram|summary|untyped))$")


def parse_metrics(text):
    """The Prometheus text format, strictly: every line a HELP/TYPE comment or a sample of a declared family."""
    types, samples = {}, []
    assert text.endswith("\n"), "the exposition ends with a newline"
    for line in text.splitlines():
        if line.startswith("#"):
            match = COMMENT.match(line)
            assert match, f"bad comment line: {line!r}"
            if match.group(2):
                assert match.group(2) not in types, f"family declared twice: {line!r}"
                types[match.group(2)] = match.group(3)
            continue
        match = SAMPLE.match(line)
        assert match, f"bad sample line: {line!r}"
        name, label_text, value = match.groups()
        labels = {}
        if label_text:
            rest = label_text
            while rest:
                label = LABEL.match(rest)
                assert label, f"bad labels in {line!r}"
                labels[label.group(1)] = label.group(2).replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")
                rest = rest[label.end():]
                assert rest == "" or rest.startswith(","), f"bad labels in {line!r}"
                rest = rest[1:]
        family = re.sub(r"_(bucket|sum|count)$", "", name) if name not in types else name
        assert family in types, f"sample without a TYPE line: {line!r}"
        samples.append((name, labels, float(value)))
    return types, samples


def value(samples, metric, **labels):
    found = [v for n, l, v in samples if n == metric and all(l.get(k) == w for k, w in labels.items())]
    return sum(found) if found else None


def scrape(chancery):
    status, body = http_get(chancery.admin("/metrics"))
    assert status == 200
    return parse_metrics(body)


def log_lines(chancery):
    """Every line Chancery wrote (stdout and stderr share the harness's file), each parsed as one JSON object."""
    lines = []
    for line in chancery.output().splitlines():
        try:
            lines.append(json.loads(line))
        except json.JSONDecodeError as error:
            raise AssertionError(f"not a JSON log line: {line!r} ({error})")
        assert isinstance(lines[-1], dict), line
    return lines


def acked(chancery, node, kind="listener"):
    found = [c for c in get_json(chancery.admin("/clients")) if c["node_id"] == node]
    return found and found[0]["types"].get(kind, {}).get("acked_version")


def test_metrics_and_json_logs_follow_a_real_envoy():
    work = tempfile.mkdtemp(prefix="chancery-metrics-")
    shutil.copytree(os.path.join(SITE, "certs"), os.path.join(work, "certs"))
    with open(os.path.join(SITE, "routes.yaml")) as f:
        text = re.sub(r"(?m)^(\s+)port: \d+", lambda m: f"{m.group(1)}port: {free_port()}", f.read())
    ssh_port = int(re.search(r"name: ssh\n\s+address: \S+\n\s+port: (\d+)", text).group(1))
    routes = os.path.join(work, "routes.yaml")

    def save(content):
        with open(routes + ".tmp", "w") as f:
            f.write(content)
        os.rename(routes + ".tmp", routes)

    save(text)
    # A port another socket holds: Envoy cannot bind it and NACKs the listener update that names it.
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    taken = blocker.getsockname()[1]
    chancery = Chancery(routes, os.path.join(work, "certs"), extra=("--log-format", "json"))
    envoy = None
    try:
        envoy = Envoy(chancery, node="metrics-envoy")
        wait_until(lambda: acked(chancery, "metrics-envoy"), timeout=30, what="the envoy ACKed its listeners")

        def converged():
            _, samples = scrape(chancery)
            return all(value(samples, "chancery_xds_acks_total", type=t, group="default")
                       for t in ("cluster", "endpoint", "listener", "route", "secret")) and samples
        samples = wait_until(converged, timeout=20, what="ACK counters for every type")
        assert value(samples, "chancery_streams", group="default", kind="ads") == 1
        assert value(samples, "chancery_xds_connections") == 1
        for kind in ("cluster", "listener"):
            assert value(samples, "chancery_xds_pushes_total", type=kind, group="default") >= 1
            assert value(samples, "chancery_xds_ack_seconds_count", type=kind) >= 1
            assert value(samples, "chancery_xds_ack_seconds_bucket", type=kind, le="+Inf") >= 1
        assert value(samples, "chancery_xds_nacks_total", group="default") in (None, 0)
        assert value(samples, "chancery_reloads_total") >= 1
        assert value(samples, "chancery_reload_errors_total") == 0
        assert value(samples, "chancery_snapshot_build_seconds_count") >= 1
        assert value(samples, "chancery_config_ok") == 1
        assert value(samples, "chancery_certificate_not_after_seconds", name="example.test") > 1.7e9

        # The dashboard queries only metrics this scrape has.
        with open(DASHBOARD) as f:
            dashboard = json.load(f)
        queried = {name for panel in dashboard["panels"] for target in panel["targets"]
                   for name in re.findall(r"\bchancery_[a-z_]+", target["expr"])}
        scraped = {name for name, _, _ in samples}
        assert queried and queried <= scraped, f"dashboard metrics missing from /metrics: {queried - scraped}"

        # A NACK shows up in both the counters and the log.
        save(text.replace(f"port: {ssh_port}", f"port: {taken}"))
        wait_until(lambda: value(scrape(chancery)[1], "chancery_xds_nacks_total", type="listener", group="default"),
                   timeout=30, what="the NACK counted")

        lines = wait_until(lambda: (lambda ls: ls if any(l.get("message") == "proxy rejected an update" for l in ls)
                                    else None)(log_lines(chancery)), timeout=10, what="the NACK logged")
        for line in lines:
            assert {"time", "level", "message"} <= line.keys(), line
        connect = [l for l in lines if l["message"] == "stream opened" and l.get("node") == "metrics-envoy"]
        assert connect and connect[0]["group"] == "default" and connect[0]["kind"] == "ads", connect
        nack = [l for l in lines if l["message"] == "proxy rejected an update"][0]
        assert nack["node"] == "metrics-envoy" and nack["group"] == "default" and nack["type"] == "listener", nack
        assert str(taken) in nack["reason"] and nack["version"], nack
        assert any(l["message"] == "published snapshot" and l.get("version") for l in lines)
        assert any(l["message"] == "certificate changed" and l.get("name") == "example.test" for l in lines)
        assert "PRIVATE KEY" not in chancery.output()

        # The proxy leaves: a disconnect line, and the connected-proxy gauge goes.
        envoy.stop()
        envoy = None
        wait_until(lambda: any(l["message"] == "stream closed" and l.get("node") == "metrics-envoy"
                               and l.get("group") == "default" for l in log_lines(chancery)),
                   timeout=20, what="the disconnect logged")
        wait_until(lambda: not value(scrape(chancery)[1], "chancery_streams", group="default"),
                   timeout=20, what="no connected proxy on /metrics")
    finally:
        if envoy:
            envoy.stop()
        chancery.stop()
        blocker.close()
        shutil.rmtree(work, ignore_errors=True)
