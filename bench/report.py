"""The benchmark's tables and its check against the targets of issues 6 and 16.

Pure functions over the results `bench.run` collects (plain dicts, as in
bench/results/latest.json), so they are tested on fixed inputs
(tests/test_bench.py) without a database.

results = {
    "sizes": [10000, ...],
    "inprocess": {"10000": {page_key: {"median_ms", "cpu_median_ms", "db_cpu_median_ms", "queries", "error"?}}},
    "deep_page": {"10000": page_number_reached},
    "http": {"10000": {"8": {page_key: {"rps", "p50_ms", "p99_ms", "errors"}}}},
}
"""

# (key, label, kind): kind is "read", "write" or "baseline".
PAGES = [
    ("baseline", "Baseline: bare template, no queries", "baseline"),
    ("triage", "Triage, first page", "read"),
    ("triage_deep", "Triage, deep page", "read"),
    ("list_filter", "All requests, filtered", "read"),
    ("list_search", "All requests, text search", "read"),
    ("detail_leader", "Request page (leader)", "read"),
    ("detail_intercessor", "Request page (assigned intercessor)", "read"),
    ("mine", "My assignments", "read"),
    ("board", "Team board", "read"),
    ("team", "Team", "read"),
    ("coverage", "Coverage", "read"),
    ("dashboard", "Dashboard", "read"),
    ("submit", "Submit a request (POST /ask/)", "write"),
    ("pray", "Log a prayer (POST)", "write"),
]
LABELS = {key: label for key, label, _kind in PAGES}

MAX_QUERIES = 10
MAX_SIZE_RATIO = 1.25
MAX_DEEP_RATIO = 1.25
MAX_READ_MS_AT_1M = 15.0
MAX_WRITE_MS_AT_1M = 25.0
ONE_MILLION = 1_000_000

# Issue 16: server CPU (Django's thread and PostgreSQL's backend) as a
# multiple of the bare page's in the same run, at the largest size.
MAX_READ_CPU_X = 2.0
MAX_REQUEST_PAGE_CPU_X = 3.0
MAX_WRITE_CPU_X = 4.0
MAX_READ_QUERIES = 8
# Over HTTP, every read page at least this share of the bare page's throughput.
MIN_HTTP_SHARE = 0.4
REQUEST_PAGES = {"detail_leader", "detail_intercessor"}


def size_label(size: int) -> str:
    if size >= 1_000_000 and size % 1_000_000 == 0:
        return f"{size // 1_000_000}M"
    if size >= 1_000 and size % 1_000 == 0:
        return f"{size // 1_000}k"
    return str(size)


def _figures(results: dict, size: int, key: str) -> dict | None:
    return results["inprocess"].get(str(size), {}).get(key)


def _ms(results: dict, size: int, key: str) -> float | None:
    figures = _figures(results, size, key)
    return None if figures is None or figures.get("error") else figures.get("median_ms")


def _cpu(results: dict, size: int, key: str) -> float | None:
    figures = _figures(results, size, key)
    return None if figures is None or figures.get("error") else figures.get("cpu_median_ms")


def cpu_limit(key: str, kind: str) -> float:
    """The most server CPU a page may cost, as a multiple of the bare page's."""
    if kind == "write":
        return MAX_WRITE_CPU_X
    return MAX_REQUEST_PAGE_CPU_X if key in REQUEST_PAGES else MAX_READ_CPU_X


def missed_cpu_targets(results: dict) -> list[str]:
    """One line per target of issue 16 that these figures miss: server CPU
    against the bare page at the largest size, read queries, and the HTTP
    throughput against the bare page's."""
    sizes = sorted(int(size) for size in results["sizes"])
    largest = sizes[-1]
    baseline = _cpu(results, largest, "baseline")
    if baseline is None:
        return ["Server CPU was not measured in this run (no baseline figure)."]
    missed = []
    for key, label, kind in PAGES:
        if kind == "baseline":
            continue
        figures = _figures(results, largest, key)
        if figures is None or figures.get("error"):
            continue
        ratio = _ratio(_cpu(results, largest, key), baseline)
        limit = cpu_limit(key, kind)
        if ratio is not None and ratio > limit:
            missed.append(
                f"{label}: {figures['cpu_median_ms']:.1f} ms server CPU at {size_label(largest)}, "
                f"{ratio:.1f}x the bare page's {baseline:.1f} ms (target ≤ {limit:g}x, {ratio / limit:.2f} of it)"
            )
        if kind == "read" and figures["queries"] > MAX_READ_QUERIES:
            missed.append(f"{label}: {figures['queries']} queries (target ≤ {MAX_READ_QUERIES})")
    for connections, pages in (results.get("http") or {}).get(str(largest), {}).items():
        bare = pages.get("baseline")
        for key, label, kind in PAGES:
            figures = pages.get(key)
            if kind != "read" or not bare or not figures or figures.get("error"):
                continue
            share = _ratio(figures["rps"], bare["rps"])
            if share is not None and share < MIN_HTTP_SHARE:
                missed.append(
                    f"{label}: over HTTP at {connections} connections {share:.2f} of the bare page's throughput "
                    f"(target ≥ {MIN_HTTP_SHARE})"
                )
    return missed


