"""`make audit`: Lighthouse on every main page, as each persona, on a phone
(Lighthouse's default) and on a desktop (`--preset=desktop`):

    .venv/bin/python -m audit.lighthouse [--only PERSONA] [--form-factor mobile|desktop|both] [--min-score 95]

The app is served as production serves it (DEBUG off, `collectstatic`,
WhiteNoise, `gunicorn -c gunicorn.conf.py` on a free loopback port) on a
throwaway SQLite database in a temporary folder, holding the demo
(`seed_demo --force`) and what `audit.pages.prepare()` adds; db.sqlite3 and
any DATABASE_URL are never touched. This process sets up Django with the
server's environment, on the same database, to prepare the pages and log the
intercessor and the leader in (their session cookie goes to Lighthouse as an
extra header). Each report goes to audit/results/<persona>-<page>-<form
factor>.json; the scores are printed as a Markdown table. Exits 1 when a
score is below --min-score (SEO counts on the indexable pages only,
`audit.pages.INDEXABLE`), listing the audits each such page fails.

Needs the npm tools (`make audit-tools`: Lighthouse into audit/node_modules)
and Chromium (CHROME_PATH, else /usr/bin/chromium). Runs are sequential.
"""

import argparse
import http.client
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "audit" / "results"
LIGHTHOUSE = ROOT / "audit" / "node_modules" / ".bin" / "lighthouse"
GUNICORN = Path(sys.executable).parent / "gunicorn"
CHROME_FLAGS = "--headless=new --no-sandbox --disable-gpu --disable-background-networking"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
HEADERS = ("performance", "accessibility", "best practices", "SEO")
FORM_FACTORS = ("mobile", "desktop")
START_SECONDS = 30
LIGHTHOUSE_SECONDS = 180
ATTEMPTS = 3  # per page and form factor, while Lighthouse reports a runtime error


# --- The pure parts (tests/test_audit_lighthouse.py) -----------------------


@dataclass(frozen=True)
class Result:
    persona: str
    page: str
    form_factor: str
    scores: dict[str, int | None]  # category -> 0..100, None: Lighthouse gave none (or n/a)
    failing: list[tuple[str, str, str]]  # (category, audit id, title) of audits below full marks
    indexable: bool
    error: str = ""  # Lighthouse's runtime error, or where the page was redirected
    skipped: str = ""  # why Lighthouse did not run (an error page: it audits only a 200)


def scores_of(report: dict) -> dict[str, int | None]:
    categories = report.get("categories", {})
    scores: dict[str, int | None] = {}
    for category in CATEGORIES:
        score = categories.get(category, {}).get("score")
        scores[category] = None if score is None else round(score * 100)
    return scores


def failing_audits(report: dict, categories=CATEGORIES) -> list[tuple[str, str, str]]:
    """(category, id, title) of each weighted audit of `categories` that
    does not pass (score below 1; informative and n/a audits have none)."""
    audits = report.get("audits", {})
    failing = []
    for category in categories:
        for ref in report.get("categories", {}).get(category, {}).get("auditRefs", []):
            audit = audits.get(ref["id"], {})
            score = audit.get("score")
            if ref.get("weight", 0) > 0 and score is not None and score < 1:
                failing.append((category, ref["id"], audit.get("title", ref["id"])))
    return failing


def result_of(report: dict, persona: str, page: str, form_factor: str, indexable: bool, url: str = "") -> Result:
    error = report.get("runtimeError", {}).get("message", "") if report.get("runtimeError") else ""
    final = report.get("finalDisplayedUrl") or report.get("finalUrl")
    if not error and url and final and final != url:
        # Logged out (the session cookie was not taken), or sent elsewhere.
        error = f"redirected to {final}"
    return Result(
        persona=persona,
        page=page,
        form_factor=form_factor,
        scores=scores_of(report),
        failing=failing_audits(report),
        indexable=indexable,
        error=error,
    )


def applicable(result: Result) -> list[str]:
    """The categories that count for this page: SEO only where a search
    engine may index it."""
    return [category for category in CATEGORIES if category != "seo" or result.indexable]


def shown(result: Result, category: str) -> str:
    if result.skipped:
        return "skipped"
    if category not in applicable(result):
        return "n/a"
    score = result.scores.get(category)
    return "error" if score is None else str(score)


