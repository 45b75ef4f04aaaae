"""Measure one generated database: every page in-process, then over HTTP.

    .venv/bin/python -m bench.measure --size 10000 \\
        --database-url postgres://postgres@127.0.0.1:5432/intercession_bench_10000 --json out.json

Run by `bench.run` once per size, each in its own process (Django is set up
once per process, against one database). Writes its figures as JSON.

In-process: the Django test client, warm (`--warmup` runs first), the median
of `--runs` timed runs of each page; the number of queries is counted with
CaptureQueriesContext on one more run, so counting never slows the timed
ones.

Over HTTP: gunicorn serves bench.settings on a free loopback port, and wrk
(Debian's, installed with apt-get if missing) requests each page for
`--http-seconds` seconds at each of `--connections`, with the session cookie
of the right persona. The writes are sent by a small Lua script with a CSRF
cookie and its token, and a fresh submission key for every prayer.
"""

import argparse
import json
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

from bench.report import PAGES

MAX_DEEP_FOLLOWS = 400
WRK_THREADS = 2
# GET pages and the persona that opens them; POSTs are built in _targets.
ANONYMOUS, REQUESTER, LEADER, INTERCESSOR = "anonymous", "requester", "leader", "intercessor"
# The leaders' text search. It finds whole words only (the blind index of
# the encrypted text), so this is a word of the generated data: a title of
# bench.generate.TITLES and one of its SENTENCES (tests/test_bench.py checks).
SEARCH_QUERY = "surgery"


