"""The benchmark of issue 6: `make bench`, or

    .venv/bin/python -m bench.run --sizes 10000 100000 1000000 \\
        --postgres-url postgres://postgres@127.0.0.1:5432

For each size: generate the database `intercession_bench_<size>` (bench.generate;
`--reuse` keeps one this generator already made at that size), then measure
it in a process of its own (bench.measure: in-process, then over HTTP).
Prints one report and writes it to bench/results/latest.md (with the raw
figures in latest.json and latest.csv); a run that includes 1M also rewrites
the marked section of docs/PERFORMANCE.md. Only databases named
intercession_bench_* are ever created or dropped.
"""

import argparse
import base64
import csv
import datetime
import json
import os
import platform
import re
import secrets
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench import measure, report

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DOCS = ROOT / "docs" / "PERFORMANCE.md"
DOCS_START, DOCS_END = "<!-- bench:results:start -->", "<!-- bench:results:end -->"
DEFAULT_SIZES = [10_000, 100_000, 1_000_000]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gb() -> str:
    try:
        match = re.search(r"MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text())
        return f"{int(match.group(1)) / 1024 / 1024:.0f}"
    except (OSError, AttributeError):
        return "?"


def machine(postgres_url: str, wrk: str | None) -> dict:
    """What the figures were measured on. `wrk`: its path, or None when the
    run measures nothing over HTTP."""
    import django
    import psycopg

    with psycopg.connect(f"{postgres_url}/postgres", autocommit=True) as conn:
        postgres = conn.execute("SHOW server_version").fetchone()[0]
    gunicorn = subprocess.run(  # noqa: S603
        [str(Path(sys.executable).with_name("gunicorn")), "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    wrk_version = subprocess.run([wrk, "--version"], capture_output=True, text=True, check=False) if wrk else None  # noqa: S603
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "ram_gb": _ram_gb(),
        "postgres": postgres,
        "python": platform.python_version(),
        "django": django.get_version(),
        "http_server": gunicorn or "gunicorn",
        "load_generator": (wrk_version.stdout or wrk_version.stderr or "wrk").splitlines()[0].split(" [")[0]
        if wrk_version
        else "none (in-process only)",
    }


def _generate(size: int, database_url: str, reuse: bool) -> float | None:
    from bench.generate import generated_size

    name = database_url.rsplit("/", 1)[1]
    if reuse and generated_size(database_url, name) == size:
        print(f"Reusing {name} (made by bench.generate at size {size:,})", flush=True)
        return None
    started = time.perf_counter()
    subprocess.run(  # noqa: S603
        [sys.executable, "-m", "bench.generate", "--size", str(size), "--database-url", database_url],
        check=True,
        cwd=ROOT,
    )
    return time.perf_counter() - started


def _measure(size: int, database_url: str, deep: tuple[str, int] | None, options: list[str]) -> dict:
    """Run bench.measure on one database in a process of its own; its figures."""
    out = RESULTS / f"measure_{size}.json"
    command = [sys.executable, "-m", "bench.measure", "--size", str(size), "--database-url", database_url]
    command += ["--json", str(out), "--http-seconds", "0", *options]
    if deep is not None:
        command += ["--deep-url", deep[0], "--deep-page", str(deep[1])]
    subprocess.run(command, check=True, cwd=ROOT)  # noqa: S603
    measured = json.loads(out.read_text())
    out.unlink()
    return measured


def _write_csv(results: dict, path: Path) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["size", "page", "kind", "median_ms", "queries", "http_connections", "rps", "p50_ms", "p99_ms"]
        )
        for size in results["sizes"]:
            for key, _label, kind in report.PAGES:
                figures = results["inprocess"].get(str(size), {}).get(key, {})
                writer.writerow([size, key, kind, figures.get("median_ms"), figures.get("queries"), "", "", "", ""])
                for concurrency, pages in sorted(results["http"].get(str(size), {}).items()):
                    http = pages.get(key, {})
                    writer.writerow(
                        [size, key, kind, "", "", concurrency, http.get("rps"), http.get("p50_ms"), http.get("p99_ms")]
                    )


def _update_docs(text: str) -> bool:
    if not DOCS.exists():
        return False
    content = DOCS.read_text()
    if DOCS_START not in content or DOCS_END not in content:
        return False
    before, rest = content.split(DOCS_START, 1)
    _old, after = rest.split(DOCS_END, 1)
    # The report's own title would be a second h1 inside the document.
    body = text.replace("# Benchmark results\n", "", 1).replace("\n## ", "\n### ")
    DOCS.write_text(f"{before}{DOCS_START}\n{body.strip()}\n{DOCS_END}{after}")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=DEFAULT_SIZES)
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432"),
        help="server URL without a database name; databases intercession_bench_<size> are made there",
    )
    parser.add_argument("--reuse", action="store_true", help="keep a database bench.generate made at the same size")
    parser.add_argument("--runs", type=int, default=30, help="timed in-process runs per page, over all passes")
    parser.add_argument("--warmup", type=int, default=5, help="untimed runs per page in each pass")
    parser.add_argument("--passes", type=int, default=3, help="in-process passes over the sizes in turn")
    parser.add_argument("--http-seconds", type=int, default=3, help="per page and concurrency; 0 skips HTTP")
    parser.add_argument("--connections", type=int, nargs="+", default=[8, 16])
    parser.add_argument("--docs", choices=["auto", "yes", "no"], default="auto",
                        help="rewrite docs/PERFORMANCE.md's table (auto: when 1M is among the sizes)")  # fmt: skip
    args = parser.parse_args(argv)

    started = time.perf_counter()
    postgres_url = args.postgres_url.rstrip("/")
    # One secret key for every process of the run (gunicorn's workers and
    # the in-process client must agree on it to share sessions), and one
    # encryption key (to read what the others stored).
    os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("INTERCESSION_ENCRYPTION_KEYS", base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    sizes = sorted(set(args.sizes))
    results = {
        "started_at": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python -m bench.run " + shlex.join(argv if argv is not None else sys.argv[1:]),
        # wrk is installed (Debian's package) before anything else is done.
        "machine": machine(postgres_url, measure.ensure_wrk() if args.http_seconds > 0 else None),
        "sizes": sizes,
        "runs": args.runs,
        "warmup": args.warmup,
        "passes": max(1, min(args.passes, args.runs)),
        "generate_seconds": {},
        "inprocess": {},
        "http": {},
        "deep_page": {},
        "load_average": {},
        "http_note": (
            f"wrk, {args.http_seconds} s per page after a 1 s warm-up, at {' and '.join(map(str, args.connections))} "
            "connections; gunicorn sync workers (2 x cores + 1) with bench.settings. Reads carry the persona's "
            "session cookie; the two writes are POSTed by a Lua script with a CSRF cookie and token (each prayer "
            "with a fresh submission key, so every one is a new row)."
        ),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    urls = {size: f"{postgres_url}/intercession_bench_{size}" for size in sizes}
    for size in sizes:
        print(f"== generating {size:,} requests ==", flush=True)
        seconds = _generate(size, urls[size], args.reuse)
        if seconds is not None:
            results["generate_seconds"][str(size)] = seconds

    # In-process, in passes over the sizes in turn, so that the load others
    # put on the machine meanwhile falls on every size alike and the ratios
    # between sizes stay fair.
    passes = max(1, min(args.passes, args.runs))
    timings: dict[int, dict[str, list[float]]] = {size: {} for size in sizes}
    cpu: dict[int, dict[str, list[float]]] = {size: {} for size in sizes}
    db_cpu: dict[int, dict[str, list[float]]] = {size: {} for size in sizes}
    deep: dict[int, tuple[str, int]] = {}
    loads: dict[int, list[float]] = {size: [] for size in sizes}
    for number in range(passes):
        runs = args.runs // passes + (1 if number < args.runs % passes else 0)
        for size in sizes:
            print(f"== in-process, pass {number + 1} of {passes}, {size:,} requests ==", flush=True)
            loads[size].append(os.getloadavg()[0])
            measured = _measure(size, urls[size], deep.get(size), ["--runs", str(runs), "--warmup", str(args.warmup)])
            deep[size] = (measured["deep_url"], measured["deep_page"])
            merged = results["inprocess"].setdefault(str(size), {})
            for key, figures in measured["inprocess"].items():
                if "error" in figures:
                    merged[key] = figures
                    continue
                timings[size].setdefault(key, []).extend(figures.pop("timings_ms"))
                cpu[size].setdefault(key, []).extend(figures.pop("cpu_timings_ms", []))
                db_cpu[size].setdefault(key, []).extend(figures.pop("db_cpu_timings_ms", []))
                if "error" not in merged.get(key, {}):
                    queries = max(figures["queries"], merged.get(key, {}).get("queries", 0))
                    merged[key] = {**figures, "queries": queries}
                    merged[key]["median_ms"] = statistics.median(timings[size][key])
                    merged[key]["min_ms"] = min(timings[size][key])
                    merged[key]["runs"] = len(timings[size][key])
                    if cpu[size][key]:
                        merged[key]["cpu_median_ms"] = statistics.median(cpu[size][key])
                        merged[key]["db_cpu_median_ms"] = statistics.median(db_cpu[size][key])
    for size in sizes:
        results["deep_page"][str(size)] = deep[size][1]
        # Others' work on the machine shows in the figures: keep the load next to them.
        results["load_average"][str(size)] = round(statistics.mean(loads[size]), 1)

    if args.http_seconds > 0:
        for size in sizes:
            print(f"== over HTTP, {size:,} requests ==", flush=True)
            measured = _measure(
                size,
                urls[size],
                deep[size],
                [
                    "--runs",
                    "0",
                    "--http-seconds",
                    str(args.http_seconds),
                    "--connections",
                    *map(str, args.connections),
                ],
            )
            results["http"][str(size)] = measured["http"]

    results["total_seconds"] = time.perf_counter() - started
    text = report.format_report(results)
    print()
    print(text)
    (RESULTS / "latest.md").write_text(text)
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2))
    _write_csv(results, RESULTS / "latest.csv")
    print(f"Written to {RESULTS.relative_to(ROOT)}/latest.md (.json, .csv)")
    wants_docs = args.docs == "yes" or (args.docs == "auto" and report.ONE_MILLION in sizes)
    if wants_docs and _update_docs(text):
        print(f"and to {DOCS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