def table(results: list[Result]) -> str:
    lines = [
        "| persona | page | form factor | " + " | ".join(HEADERS) + " |",
        "|---|---|---|" + "---:|" * len(HEADERS),
    ]
    for result in results:
        cells = [result.persona, result.page, result.form_factor, *(shown(result, c) for c in CATEGORIES)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def below(result: Result, min_score: int) -> list[str]:
    """The applicable categories scored below `min_score` (or not at all,
    or on a page Lighthouse was redirected from)."""
    if result.skipped:
        return []
    low = [
        category
        for category in applicable(result)
        if result.scores.get(category) is None or result.scores[category] < min_score
    ]
    # Redirected (e.g. to the log-in page): the scores are another page's.
    return low or (applicable(result) if result.error else [])


def failures(results: list[Result], min_score: int) -> str:
    """What someone must fix, page by page: empty when every applicable
    score reaches `min_score`."""
    blocks = []
    for result in results:
        low = below(result, min_score)
        if not low:
            continue
        heading = f"{result.persona} / {result.page} / {result.form_factor}: " + ", ".join(
            f"{category} {shown(result, category)}" for category in low
        )
        lines = [heading]
        if result.error:
            lines.append(f"  Lighthouse error: {result.error}")
        lines += [
            f"  - [{category}] {audit_id}: {title}" for category, audit_id, title in result.failing if category in low
        ]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


# --- The server and Lighthouse ---------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_env(folder: Path, port: int) -> dict[str, str]:
    """A deployment's environment, on loopback and plain HTTP (as `make serve`)."""
    from requests_app.privacy.keys import generate_key

    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_", "INTERCESSION_"))
    }
    env.update(
        {
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "INTERCESSION_ENCRYPTION_KEYS": generate_key(),
            "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
            "DJANGO_STATIC_ROOT": str(folder / "static"),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "DJANGO_SECURE_SSL_REDIRECT": "0",
            # Plain HTTP on loopback: a Secure cookie would never come back.
            "DJANGO_SECURE_COOKIES": "0",
            "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            "DJANGO_LOG_LEVEL": "WARNING",
            "INTERCESSION_SITE_URL": f"http://127.0.0.1:{port}",
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "GUNICORN_WORKERS": "2",
        }
    )
    return env


def setup_django(env: dict[str, str]) -> None:
    """Django in this process, with the server's settings (and database)."""
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "intercession.settings"
    import django

    django.setup()


def prepare_site(personas: list[str]):
    """collectstatic, migrate, the demo, `pages.prepare()`, and a session for
    each persona that logs in. Returns ({persona: pages}, {persona: session
    key}, the session cookie's name)."""
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections
    from django.test import Client

    from audit import pages

    quiet = open(os.devnull, "w")  # noqa: SIM115 - closed below
    try:
        call_command("collectstatic", "--no-input", verbosity=0, stdout=quiet)
        call_command("migrate", "--no-input", verbosity=0, stdout=quiet)
        call_command("seed_demo", force=True, stdout=quiet)
    finally:
        quiet.close()
    prepared = pages.prepare()
    sessions = {}
    for persona, user in prepared.users.items():
        if persona in personas:
            client = Client()
            client.force_login(user)
            sessions[persona] = client.cookies[settings.SESSION_COOKIE_NAME].value
    all_pages = pages.main_pages(prepared)
    cookie_name = settings.SESSION_COOKIE_NAME
    connections.close_all()
    return {persona: all_pages[persona] for persona in personas}, sessions, cookie_name


def wait_until_up(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn stopped ({process.returncode}):\n{log.read_text()[-3000:]}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz", headers={"Host": "127.0.0.1"})
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"gunicorn did not answer within {START_SECONDS} s:\n{log.read_text()[-3000:]}")


def lighthouse(url: str, output: Path, form_factor: str, headers_file: Path | None) -> dict:
    command = [
        str(LIGHTHOUSE),
        url,
        "--output=json",
        f"--output-path={output}",
        f"--only-categories={','.join(CATEGORIES)}",
        f"--chrome-flags={CHROME_FLAGS}",
        "--quiet",
    ]
    if form_factor == "desktop":
        command.append("--preset=desktop")
    if headers_file:
        command.append(f"--extra-headers={headers_file}")
    env = {**os.environ, "CHROME_PATH": os.environ.get("CHROME_PATH", "/usr/bin/chromium")}
    output.unlink(missing_ok=True)
    completed = subprocess.run(  # noqa: S603 - our own tool, our own arguments
        command, capture_output=True, text=True, timeout=LIGHTHOUSE_SECONDS, env=env, check=False
    )
    if not output.exists():
        return {"runtimeError": {"message": (completed.stderr or completed.stdout)[-1000:] or "no report"}}
    return json.loads(output.read_text())