class _NextLinks(HTMLParser):
    """The "next page" links of a page: rel="next", or a link whose text
    says Next (the app's pagination, page numbers or keyset cursors alike)."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag != "a":
            return
        attributes = dict(attrs)
        if "next" in (attributes.get("rel") or "").split() and attributes.get("href"):
            self.found.insert(0, attributes["href"])
        self._href, self._text = attributes.get("href"), []

    def handle_data(self, data):
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "a" and self._href is not None:
            if re.match(r"\s*(next|older|more)\b", "".join(self._text), re.IGNORECASE):
                self.found.append(self._href)
            self._href = None


def next_link(html: str, current_url: str) -> str | None:
    parser = _NextLinks()
    parser.feed(html)
    return urljoin(current_url, parser.found[0]) if parser.found else None


def _setup(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()


def _fixtures() -> dict:
    """The personas and the request the per-request pages open."""
    from django.contrib.auth.models import User

    from bench.generate import INTERCESSOR_USERNAME, LEADER_USERNAME
    from requests_app.models import Assignment, PrayerRequest, Status

    leader = User.objects.get(username=LEADER_USERNAME)
    intercessor = User.objects.get(username=INTERCESSOR_USERNAME)
    carried = (
        Assignment.objects.carrying()
        .filter(intercessor=intercessor)
        .order_by("-prayer_request__is_confidential", "-prayer_request_id")
        .values_list("prayer_request_id", flat=True)
    )
    # Prayers are logged on another open request (from the team board), so
    # the rows they add never lengthen the request page being measured.
    board = (
        PrayerRequest.objects.filter(status=Status.INTERCEDING, is_confidential=False)
        .exclude(pk=carried[0])
        .order_by("-pk")
        .values_list("pk", flat=True)
    )
    return {"leader": leader, "intercessor": intercessor, "request_id": carried[0], "pray_request_id": board[0]}


def _ask_data(number: int) -> dict:
    return {
        "for_whom": "B. M.",
        "category": "health",
        "title": f"Benchmark request {number}",
        "details": "Pray for strength and for the doctors. The results come next week.",
        "is_confidential": "on",
        "requester_name": "Bench",
        "requester_email": "bench@example.org",
        "wants_updates": "on",
        "consent": "knows",
        "website": "",
    }


def _pray_data(number: int) -> dict:
    return {"minutes": "10", "note": "", "submission_key": f"bench-{secrets.token_hex(8)}-{number}", "next": ""}


def _targets(fixtures: dict) -> dict:
    """key -> (persona, method, url, data factory or None, expected status)."""
    request_id = fixtures["request_id"]
    return {
        "baseline": (ANONYMOUS, "get", "/bench/baseline/", None, 200),
        "triage": (LEADER, "get", "/triage/", None, 200),
        "triage_deep": (LEADER, "get", None, None, 200),  # found by following next links
        "list_filter": (LEADER, "get", "/requests/?status=answered&category=health", None, 200),
        "list_search": (LEADER, "get", f"/requests/?q={SEARCH_QUERY}", None, 200),
        "detail_leader": (LEADER, "get", f"/requests/{request_id}/", None, 200),
        "detail_intercessor": (INTERCESSOR, "get", f"/requests/{request_id}/", None, 200),
        "mine": (INTERCESSOR, "get", "/mine/", None, 200),
        "board": (INTERCESSOR, "get", "/board/", None, 200),
        "team": (LEADER, "get", "/team/", None, 200),
        "coverage": (LEADER, "get", "/coverage/", None, 200),
        "dashboard": (LEADER, "get", "/dashboard/", None, 200),
        "submit": (REQUESTER, "post", "/ask/", _ask_data, 302),
        "pray": (INTERCESSOR, "post", f"/requests/{fixtures['pray_request_id']}/pray/", _pray_data, 302),
    }


def _find_deep_page(client, start: str) -> tuple[str, int]:
    """Follow the page's own next links from `start`, as a person would, up to
    MAX_DEEP_FOLLOWS times; returns the URL reached and its page number. The
    last page of a list is usually short, so if the links run out first the
    page before it (a full one) is taken."""
    url, number, previous = start, 1, None
    for _ in range(MAX_DEEP_FOLLOWS):
        response = client.get(url)
        following = next_link(response.content.decode(), url)
        if following is None:
            if previous is not None and number > 2:
                return previous, number - 1
            break
        previous, url, number = url, following, number + 1
    return url, number


def _backend_cpu_ns(connection) -> tuple[int | None, int]:
    """(pid, nanoseconds on a CPU so far) of this connection's PostgreSQL
    backend, from /proc/<pid>/schedstat (loopback: the same machine); (None,
    0) on SQLite or where it cannot be read."""
    if connection.vendor != "postgresql":
        return None, 0
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    try:
        with open(f"/proc/{pid}/schedstat") as schedstat:
            return pid, int(schedstat.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None, 0


def _timed(call, expected: int, url: str) -> tuple[float, float, float]:
    """(wall ms, server CPU ms, of which PostgreSQL ms) of one call. Server
    CPU is this thread's CPU (Django, and the test client around it) plus the
    PostgreSQL backend's: it stays put when the machine is busy, wall time
    does not. A call that changed backends (a reconnection) counts the
    thread only."""
    from django.db import connection

    pid, db_before = _backend_cpu_ns(connection)
    cpu_started = time.thread_time_ns()
    started = time.perf_counter()
    response = call()
    elapsed = (time.perf_counter() - started) * 1000
    thread_ms = (time.thread_time_ns() - cpu_started) / 1e6
    if response.status_code != expected:
        raise RuntimeError(f"answered {response.status_code}, expected {expected} ({url})")
    db_ms = 0.0
    if pid is not None and connection.connection is not None and connection.connection.info.backend_pid == pid:
        db_ms = (_backend_cpu_ns(connection)[1] - db_before) / 1e6
    return elapsed, thread_ms + db_ms, db_ms


def measure_inprocess(
    fixtures: dict, targets: dict, *, runs: int, warmup: int, deep: tuple[str, int] | None = None
) -> tuple[dict, dict]:
    """The reads are timed in turns (one run of every page, then the next
    run), so a burst of load from elsewhere on the machine spreads over all
    of them instead of spoiling one; the writes come after, one after the
    other, so the reads never see the rows they add."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    # The requester's client keeps the session submitting gives it; the
    # baseline's stays a first visit, with no session to load.
    clients = {persona: Client() for persona in (ANONYMOUS, REQUESTER, LEADER, INTERCESSOR)}
    clients[LEADER].force_login(fixtures["leader"])
    clients[INTERCESSOR].force_login(fixtures["intercessor"])
    deep_url, deep_number = deep or _find_deep_page(clients[LEADER], targets["triage"][2])
    urls = {key: (deep_url if key == "triage_deep" else target[2]) for key, target in targets.items()}
    counter = 0

    def caller(key):
        persona, method, _url, data_factory, _expected = targets[key]
        client, url = clients[persona], urls[key]

        def call():
            nonlocal counter
            counter += 1
            if method == "get":
                return client.get(url)
            response = client.post(url, data_factory(counter))
            # The success message is never read here: left in the cookie it
            # would pile up and spill into the session.
            client.cookies.pop("messages", None)
            return response

        return call

    calls = {key: caller(key) for key in targets}
    timings: dict[str, list[float]] = {key: [] for key in targets}
    cpu: dict[str, list[float]] = {key: [] for key in targets}
    db_cpu: dict[str, list[float]] = {key: [] for key in targets}
    errors: dict[str, str] = {}
    reads = [key for key, _label, kind in PAGES if kind != "write"]
    writes = [key for key, _label, kind in PAGES if kind == "write"]

    def attempt(key, record: bool) -> None:
        if key in errors:
            return
        try:
            elapsed, server_cpu, database_cpu = _timed(calls[key], targets[key][4], urls[key])
        except Exception as exc:  # a page that fails is reported, the others still measured
            errors[key] = f"{type(exc).__name__}: {exc}"[:300]
        else:
            if record:
                timings[key].append(elapsed)
                cpu[key].append(server_cpu)
                db_cpu[key].append(database_cpu)

    # Every round of every page also times the bare page, so each page has
    # its yardstick measured beside it.
    for round_number in range(warmup + runs):
        for key in reads:
            attempt(key, record=round_number >= warmup)
    for key in writes:
        for round_number in range(warmup + runs):
            attempt(key, record=round_number >= warmup)
            attempt("baseline", record=round_number >= warmup)

    results = {}
    for key, _label, _kind in PAGES:
        if key in errors:
            results[key] = {"error": errors[key], "url": urls[key]}
        else:
            with CaptureQueriesContext(connection) as queries:
                response = calls[key]()
            results[key] = {
                "median_ms": statistics.median(timings[key]),
                "p90_ms": statistics.quantiles(timings[key], n=10)[-1] if len(timings[key]) > 1 else timings[key][0],
                "min_ms": min(timings[key]),
                "timings_ms": [round(value, 3) for value in timings[key]],
                "cpu_median_ms": statistics.median(cpu[key]),
                "db_cpu_median_ms": statistics.median(db_cpu[key]),
                "cpu_timings_ms": [round(value, 3) for value in cpu[key]],
                "db_cpu_timings_ms": [round(value, 3) for value in db_cpu[key]],
                "queries": len(queries.captured_queries),
                # The same without BEGIN, COMMIT and savepoints (CaptureQueriesContext
                # and the suite's django_assert_num_queries count those too).
                "statements": sum(
                    not re.match(r"\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE SAVEPOINT)\b", query["sql"], re.I)
                    for query in queries.captured_queries
                ),
                "bytes": len(response.content),
                "url": urls[key],
            }
        print(f"    {key:<20} {results[key]}", flush=True)
    return results, {"deep_page": deep_number, "deep_url": deep_url, "urls": urls}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ensure_wrk() -> str:
    """wrk from Debian, installed with apt-get the first time."""
    found = shutil.which("wrk")
    if found:
        return found
    print("  wrk is missing: installing it with apt-get (Debian package wrk)", flush=True)
    subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True, stdout=subprocess.DEVNULL)  # noqa: S607
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk could not be installed")
    return found


