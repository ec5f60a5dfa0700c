"""Random routes files, deterministic per seed, covering every key of the routes-file schema.

Most files are valid by construction. A few carry on purpose one of the shapes Envoy refuses and Chancery's
validator must refuse first (a catch-all or suffix-wildcard domain on a host with its own certificate, one server
name for two certificates): `Case.expect_refusal` says so, and the check asserts the refusal carries file:line:col.

Used by test_generated_configs.py and by `python Tests/generated/check_generated.py --count N` (the long mode).
"""
import random
from dataclasses import dataclass, field

CERTIFICATES = ["example.test", "other.test", "third.test"]
DURATIONS = ["0s", "250ms", "1s", "2s", "30s", "1m", "1m30s", "1h", "90s"]
REDIRECT_STATUSES = [301, 302, 303, 307, 308]
DNS_FAMILIES = ["v4_preferred", "v4_only", "v6_only", "auto", "all"]
ACME = "/.well-known/acme-challenge/"
RETRY_ON = ["5xx", "gateway-error", "reset", "connect-failure", "retriable-4xx", "refused-stream", "unavailable"]
LB_POLICIES = ["round_robin", "least_request", "random", "ring_hash", "maglev"]
REGEXES = [r"^/api/v[0-9]+/.*$", r"^/(?i:static)/.+\.(css|js)$", r"^/users/(?P<id>[0-9]+)$", r"/x{2,3}y*?", r"^/\d+$"]
TEMPLATES = ["/users/{id}", "/files/{owner}/{path=**}", "/a/*/b", "/v1/{name=*}/items"]


@dataclass
class Case:
    seed: int
    text: str
    groups: list
    expect_refusal: list = field(default_factory=list)  # why this file must be refused, if it must


class Writer:
    """A tiny YAML emitter: flow style for scalars and short lists, block style for structure."""

    def __init__(self):
        self.lines = []

    def line(self, indent, text):
        self.lines.append("  " * indent + text)

    def text(self):
        return "\n".join(self.lines) + "\n"