def format_cpu_table(results: dict) -> str:
    """Median server CPU per page and size (Django's thread plus PostgreSQL's
    backend), each as a multiple of the bare page's in the same run, and
    PostgreSQL's part at the largest size."""
    sizes = sorted(int(size) for size in results["sizes"])
    largest = sizes[-1]
    labels = [size_label(size) for size in sizes]
    header = ["page", *(f"CPU ms {label}" for label in labels), *(f"xbare {label}" for label in labels)]
    header += [f"of which PostgreSQL {size_label(largest)}", "target"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    for key, label, kind in PAGES:
        times = [_fmt(_cpu(results, size, key)) for size in sizes]
        ratios = [
            _fmt(_ratio(_cpu(results, size, key), _cpu(results, size, "baseline"))) if key != "baseline" else "1.0"
            for size in sizes
        ]
        figures = _figures(results, largest, key) or {}
        database = _fmt(figures.get("db_cpu_median_ms")) if not figures.get("error") else "error"
        target = "" if kind == "baseline" else f"≤ {cpu_limit(key, kind):g}x"
        lines.append("| " + " | ".join([label, *times, *ratios, database, target]) + " |")
    return "\n".join(lines)


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def deep_ratio(results: dict, size: int) -> float | None:
    return _ratio(_ms(results, size, "triage_deep"), _ms(results, size, "triage"))


def missed_targets(results: dict) -> list[str]:
    """One line per target of issue 6 that these figures miss."""
    sizes = sorted(int(size) for size in results["sizes"])
    smallest, largest = sizes[0], sizes[-1]
    span = f"{size_label(largest)}/{size_label(smallest)}"
    missed = []
    for key, label, kind in PAGES:
        if kind == "baseline":
            continue
        counts = []
        for size in sizes:
            figures = _figures(results, size, key)
            if figures is None:
                continue
            if figures.get("error"):
                missed.append(f"{label}: failed at {size_label(size)}: {figures['error']}")
                continue
            counts.append(figures["queries"])
            if figures["queries"] > MAX_QUERIES:
                missed.append(f"{label}: {figures['queries']} queries at {size_label(size)} (target ≤ {MAX_QUERIES})")
        if len(set(counts)) > 1:
            missed.append(f"{label}: query count changes with size ({', '.join(str(c) for c in counts)})")
        if len(sizes) > 1:
            ratio = _ratio(_ms(results, largest, key), _ms(results, smallest, key))
            if ratio is not None and ratio > MAX_SIZE_RATIO:
                missed.append(f"{label}: {span} {ratio:.2f} (target ≤ {MAX_SIZE_RATIO})")
        if key == "triage_deep":
            for size in sizes:
                ratio = deep_ratio(results, size)
                if ratio is not None and ratio > MAX_DEEP_RATIO:
                    page = results.get("deep_page", {}).get(str(size))
                    missed.append(
                        f"{label}: deep/first {ratio:.2f} at {size_label(size)}"
                        f"{f' (page {page})' if page else ''} (target ≤ {MAX_DEEP_RATIO})"
                    )
        if ONE_MILLION in sizes:
            limit = MAX_WRITE_MS_AT_1M if kind == "write" else MAX_READ_MS_AT_1M
            ms = _ms(results, ONE_MILLION, key)
            if ms is not None and ms > limit:
                missed.append(f"{label}: {ms:.1f} ms at 1M (target ≤ {limit:g} ms, {ms / limit:.1f}x over)")
    if ONE_MILLION not in sizes:
        missed.append("Time limits at 1M not checked: 1M requests were not measured in this run.")
    return missed


def format_inprocess_table(results: dict) -> str:
    """Queries and median server time per page and size, the ratio of the
    largest size to the smallest, deep/first, and the cost against the
    baseline at the largest size."""
    sizes = sorted(int(size) for size in results["sizes"])
    smallest, largest = sizes[0], sizes[-1]
    labels = [size_label(size) for size in sizes]
    header = (
        ["page"]
        + [f"queries {label}" for label in labels]
        + [f"ms {label}" for label in labels]
        + [f"{size_label(largest)}/{size_label(smallest)}", f"deep/first {size_label(largest)}"]
        + [f"xbaseline {size_label(largest)}"]
    )
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    for key, label, _kind in PAGES:
        queries, times = [], []
        for size in sizes:
            figures = _figures(results, size, key)
            if figures is None:
                queries.append("-")
                times.append("-")
            elif figures.get("error"):
                queries.append("error")
                times.append("error")
            else:
                queries.append(str(figures["queries"]))
                times.append(_fmt(figures["median_ms"]))
        span = _ratio(_ms(results, largest, key), _ms(results, smallest, key)) if len(sizes) > 1 else None
        deep = deep_ratio(results, largest) if key == "triage_deep" else None
        against_baseline = (
            _ratio(_ms(results, largest, key), _ms(results, largest, "baseline")) if key != "baseline" else None
        )
        cells = [label, *queries, *times, _fmt(span, 2), _fmt(deep, 2) if deep else "", _fmt(against_baseline)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def format_http_table(results: dict) -> str:
    """Requests per second and p50/p99 latency over HTTP per page, size and
    concurrency; xbase is the baseline's requests per second divided by the
    page's (how many bare pages one of these costs)."""
    sizes = sorted(int(size) for size in results["sizes"])
    http = results.get("http") or {}
    concurrencies = sorted({int(c) for size in sizes for c in http.get(str(size), {})})
    if not concurrencies:
        return "(no HTTP measurements in this run)"
    blocks = []
    for concurrency in concurrencies:
        header = ["page"]
        for size in sizes:
            label = size_label(size)
            header += [f"rps {label}", f"p50 ms {label}", f"p99 ms {label}", f"xbase {label}"]
        lines = [
            f"{concurrency} concurrent connections:",
            "",
            "| " + " | ".join(header) + " |",
            "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|",
        ]
        for key, label, _kind in PAGES:
            cells = [label]
            present = False
            for size in sizes:
                pages = http.get(str(size), {}).get(str(concurrency), {})
                figures, baseline = pages.get(key), pages.get("baseline")
                if not figures:
                    cells += ["-"] * 4
                    continue
                present = True
                if figures.get("error"):
                    cells += ["error", "", "", ""]
                    continue
                against = _ratio(baseline["rps"], figures["rps"]) if baseline and key != "baseline" else None
                problems = [f"{figures[name]} {name}" for name in ("errors", "timeouts") if figures.get(name)]
                errors = f" ({', '.join(problems)})" if problems else ""
                cells += [
                    f"{figures['rps']:.0f}{errors}",
                    _fmt(figures["p50_ms"]),
                    _fmt(figures["p99_ms"]),
                    _fmt(against),
                ]
            if present:
                lines.append("| " + " | ".join(cells) + " |")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def format_report(results: dict) -> str:
    """The whole report: machine, timings, both tables, and the targets missed."""
    sizes = sorted(int(size) for size in results["sizes"])
    machine = results.get("machine", {})
    lines = ["# Benchmark results", ""]
    if results.get("started_at"):
        lines.append(f"Run {results['started_at']} with `{results.get('command', 'make bench')}`.")
    if machine:
        lines.append(
            f"Machine: {machine.get('cpu', '?')}, {machine.get('cores', '?')} cores, "
            f"{machine.get('ram_gb', '?')} GB RAM; PostgreSQL {machine.get('postgres', '?')}; "
            f"Python {machine.get('python', '?')}, Django {machine.get('django', '?')}; "
            f"{machine.get('http_server', '')}; {machine.get('load_generator', '')}."
        )
    generated = results.get("generate_seconds") or {}
    if generated:
        lines.append(
            "Data generation: "
            + ", ".join(f"{size_label(s)} in {generated[str(s)]:.0f} s" for s in sizes if str(s) in generated)
            + "."
        )
    deep = results.get("deep_page") or {}
    if deep:
        lines.append(
            "Deep triage page reached by following the page's own next links: "
            + ", ".join(f"page {deep[str(s)]} at {size_label(s)}" for s in sizes if str(s) in deep)
            + "."
        )
    load = results.get("load_average") or {}
    if load:
        lines.append(
            "Load average (1 min) when each size's measuring began: "
            + ", ".join(f"{load[str(s)]} at {size_label(s)}" for s in sizes if str(s) in load)
            + f" (on {machine.get('cores', '?')} cores; other work on the machine spreads the figures)."
        )
    if results.get("total_seconds"):
        lines.append(f"Whole run: {results['total_seconds'] / 60:.1f} minutes.")
    lines += [
        "",
        "## In-process (Django test client, warm; median server time in ms)",
        "",
        f"Median of {results.get('runs', '?')} timed runs per page, in {results.get('passes', 1)} passes over the "
        f"sizes in turn (each pass after {results.get('warmup', '?')} warm-ups); queries counted with "
        "CaptureQueriesContext on one more run (the most seen in any pass).",
        "",
        format_inprocess_table(results),
        "",
        "## Server CPU (Django's thread + PostgreSQL's backend; median ms, and as a multiple of the bare page)",
        "",
        "The request's thread CPU (time.thread_time) plus its PostgreSQL backend's CPU (/proc/<pid>/schedstat), "
        "on the same runs as the table above: unlike wall time it stays put when the machine is busy. The bare "
        "page is timed in every round beside the others, so each ratio is to a yardstick measured in the same run.",
        "",
        format_cpu_table(results),
        "",
        "## Over HTTP (gunicorn on loopback)",
        "",
        results.get("http_note", ""),
        "",
        format_http_table(results),
        "",
        "## Targets of issue 6 missed",
        "",
    ]
    missed = missed_targets(results)
    lines += [f"- MISSED {line}" for line in missed] if missed else ["- none: every target is met."]
    lines += ["", "## Targets of issue 16 missed (server CPU against the bare page)", ""]
    missed = missed_cpu_targets(results)
    lines += [f"- MISSED {line}" for line in missed] if missed else ["- none: every target is met."]
    return "\n".join(lines) + "\n"