_LATENCY = re.compile(r"^\s*(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def parse_wrk(output: str) -> dict:
    """Requests per second, p50 and p99 in ms, and the error count of wrk --latency output."""
    figures = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))}
    for percent, value, unit in _LATENCY.findall(output):
        figures[f"p{percent}_ms"] = float(value) * _UNITS[unit]
    figures["errors"] = figures["timeouts"] = 0
    if match := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output):
        figures["errors"] += int(match.group(1))
    # The writes' script counts any answer but the expected redirect.
    if match := re.search(r"Unexpected statuses: (\d+)", output):
        figures["unexpected"] = int(match.group(1))
        figures["errors"] += figures["unexpected"]
    if match := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output):
        connect, read, write, timeout = (int(n) for n in match.groups())
        figures["errors"] += connect + read + write
        figures["timeouts"] = timeout
    figures["requests"] = int(re.search(r"(\d+) requests in", output).group(1))
    if not figures["requests"]:
        raise ValueError("no request completed")
    return figures


# A write answers with its redirect (BENCH_EXPECTED): any other status,
# such as the form again with a message (200), is counted as unexpected, so
# a refused write cannot pass for a fast one.
_WRITE_SCRIPT = """
local counter = 0
-- A global, so that done() can read each thread's with thread:get().
unexpected = 0
local threads = {}
local base = os.getenv("BENCH_BODY")
local keyed = os.getenv("BENCH_KEYED") == "1"
local prefix = os.getenv("BENCH_PREFIX")
local expected = tonumber(os.getenv("BENCH_EXPECTED"))
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
setup = function(thread)
  table.insert(threads, thread)
end
request = function()
  counter = counter + 1
  local body = base
  if keyed then body = body .. "&submission_key=" .. prefix .. "-" .. counter end
  return wrk.format(nil, nil, nil, body)
end
response = function(status, headers, body)
  if status ~= expected then unexpected = unexpected + 1 end
end
done = function(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("unexpected") end
  io.write("Unexpected statuses: " .. total .. "\\n")
end
"""


def _start_gunicorn(port: int, workers: int) -> subprocess.Popen:
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen(  # noqa: S603
        [
            str(gunicorn),
            "intercession.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings"},
    )
    # Ready when the baseline page answers, several times in a row (each
    # worker loads Django when it starts).
    deadline = time.monotonic() + 60
    answered = 0
    while time.monotonic() < deadline and answered < workers * 2:
        if process.poll() is not None:
            raise RuntimeError("gunicorn stopped while starting")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/bench/baseline/", timeout=5) as response:
                answered += response.status == 200
        except OSError:
            time.sleep(0.2)
    if answered < workers * 2:
        process.terminate()
        raise RuntimeError("gunicorn did not answer within 60 s")
    return process