PERSONAS = ("visitor", "requester", "intercessor", "leader")  # audit.pages.PERSONAS, before Django is set up


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=PERSONAS, action="append", help="this persona only (repeatable)")
    parser.add_argument("--page", action="append", help="only the page(s) of this name")
    parser.add_argument("--form-factor", choices=(*FORM_FACTORS, "both"), default="both")
    parser.add_argument("--min-score", type=int, default=95)
    args = parser.parse_args(argv)

    if not LIGHTHOUSE.exists():
        print(f"Lighthouse is missing ({LIGHTHOUSE}): run `make audit-tools`.", file=sys.stderr)
        return 2
    chrome = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
    if not shutil.which(chrome):
        print(f"Chromium is missing ({chrome}): apt-get install chromium, or set CHROME_PATH.", file=sys.stderr)
        return 2
    personas = args.only or list(PERSONAS)
    form_factors = FORM_FACTORS if args.form_factor == "both" else (args.form_factor,)
    RESULTS.mkdir(parents=True, exist_ok=True)

    folder = Path(tempfile.mkdtemp(prefix="intercession-audit-"))
    process = None
    results: list[Result] = []
    started = time.monotonic()
    try:
        port = free_port()
        env = server_env(folder, port)
        setup_django(env)
        from audit import pages

        print(f"Preparing the demo in {folder} …", file=sys.stderr)
        walk, sessions, cookie_name = prepare_site(personas)
        headers_files = {}
        for persona, session in sessions.items():
            headers_files[persona] = folder / f"headers-{persona}.json"
            headers_files[persona].write_text(json.dumps({"Cookie": f"{cookie_name}={session}"}))
        log = folder / "gunicorn.log"
        with open(log, "w") as log_file:
            process = subprocess.Popen(  # noqa: S603 - our own server
                [str(GUNICORN), "-c", "gunicorn.conf.py", "intercession.wsgi"],
                cwd=ROOT,
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        wait_until_up(port, process, log)
        for persona, persona_pages in walk.items():
            for name, path in persona_pages:
                if args.page and name not in args.page:
                    continue
                for form_factor in form_factors:
                    indexable = (persona, name) in pages.INDEXABLE
                    if pages.expected_status(name) != 200:
                        # Lighthouse refuses to audit an answer of 400 or more
                        # ("unable to reliably load the page"): the browser
                        # test's axe and Nu checks cover it.
                        why = f"HTTP {pages.expected_status(name)}"
                        (RESULTS / f"{persona}-{name}-{form_factor}.json").unlink(missing_ok=True)
                        results.append(Result(persona, name, form_factor, {}, [], indexable, skipped=why))
                        continue
                    output = RESULTS / f"{persona}-{name}-{form_factor}.json"
                    print(f"Lighthouse: {persona} {name} {form_factor} …", file=sys.stderr)
                    url = f"http://127.0.0.1:{port}{path}"
                    for _attempt in range(ATTEMPTS):
                        report = lighthouse(url, output, form_factor, headers_files.get(persona))
                        if not report.get("runtimeError"):
                            break
                        # A trace Lighthouse failed to record (NO_NAVSTART and the
                        # like): it asks to be run again.
                        print(f"  {report['runtimeError'].get('code', 'error')}: again", file=sys.stderr)
                    results.append(result_of(report, persona, name, form_factor, indexable, url))
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=25)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(folder, ignore_errors=True)

    print(table(results))
    for result in results:
        if result.skipped:
            print(
                f"Skipped {result.persona} / {result.page} / {result.form_factor}: "
                f"{result.skipped}, which Lighthouse does not audit."
            )
    print(f"\n{len(results)} runs in {time.monotonic() - started:.0f} s; reports in {RESULTS.relative_to(ROOT)}/")
    report = failures(results, args.min_score)
    if report:
        print(f"\nBelow {args.min_score}:\n\n{report}")
        return 1
    print(f"\nEvery applicable score is {args.min_score} or more.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