def scalar(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if text == "" or any(c in text for c in "*:[]{},#&!|>'\"%@`") or text in ("true", "false", "null", "~"):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def flow(items):
    return "[" + ", ".join(scalar(i) for i in items) + "]"


class Generator:
    def __init__(self, seed):
        self.seed = seed
        self.r = random.Random(seed)
        self.out = Writer()
        self.refusals = []
        self.grpc_clusters = set()  # clusters a grpc_json route uses: they must speak HTTP/2
        self.port = 10000 + self.r.randrange(0, 20000)

    def chance(self, p):
        return self.r.random() < p

    def next_port(self):
        self.port += 1
        return self.port

    # -- top level -------------------------------------------------------------------------------------------

    def generate(self):
        r = self.r
        declared = None
        grpc_group = None
        if self.chance(0.45):
            declared = r.sample(["default", "edge", "ingress", "web", "internal"], r.randint(1, 3))
            if self.chance(0.35):
                grpc_group = "grpc"
                declared.append(grpc_group)
            if self.chance(0.3):
                # The mapping form: identities matter only over mTLS, so Envoy never sees them.
                self.out.line(0, "groups:")
                patterns = ["*", "spiffe://example.org/edge", "spiffe://example.org/ns/*", "edge-*.example.org",
                            "proxy.example.org"]
                for group in declared:
                    if self.chance(0.5):
                        chosen = r.sample(patterns, r.randint(1, 2))
                        self.out.line(1, f"- {{name: {scalar(group)}, identities: {flow(chosen)}}}")
                    else:
                        self.out.line(1, f"- {scalar(group)}")
            else:
                self.out.line(0, f"groups: {flow(declared)}")
        proxy_groups = [g for g in (declared or ["default"]) if g != grpc_group]

        self.clusters = [f"c{i}" for i in range(r.randint(1, 6))]
        listener_count = r.randint(0 if grpc_group else 1, 4)
        if listener_count:
            self.out.line(0, "listeners:")
        for index in range(listener_count):
            self.listener(index, declared, proxy_groups)
        self.out.line(0, "clusters:")
        for name in self.clusters:
            self.cluster(name)
        if grpc_group:
            self.out.line(0, "grpc_services:")
            for index in range(r.randint(1, 2)):
                self.out.line(1, f"- name: svc{index}")
                self.out.line(2, f"groups: [{grpc_group}]")
                self.out.line(2, f"cluster: {r.choice(self.clusters)}")
                if self.chance(0.5):
                    self.out.line(2, f"timeout: {r.choice(DURATIONS[1:])}")
        return Case(self.seed, self.out.text(), declared or ["default"], self.refusals)

    # -- clusters --------------------------------------------------------------------------------------------

    def endpoint(self):
        r = self.r
        port = r.randint(1, 65535)
        kind = r.random()
        if kind < 0.4:
            return f"10.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}:{port}"
        if kind < 0.55:
            return f"[fd00::{r.randint(1, 0xffff):x}]:{port}"
        if kind < 0.7:
            return f"localhost:{port}"
        if kind < 0.8:
            return f"127.0.0.1:{port}"
        return f"svc-{r.randint(0, 9)}.internal:{port}"

    def cluster(self, name):
        r = self.r
        o = self.out
        o.line(1, f"- name: {name}")
        endpoints = [self.endpoint() for _ in range(r.randint(1, 3))]
        if self.chance(0.2):
            weighted = [f"{{ address: {scalar(e)}, weight: {r.randint(1, 100)} }}" if self.chance(0.5) else scalar(e)
                        for e in endpoints]
            o.line(2, "endpoints: [" + ", ".join(weighted) + "]")
        else:
            o.line(2, f"endpoints: {flow(endpoints)}")
        if self.chance(0.3):
            o.line(2, f"connect_timeout: {r.choice(DURATIONS[1:])}")
        self.cluster_options()
        if self.chance(0.15):
            parts = [f"ca: {r.choice(CERTIFICATES)}"]
            if self.chance(0.5):
                parts.append(f"certificate: {r.choice(CERTIFICATES)}")
            if self.chance(0.5):
                parts.append(f"sni: {r.choice(['nas.lan', 'backend.internal', 'example.test'])}")
            o.line(2, "tls: { " + ", ".join(parts) + " }")
        elif self.chance(0.25):
            o.line(2, f"proxy_protocol: {r.choice(['v1', 'v2'])}")
        if name in self.grpc_clusters:
            o.line(2, "http2: true")
        elif self.chance(0.3):
            o.line(2, f"http2: {scalar(r.choice([True, False]))}")
        if self.chance(0.3):
            o.line(2, f"dns_lookup_family: {r.choice(DNS_FAMILIES)}")

    def cluster_options(self):
        r = self.r
        o = self.out
        if self.chance(0.25):
            o.line(2, f"lb_policy: {r.choice(LB_POLICIES)}")
        if self.chance(0.25):
            if self.chance(0.6):
                parts = [f"path: {r.choice(['/healthz', '/', '/status'])}"]
                if self.chance(0.4):
                    parts.append(f"statuses: [200, {scalar(r.choice(['200-299', '300-399', '204']))}]")
                if self.chance(0.3):
                    parts.append("host: health.internal")
            else:
                parts = ["tcp: true"]
            if self.chance(0.5):
                parts.append(f"interval: {r.choice(['1s', '5s', '30s'])}")
            if self.chance(0.5):
                parts.append(f"timeout: {r.choice(['250ms', '1s', '2s'])}")
            if self.chance(0.4):
                parts.append(f"healthy_threshold: {r.randint(1, 5)}")
                parts.append(f"unhealthy_threshold: {r.randint(1, 5)}")
            o.line(2, "health_check: { " + ", ".join(parts) + " }")
        if self.chance(0.2):
            if self.chance(0.3):
                o.line(2, "outlier_detection: true")
            else:
                o.line(2, f"outlier_detection: {{ consecutive_5xx: {r.randint(1, 20)}, interval: 10s, "
                          f"base_ejection_time: 30s, max_ejection_percent: {r.randint(1, 100)} }}")
        if self.chance(0.2):
            keys = r.sample(["max_connections", "max_pending_requests", "max_requests", "max_retries"], r.randint(1, 4))
            o.line(2, "circuit_breakers: { " + ", ".join(f"{k}: {r.randint(0 if k == 'max_retries' else 1, 5000)}"
                                                          for k in keys) + " }")

    # -- listeners -------------------------------------------------------------------------------------------

    def listener(self, index, declared, proxy_groups):
        r = self.r
        o = self.out
        self.catch_all_taken = False
        self.http3 = False  # a host asking for client certificates then makes the file one Chancery refuses
        # One server name written three ways: hosts that share it must not select different certificates.
        self.shared_variants = ["shared.example.test", "shared.example.test:8443", "Shared.example.test:443"]
        self.shared_certificate = {}
        o.line(1, f"- name: l{index}")
        if declared and self.chance(0.6):
            o.line(2, f"groups: {flow(r.sample(proxy_groups, r.randint(1, len(proxy_groups))))}")
        elif declared and len(proxy_groups) < len(declared):
            o.line(2, f"groups: {flow(proxy_groups)}")  # keep listeners out of the gRPC clients' group
        if self.chance(0.4):
            o.line(2, f"address: {scalar(r.choice(['0.0.0.0', '127.0.0.1', '::', '::1', '[::]']))}")
        o.line(2, f"port: {self.next_port()}")
        if self.chance(0.07):  # UDP: no PROXY header, access log or HTTP keys
            o.line(2, f"udp: {{ cluster: {r.choice(self.clusters)}"
                      + (f", idle_timeout: {r.choice(DURATIONS[1:])}" if self.chance(0.5) else "")
                      + (f", max_datagram_size: {r.choice([512, 1500, 9000, 65535])}" if self.chance(0.5) else "") + " }")
            return
        if self.chance(0.2):
            o.line(2, f"accept_proxy_protocol: {scalar(r.choice([True, False]))}")
        if self.chance(0.3):
            o.line(2, "access_log: " + r.choice(["false", "true", f"{{ path: /tmp/chancery-generated-{index}.log }}"]))
        if self.chance(0.2):
            o.line(2, "tcp:")
            o.line(3, f"cluster: {r.choice(self.clusters)}")
            if self.chance(0.5):
                o.line(3, f"idle_timeout: {r.choice(DURATIONS)}")
            return
        if self.chance(0.05):
            self.passthrough(index)  # a listener that only forwards TLS by server name
            return
        redirect = self.chance(0.3)
        if redirect:
            o.line(2, "redirect_to_https: true")
            if self.chance(0.5):
                o.line(2, f"https_port: {r.choice([443, 8443, self.next_port()])}")
        tls = None
        if self.chance(0.2 if redirect else 0.5):
            tls = r.choice(CERTIFICATES)
            o.line(2, "tls:")
            o.line(3, f"certificate: {tls}")
            if self.chance(0.3):
                o.line(3, f"alpn: {flow(r.choice([['h2'], ['http/1.1'], ['h2', 'http/1.1']]))}")
            mtls = self.chance(0.3)
            if mtls:
                o.line(3, f"client_certificates: {r.choice(['required', 'optional'])}")
                if self.chance(0.5):
                    o.line(3, f"client_ca: {r.choice(CERTIFICATES)}")
            elif self.chance(0.25):
                o.line(2, "http3: true")
                self.http3 = True
            if self.chance(0.3):
                o.line(2, "hsts: " + r.choice(["false", "{ max_age: 30d }", "{ max_age: 365d, include_subdomains: true, preload: true }"]))
        if self.chance(0.2):
            o.line(2, f"trusted_proxies: {r.randint(0, 3)}")
        if self.chance(0.15):
            o.line(2, "compression: " + r.choice(["true", "false", "{ algorithms: [zstd, gzip], min_size: 0 }",
                                                  "{ algorithms: [brotli], content_types: [text/html, application/json] }"]))
        if tls and not redirect and self.chance(0.3):
            self.passthrough(index)
        if redirect and self.chance(0.5):
            return  # a bare redirect listener
        o.line(2, "hosts:")
        if redirect and self.chance(0.6):
            self.acme_host()
            if self.chance(0.5):
                return
        self.hosts(tls)

    def passthrough(self, index):
        """TLS forwarded by server name. The names never meet the hosts' pools (example.test, Other.test, the
        shared name), so no terminated name is taken; `*` hosts and `*.example.test`-style wildcards stay legal."""
        r = self.r
        self.out.line(2, "passthrough:")
        names = [f"git{index}.example.test", f"*.lab{index}.test", f"vpn{index}.lab.test", f"NAS{index}.home.test"]
        r.shuffle(names)
        for k in range(r.randint(1, 3)):
            entry = [f"server_names: {flow(names[k::3][:2])}", f"cluster: {r.choice(self.clusters)}"]
            if self.chance(0.3):
                entry.append(f"idle_timeout: {r.choice(DURATIONS[1:])}")
            self.out.line(3, "- { " + ", ".join(entry) + " }")

    def acme_host(self):
        """The HTTP-01 pattern: a catch-all host that serves the challenge path beside the https redirect."""
        o = self.out
        o.line(3, "- name: acme")
        o.line(4, 'domains: ["*"]')
        o.line(4, "routes:")
        o.line(5, f"- prefix: {ACME}")
        o.line(6, f"cluster: {self.r.choice(self.clusters)}")
        self.catch_all_taken = True

    def hosts(self, tls):
        r = self.r
        count = r.randint(1, 4)
        used_names = set()
        client_rules = {}  # hosts sharing an SNI certificate share one TLS chain: one client-certificate rule
        for h in range(count):
            certificate = None
            if tls and self.chance(0.4):
                certificate = r.choice(CERTIFICATES)
            sni = certificate is not None and certificate != tls
            domains = self.domains(h, sni, certificate if sni else tls)
            self.out.line(3, f"- domains: {flow(domains)}")
            name = domains[0]
            if self.chance(0.5) or name in used_names:
                name = f"h{h}" if self.chance(0.9) else "redirect_to_https"
            if name in used_names:
                name = f"host-{h}"
            used_names.add(name)
            if name != domains[0]:
                self.out.line(4, f"name: {scalar(name)}")
            if certificate:
                self.out.line(4, f"certificate: {certificate}")
            if self.chance(0.1):
                self.out.line(4, "basic_auth: { users: admins }")
            if self.chance(0.1):
                self.out.line(4, "cors: " + r.choice([
                    '{ origins: ["*"] }',
                    '{ origins: ["https://app.example.test", "https://*.example.org:8443"], methods: [GET, POST], '
                    'headers: [content-type], expose_headers: [x-request-id], credentials: true, max_age: 10m }']))
            if self.chance(0.1):
                self.out.line(4, f"rate_limit: {{ requests: {r.randint(1, 100)}, per: {r.choice(['1s', '10s', '1m'])} }}")
            if self.chance(0.15):
                self.header_edits(4)
            if sni:
                if certificate not in client_rules:
                    client_rules[certificate] = r.choice([None, None, "required", "optional"])
                if client_rules[certificate]:
                    self.out.line(4, f"client_certificates: {client_rules[certificate]}")
                    if self.http3:
                        self.refusals.append("http3 beside a host asking for client certificates")
            self.out.line(4, "routes:")
            earlier = []
            count = r.randint(1, 4)
            # Paths drawn without repeats and `/` only last keep most hosts free of dead routes; now and then a
            # host may draw freely, so that Chancery's refusal of a shadowed route is checked too.
            self.free_paths = self.chance(0.05)
            self.used_paths = set()
            for index in range(count):
                self.last_route = index == count - 1
                route = self.route()
                if route is None:
                    continue
                if any(shadows(first, route) for first in earlier):
                    self.refusals.append("a route shadowed by an earlier one")
                earlier.append(route)

    def domains(self, h, sni, certificate):
        """Domains unique within the listener: h is the host's index, so every host draws from its own names."""
        r = self.r
        pool = [f"h{h}.example.test", f"www{h}.example.test", f"*.w{h}.example.test", f"H{h}.Other.test",
                f"h{h}.example.test:8443"]
        risky = [f"p{h}.*", f"*-api{h}.example.test"]
        if not self.catch_all_taken:
            risky.append("*")
        chosen = r.sample(pool, r.randint(1, 3))
        if self.shared_variants and self.chance(0.2):
            chosen.append(self.shared_variants.pop(r.randrange(len(self.shared_variants))))
            # The default chain (no certificate of its own) takes names no SNI chain claims: never a clash.
            if certificate is not None and sni:
                others = {c for c in self.shared_certificate.values() if c is not None}
                if others - {certificate}:
                    self.refusals.append("one server name selects two certificates")
                self.shared_certificate[h] = certificate
        if self.chance(0.3 if sni else 0.15):
            extra = r.choice(risky)
            chosen.append(extra)
            if extra == "*":
                self.catch_all_taken = True
            if sni:
                self.refusals.append(f"domain {extra} on an SNI-selected host")
        return chosen

    def route(self):
        r = self.r
        o = self.out
        paths = ["/", "/api/", "/static", "/v1/items", ACME, "/ws", "/grpc.Service/"]
        if not self.free_paths:
            paths = [p for p in paths if p not in self.used_paths and (p != "/" or self.last_route)]
        path = r.choice(paths)
        self.used_paths.add(path)
        kind = r.random()
        template = False
        if kind < 0.1:
            match = ("regex", r.choice(REGEXES))
        elif kind < 0.17:
            match = ("path_template", r.choice(TEMPLATES))
            template = True
        else:
            match = ("prefix" if self.chance(0.7) else "path", path)
        o.line(5, f"- {match[0]}: {scalar(match[1])}")
        conditions = self.matches()
        if self.chance(0.1):
            self.header_edits(6)
        if self.chance(0.05):
            o.line(6, "compression: false")
        if self.chance(0.04):
            o.line(6, "basic_auth: " + r.choice(["false", "{ users: admins }"]))
        if self.chance(0.05):
            o.line(6, f"rate_limit: {{ requests: {r.randint(1, 1000)}, per: {r.choice(['50ms', '1s', '1m', '1h', '24h'])} }}")
        if self.chance(0.03):
            self.hazard()  # a valid route (a 4096-byte body) still shadows and can be shadowed
            return match + (conditions,)
        action = r.random()
        if action < 0.6:
            if self.chance(0.2) and len(self.clusters) > 1:
                names = r.sample(self.clusters, r.randint(2, min(3, len(self.clusters))))
                weights = [r.randint(1, 50) for _ in names[1:]]
                weights.insert(0, 100 - sum(weights))
                o.line(6, "clusters: [" + ", ".join(f"{{ name: {n}, weight: {w} }}" for n, w in zip(names, weights)) + "]")
            else:
                cluster = r.choice(self.clusters)
                o.line(6, f"cluster: {cluster}")
                if self.chance(0.04):
                    # gRPC-JSON needs an HTTP/2 cluster: cluster() will make this one so.
                    o.line(6, "grpc_json: { descriptors: greeter, services: [hello.Greeter] }")
                    self.grpc_clusters.add(cluster)
            if self.chance(0.2):
                o.line(6, f"retries: {{ on: {flow(r.sample(RETRY_ON, r.randint(1, 3)))}, count: {r.randint(1, 5)}"
                          + (", per_try_timeout: 2s }" if self.chance(0.5) else " }"))
            if self.chance(0.15):
                o.line(6, f"host_rewrite: {r.choice(['nas.lan', 'backend.internal:8443'])}")
            if self.chance(0.15):
                o.line(6, f"idle_timeout: {r.choice(DURATIONS)}")
            if self.chance(0.3):
                o.line(6, f"timeout: {r.choice(DURATIONS)}")
            if self.chance(0.25):
                o.line(6, f"websockets: {scalar(r.choice([True, False]))}")
            if self.chance(0.2) and not template:
                o.line(6, f"prefix_rewrite: {r.choice(['/', '/v2/', '/internal'])}")
        elif action < 0.85:
            parts = {}
            while not any(k in parts for k in ("https", "host", "port", "path")):
                if self.chance(0.4):
                    parts["https"] = True
                if self.chance(0.4):
                    parts["host"] = r.choice(["www.example.test", "other.test", "example.test"])
                if self.chance(0.3):
                    parts["port"] = r.choice([443, 8443, 8080])
                if self.chance(0.3):
                    parts["path"] = r.choice(["/", "/new", "/releases/latest"])
            if self.chance(0.7):
                parts["status"] = r.choice(REDIRECT_STATUSES)
            body = ", ".join(f"{k}: {scalar(v)}" for k, v in parts.items())
            o.line(6, f"redirect: {{ {body} }}")
        else:
            status = r.choice([200, 204, 301, 403, 404, 418, 429, 500, 503, 599])
            if self.chance(0.6):
                o.line(6, f"respond: {{ status: {status}, body: {scalar(r.choice(['ok', 'gone', 'no: not here']))} }}")
            else:
                o.line(6, f"respond: {{ status: {status} }}")
        return match + (conditions,)


    def matches(self):
        """Writes optional header and query conditions; returns them as a set, for `shadows`."""
        r = self.r
        o = self.out
        conditions = set()
        if self.chance(0.15):
            choices = [f'{{ name: x-canary, exact: "1" }}', "{ name: user-agent, prefix: curl, invert: true }",
                       f"{{ name: cookie, regex: {scalar('.*beta=1.*')} }}", "{ name: x-debug, present: false }",
                       "{ name: x-debug, present: true }"]
            chosen = r.sample(choices, r.randint(1, 2))
            o.line(6, "headers: [" + ", ".join(chosen) + "]")
            conditions.update("header " + c for c in chosen)
        if self.chance(0.1):
            choices = ["{ name: preview, present: true }", '{ name: v, exact: "2" }', "{ name: lang, prefix: en }",
                       f"{{ name: id, regex: {scalar('[0-9]+')} }}"]
            chosen = r.sample(choices, r.randint(1, 2))
            o.line(6, "query: [" + ", ".join(chosen) + "]")
            conditions.update("query " + c for c in chosen)
        return frozenset(conditions)

    def header_edits(self, indent):
        r = self.r
        side = r.choice(["request_headers", "response_headers"])
        parts = []
        if self.chance(0.6):
            parts.append(f"add: {{ x-from: edge, x-rate: {scalar('100%')} }}")
        if self.chance(0.5):
            parts.append("set: { x-frame-options: DENY }")
        if self.chance(0.5) or not parts:
            parts.append("remove: [x-debug, server]")
        self.out.line(indent, f"{side}: {{ " + ", ".join(parts) + " }")

    def hazard(self):
        """A route action at one of Envoy's limits: a body of 4096 bytes passes, one byte more or a line break
        where Envoy's header-value rule applies must be refused."""
        o = self.out
        kind = self.r.randrange(8)
        if kind == 0:
            o.line(6, f"respond: {{ status: 200, body: {'x' * 4096} }}")
        elif kind == 1:
            o.line(6, f"respond: {{ status: 200, body: {'y' * 4097} }}")
            self.refusals.append("respond body over 4096 bytes")
        elif kind == 2:
            o.line(6, r'redirect: { path: "/a\nb" }')
            self.refusals.append("line break in a redirect path")
        elif kind == 3:
            o.line(6, f"cluster: {self.r.choice(self.clusters)}")
            o.line(6, r'prefix_rewrite: "/a\r"')
            self.refusals.append("line break in prefix_rewrite")
        elif kind == 5:
            o.line(6, r'respond: { status: 200, body: "multi\nline" }')
        elif kind == 6:
            o.line(6, f"clusters: [{{ name: {self.clusters[0]}, weight: 90 }}]")
            self.refusals.append("weights that do not add up to 100")
        else:
            o.line(6, f"cluster: {self.clusters[0]}")
            o.line(6, "headers: [{ name: x-a, regex: " + scalar(self.r.choice(["(a", "a)", r"\q", "(?=a)", "a{2000}"])) + " }]")
            self.refusals.append("an invalid RE2 regex")


def shadows(first, second):
    """Whether route `first` (kind, value, conditions) takes every request `second` would: Chancery refuses the
    second as dead configuration. Written apart from Sources/Config/Shadowing.swift, so the two check each other."""
    (kind_a, value_a, conditions_a), (kind_b, value_b, conditions_b) = first, second
    if not conditions_a <= conditions_b:
        return False
    if kind_a == "prefix":
        if kind_b in ("prefix", "path"):
            return value_b.startswith(value_a)
        if kind_b == "path_template":
            literal = value_b.split("{")[0].split("*")[0]
            return literal.startswith(value_a)
        return value_a == "/"  # a regex: every path starts with /
    return kind_a == kind_b and value_a == value_b


def generate(seed):
    return Generator(seed).generate()


if __name__ == "__main__":
    import sys
    print(generate(int(sys.argv[1]) if len(sys.argv) > 1 else 0).text)