def measure_http(fixtures: dict, targets: dict, urls: dict, *, seconds: float, connections: list[int], workers: int):
    from urllib.parse import urlencode

    from django.test import Client

    wrk = ensure_wrk()
    cookies = {}
    for persona in (LEADER, INTERCESSOR):
        client = Client()
        client.force_login(fixtures[persona])
        cookies[persona] = client.cookies["sessionid"].value
    # Django accepts the unmasked 32-character secret as the form's token.
    csrf_secret = secrets.token_hex(16)
    port = _free_port()
    server = _start_gunicorn(port, workers)
    results: dict = {}
    try:
        with tempfile.TemporaryDirectory() as scratch:
            script = Path(scratch) / "write.lua"
            script.write_text(_WRITE_SCRIPT)
            for key, _label, _kind in PAGES:
                persona, method, _url, data_factory, expected = targets[key]
                cookie = f"csrftoken={csrf_secret}"
                if persona in cookies:
                    cookie += f"; sessionid={cookies[persona]}"
                url = f"http://127.0.0.1:{port}{urls[key]}"
                env = dict(os.environ)
                command = [wrk, f"-t{WRK_THREADS}", "--latency", "-H", f"Cookie: {cookie}"]
                if method == "post":
                    data = data_factory(0)
                    keyed = "submission_key" in data
                    data.pop("submission_key", None)
                    data["csrfmiddlewaretoken"] = csrf_secret
                    env.update(
                        BENCH_BODY=urlencode(data),
                        BENCH_KEYED="1" if keyed else "0",
                        BENCH_PREFIX=f"http-{secrets.token_hex(4)}",
                        BENCH_EXPECTED=str(expected),
                    )
                    command += ["-s", str(script)]
                for concurrency in connections:
                    run = [*command, f"-c{concurrency}", f"-d{seconds}s", url]
                    # A short warm-up, so every worker has its connection and templates.
                    subprocess.run(  # noqa: S603
                        [*command, f"-c{concurrency}", "-d1s", url], env=env, capture_output=True, check=False
                    )
                    done = subprocess.run(run, env=env, capture_output=True, text=True, check=False)  # noqa: S603
                    try:
                        figures = parse_wrk(done.stdout)
                    except (AttributeError, ValueError):
                        figures = {"error": (done.stdout + done.stderr)[-300:]}
                    results.setdefault(str(concurrency), {})[key] = figures
                    print(f"    http c={concurrency:<3} {key:<20} {figures}", flush=True)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.measure")
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--json", required=True, help="where to write the figures")
    parser.add_argument("--runs", type=int, default=30, help="timed in-process runs per page; 0: none")
    parser.add_argument("--deep-url", help="the deep triage page, if an earlier pass found it")
    parser.add_argument("--deep-page", type=int, default=0, help="its page number")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--http-seconds", type=int, default=3)
    parser.add_argument("--connections", type=int, nargs="*", default=[8, 16])
    parser.add_argument("--workers", type=int, default=(os.cpu_count() or 1) * 2 + 1)
    args = parser.parse_args(argv)

    _setup(args.database_url)
    fixtures = _fixtures()
    targets = _targets(fixtures)
    deep = (args.deep_url, args.deep_page) if args.deep_url else None
    inprocess = {}
    if args.runs > 0:
        print(f"  in-process, {args.runs} runs after {args.warmup} warm-ups:", flush=True)
        inprocess, found = measure_inprocess(fixtures, targets, runs=args.runs, warmup=args.warmup, deep=deep)
    else:
        if deep is None:
            from django.test import Client

            client = Client()
            client.force_login(fixtures["leader"])
            deep = _find_deep_page(client, targets["triage"][2])
        urls = {key: (deep[0] if key == "triage_deep" else target[2]) for key, target in targets.items()}
        found = {"deep_url": deep[0], "deep_page": deep[1], "urls": urls}
    http = {}
    if args.connections and args.http_seconds > 0:
        print(f"  over HTTP, gunicorn with {args.workers} workers, wrk {args.http_seconds:g} s per page:", flush=True)
        http = measure_http(
            fixtures,
            targets,
            found["urls"],
            seconds=args.http_seconds,
            connections=args.connections,
            workers=args.workers,
        )
    Path(args.json).write_text(
        json.dumps(
            {
                "inprocess": inprocess,
                "http": http,
                "deep_page": found["deep_page"],
                "deep_url": found["deep_url"],
                "workers": args.workers,
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
