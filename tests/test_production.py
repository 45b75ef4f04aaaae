"""Serving the app as a church server does (issue 10): collected static files
served by the app itself (WhiteNoise), gunicorn with gunicorn.conf.py and its
redacted access log, and the files of deploy/ (systemd units, Caddyfile,
the environment file) checked by the tools that will read them.

The HTTP tests share one `production_server` (tests/conftest.py): DEBUG off,
`collectstatic`, `gunicorn -c gunicorn.conf.py`, an SQLite database of its
own. The deploy checks need `systemd-analyze` and `caddy` (.ci/run installs
Caddy) and are skipped, with that reason, without them.
"""

import base64
import datetime
import gzip
import json
import logging
import os
import re
import runpy
import secrets
import shutil
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import brotli
import pytest
from fault_helpers import ROOT, Browser
from gunicorn.config import Config

from intercession.gunicorn_logging import RedactingLogger, redact_atoms

DEPLOY = ROOT / "deploy"
HASHED_NAME = re.compile(r"\.[0-9a-f]{12}\.(css|js)$")
CONTENT_TYPES = {".css": {"text/css"}, ".js": {"text/javascript", "application/javascript"}}
ONE_YEAR = 365 * 24 * 60 * 60
LOG_WAIT_SECONDS = 10
TOOL_SECONDS = 60


class _Assets(HTMLParser):
    """The stylesheets and scripts a page links."""

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "link" and "stylesheet" in (attributes.get("rel") or "").split() and attributes.get("href"):
            self.urls.append(attributes["href"])
        elif tag == "script" and attributes.get("src"):
            self.urls.append(attributes["src"])


def assets_of(page: str) -> list[str]:
    parser = _Assets()
    parser.feed(page)
    return parser.urls


@pytest.fixture(scope="module")
def ask_page(production_server):
    response = Browser(production_server.port).get("/ask/")
    assert response.status == 200, response.text[:500]
    return response


@pytest.fixture(scope="module")
def stylesheet(ask_page) -> str:
    """The largest stylesheet /ask/ links (Bootstrap's)."""
    return next(url for url in assets_of(ask_page.text) if "bootstrap" in url and url.endswith(".css"))


# --- Static files ----------------------------------------------------------


def test_it_serves_every_stylesheet_and_script_of_a_page_hashed_typed_and_cached_for_ever(production_server, ask_page):
    assets = assets_of(ask_page.text)
    assert sum(url.endswith(".css") for url in assets) >= 2
    assert sum(url.endswith(".js") for url in assets) >= 2
    browser = Browser(production_server.port)
    for url in assets:
        assert HASHED_NAME.search(url), f"{url} has no content hash in its name"
        response = browser.get(url)
        assert response.status == 200, url
        content_type = response.headers["Content-Type"].split(";")[0].strip()
        assert content_type in CONTENT_TYPES[Path(url).suffix], (url, content_type)
        cache_control = response.headers["Cache-Control"]
        assert "immutable" in cache_control, (url, cache_control)
        assert "public" in cache_control, (url, cache_control)
        assert int(re.search(r"max-age=(\d+)", cache_control).group(1)) >= ONE_YEAR, (url, cache_control)
        assert "no-store" not in cache_control, (url, cache_control)
        assert response.headers["X-Content-Type-Options"] == "nosniff", url
        assert response.headers["Cross-Origin-Resource-Policy"] == "same-origin", url
        assert response.headers.get("Set-Cookie") is None, url


def test_it_keeps_pages_no_store_and_under_the_content_security_policy(ask_page):
    assert "no-store" in ask_page.headers["Cache-Control"]
    policy = ask_page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "style-src 'self'" in policy
    assert "unsafe-inline" not in policy


def test_it_caches_a_file_asked_for_by_its_plain_name_only_briefly(production_server, stylesheet):
    plain_name = HASHED_NAME.sub(r".\1", stylesheet)

    response = Browser(production_server.port).get(plain_name)

    assert response.status == 200
    assert "immutable" not in response.headers["Cache-Control"]
    assert "no-store" not in response.headers["Cache-Control"]


@pytest.mark.parametrize(("encoding", "decompress"), [("br", brotli.decompress), ("gzip", gzip.decompress)])
def test_it_sends_the_compressed_file_to_a_browser_that_accepts_it(
    production_server, stylesheet, encoding, decompress
):
    browser = Browser(production_server.port)
    plain = browser.get(stylesheet)

    compressed = browser.get(stylesheet, headers={"Accept-Encoding": encoding})

    assert "Content-Encoding" not in plain.headers
    assert compressed.status == 200
    assert compressed.headers["Content-Encoding"] == encoding
    assert "Accept-Encoding" in compressed.headers["Vary"]
    assert "immutable" in compressed.headers["Cache-Control"]
    assert len(compressed.content) < len(plain.content) / 3
    assert decompress(compressed.content) == plain.content


def test_it_prefers_brotli_when_both_are_accepted(production_server, stylesheet):
    response = Browser(production_server.port).get(stylesheet, headers={"Accept-Encoding": "gzip, deflate, br"})

    assert response.headers["Content-Encoding"] == "br"


# --- gunicorn's access log ------------------------------------------------


def logged_line(server, needle: str) -> tuple[str, str]:
    """The access-log line holding `needle`, and the whole log (gunicorn
    writes the line after the response; polled, bounded)."""
    deadline = time.monotonic() + LOG_WAIT_SECONDS
    while True:
        log = server.log_path.read_text()
        lines = [line for line in log.splitlines() if needle in line]
        if lines:
            return lines[0], log
        if time.monotonic() > deadline:
            pytest.fail(f"no access-log line with {needle!r} in {LOG_WAIT_SECONDS}s:\n{log[-3000:]}")
        time.sleep(0.05)


def probe() -> str:
    """A query-string name that finds this test's line (names are kept, values are not)."""
    return f"probe{secrets.token_hex(6)}"


def test_it_writes_no_followup_token_into_gunicorns_access_log(production_server):
    token, name = secrets.token_urlsafe(24), probe()

    Browser(production_server.port).get(f"/followup/{token}/?{name}=private-words")

    line, log = logged_line(production_server, name)
    assert f'"GET /followup/[token]/?{name}=[redacted] HTTP/1.1"' in line
    assert token not in log
    assert "private-words" not in log


def test_it_writes_no_token_a_referer_carries(production_server):
    token, name = secrets.token_urlsafe(24), probe()
    referer = f"http://127.0.0.1:{production_server.port}/followup/{token}/update/?q=Martha"

    Browser(production_server.port).get(f"/ask/?{name}=1", headers={"Referer": referer})

    line, log = logged_line(production_server, name)
    assert f'"http://127.0.0.1:{production_server.port}/followup/[token]/update/?q=[redacted]"' in line
    assert token not in log
    assert "Martha" not in log


def test_it_writes_no_password_reset_token(production_server):
    token, name = f"cx1ab2-{secrets.token_hex(16)}", probe()

    Browser(production_server.port).get(f"/accounts/password/reset/MTIzNDU/{token}/?{name}=1")

    line, log = logged_line(production_server, name)
    assert "/accounts/password/reset/[uid]/[token]/" in line
    assert token not in log


def test_it_writes_no_token_of_a_followup_path_the_client_percent_encoded(production_server):
    # gunicorn decodes the path before Django routes it: this is the
    # follow-up page too, so its token must not reach the log either.
    token, name = secrets.token_urlsafe(24), probe()

    Browser(production_server.port).get(f"/%66ollowup/{token}/?{name}=1")

    line, log = logged_line(production_server, name)
    assert "/followup/[token]/" in line
    assert token not in log


def test_it_redacts_every_atom_that_can_carry_a_secret():
    atoms = {
        "h": "127.0.0.1",
        "s": 200,
        "B": None,
        "r": "GET /followup/tok3n/?q=Martha&page=2 HTTP/1.1",
        "U": "/followup/tok3n/",
        "q": "q=Martha&page=2",
        "f": "https://pray.example.org/followup/tok3n/?q=Martha",
        "a": "Mozilla/5.0 (X11; Linux x86_64)",
        "{referer}i": "https://pray.example.org/followup/tok3n/",
        "{x-original-url}i": "/followup/tok3n/",
        "{raw_uri}e": "/accounts/password/reset/MQ/set-password/?next=/mine/",
        "{query_string}e": "search=Martha",
        "{path_info}e": '/ask/"\nforged line',
        "{request_uri}e": "/accounts/welcome/w3lc0me/",
    }

    assert redact_atoms(atoms) == {
        "h": "127.0.0.1",
        "s": 200,
        "B": None,
        "r": "GET /followup/[token]/?q=[redacted]&page=[redacted] HTTP/1.1",
        "U": "/followup/[token]/",
        "q": "q=[redacted]&page=[redacted]",
        "f": "https://pray.example.org/followup/[token]/?q=[redacted]",
        "a": "Mozilla/5.0 (X11; Linux x86_64)",
        "{referer}i": "https://pray.example.org/followup/[token]/",
        "{x-original-url}i": "/followup/[token]/",
        "{raw_uri}e": "/accounts/password/reset/[uid]/[token]/?next=[redacted]",
        "{query_string}e": "search=[redacted]",
        "{path_info}e": "/ask/%22%0Aforged%20line",
        "{request_uri}e": "/accounts/welcome/[token]/",
    }


@pytest.fixture
def gunicorn_logger():
    """A RedactingLogger with its access log on, and the records it writes."""
    config = Config()
    config.set("accesslog", "-")
    logger = RedactingLogger(config)
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.access_log.addHandler(handler)
    logger.error_log.addHandler(handler)
    yield logger, records
    logger.access_log.removeHandler(handler)
    logger.error_log.removeHandler(handler)


def access(logger, path: str, status: str) -> None:
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": path, "PATH_INFO": path, "SERVER_PROTOCOL": "HTTP/1.1"}
    response = SimpleNamespace(status=status, headers=[], sent=2)
    logger.access(response, SimpleNamespace(headers=[]), environ, datetime.timedelta(milliseconds=3))


def test_it_leaves_a_health_check_that_says_ok_out_of_the_access_log(gunicorn_logger):
    logger, records = gunicorn_logger

    access(logger, "/healthz", "200 OK")
    access(logger, "/healthz", "503 Service Unavailable")
    access(logger, "/followup/tok3n/", "200 OK")

    assert [record.getMessage().split('"')[1] for record in records] == [
        "GET /healthz HTTP/1.1",
        "GET /followup/[token]/ HTTP/1.1",
    ]


def test_it_redacts_gunicorns_error_log_too(gunicorn_logger):
    logger, records = gunicorn_logger

    logger.error("Error handling request %s", "/followup/tok3n/?q=Martha")

    assert [record.getMessage() for record in records] == ["Error handling request /followup/[token]/?q=[redacted]"]


# --- gunicorn.conf.py -----------------------------------------------------


def gunicorn_conf(monkeypatch, **env: str) -> dict:
    for name in list(os.environ):
        if name.startswith("GUNICORN_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(ROOT / "gunicorn.conf.py"))


def test_it_names_only_settings_gunicorn_knows(monkeypatch):
    # gunicorn ignores a name it does not know: a typo would pass unnoticed.
    names = {name for name, value in gunicorn_conf(monkeypatch).items() if not name.startswith("_")}
    names -= {"os"}

    assert names - set(Config().settings) == set()


def test_it_sizes_gunicorn_from_the_cores_unless_told(monkeypatch):
    conf = gunicorn_conf(monkeypatch)

    assert conf["bind"] == ["127.0.0.1:8000"]
    assert conf["workers"] == min(2 * len(os.sched_getaffinity(0)) + 1, 8)
    assert conf["threads"] == 1
    assert conf["timeout"] > conf["graceful_timeout"] > 0
    assert conf["max_requests"] == 1000
    assert 0 < conf["max_requests_jitter"] < conf["max_requests"]
    assert conf["accesslog"] == "-"
    assert conf["logger_class"] == "intercession.gunicorn_logging.RedactingLogger"


def test_it_takes_gunicorns_settings_from_the_environment(monkeypatch):
    conf = gunicorn_conf(
        monkeypatch,
        GUNICORN_BIND="127.0.0.1:9001",
        GUNICORN_WORKERS="3",
        GUNICORN_THREADS="4",
        GUNICORN_TIMEOUT="60",
        GUNICORN_MAX_REQUESTS="0",
    )

    assert conf["bind"] == ["127.0.0.1:9001"]
    assert (conf["workers"], conf["threads"], conf["timeout"]) == (3, 4, 60)
    assert (conf["max_requests"], conf["max_requests_jitter"]) == (0, 0)


# --- deploy/ --------------------------------------------------------------


def run_tool(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - a fixed tool on our own files
        command, capture_output=True, text=True, timeout=TOOL_SECONDS, check=False, **kwargs
    )


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (apt-get install {'systemd' if name.startswith('systemd') else name})")
    return path


UNITS = sorted(path.name for path in DEPLOY.iterdir() if path.suffix in {".service", ".timer"})
SERVICES = [name for name in UNITS if name.endswith(".service")]


@pytest.fixture
def units_here(tmp_path) -> Path:
    """deploy/'s units in a folder of their own, their programs pointed at
    this checkout's virtualenv: `verify` checks that each ExecStart exists,
    and /srv/intercession is the server's, not this machine's."""
    for name in UNITS:
        text = (DEPLOY / name).read_text()
        (tmp_path / name).write_text(text.replace("/srv/intercession/.venv/bin/", f"{Path(sys.executable).parent}/"))
    return tmp_path


def test_it_ships_the_units_a_server_needs():
    assert set(UNITS) >= {
        "intercession.service",
        "intercession-outbox.service",
        "intercession-outbox.timer",
        "intercession-outbox-once.service",
        "intercession-reminders.service",
        "intercession-reminders.timer",
        "intercession-cleanup.service",
        "intercession-cleanup.timer",
    }


def test_the_systemd_units_pass_systemd_analyze_verify(units_here):
    result = run_tool([tool("systemd-analyze"), "verify", "--man=no", *UNITS], cwd=units_here)

    # verify warns about unknown keys and bad values without failing: any output is a finding.
    assert result.returncode == 0, result.stderr
    assert (result.stdout + result.stderr).strip() == ""


@pytest.mark.parametrize("name", SERVICES)
def test_every_service_is_hardened(units_here, name):
    text = (DEPLOY / name).read_text()
    for line in (
        "User=intercession",
        "WorkingDirectory=/srv/intercession",
        "EnvironmentFile=/etc/intercession/intercession.env",
        "ProtectSystem=strict",
        "ProtectHome=true",
        "PrivateTmp=true",
        "NoNewPrivileges=true",
        "CapabilityBoundingSet=",
    ):
        assert re.search(rf"^{re.escape(line)}$", text, re.MULTILINE), f"{name}: no {line}"

    result = run_tool([tool("systemd-analyze"), "security", "--offline=yes", str(units_here / name)])
    if result.returncode != 0 and "offline" in result.stderr:
        pytest.skip(f"this systemd-analyze cannot score a unit file offline: {result.stderr.strip()}")
    exposure = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert exposure, result.stdout[-2000:] + result.stderr
    assert float(exposure.group(1)) <= 2.0, result.stdout


def test_expired_sessions_are_cleared_daily():
    service = (DEPLOY / "intercession-cleanup.service").read_text()
    timer = (DEPLOY / "intercession-cleanup.timer").read_text()

    assert re.search(r"^ExecStart=\S+/python manage.py clearsessions$", service, re.MULTILINE)
    assert re.search(r"^OnCalendar=\*-\*-\* \d\d:\d\d:00$", timer, re.MULTILINE)
    assert re.search(r"^Persistent=true$", timer, re.MULTILINE)


def test_the_reminders_run_daily_and_catch_up_after_a_shutdown():
    text = (DEPLOY / "intercession-reminders.timer").read_text()

    assert re.search(r"^OnCalendar=\*-\*-\* 07:00:00$", text, re.MULTILINE)
    assert re.search(r"^Persistent=true$", text, re.MULTILINE)


def test_the_outbox_runs_one_way_or_the_other_never_both():
    loop = (DEPLOY / "intercession-outbox.service").read_text()
    timer = (DEPLOY / "intercession-outbox.timer").read_text()

    assert "send_outbox --loop" in loop
    assert re.search(r"^Conflicts=.*intercession-outbox\.timer", loop, re.MULTILINE)
    assert re.search(r"^Unit=intercession-outbox-once\.service$", timer, re.MULTILINE)
    assert re.search(r"^Conflicts=intercession-outbox\.service$", timer, re.MULTILINE)


@pytest.fixture
def caddy(tmp_path) -> tuple[str, dict[str, str]]:
    """Caddy, with a home of its own (validate provisions its TLS storage)."""
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data")}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    return tool("caddy"), env


def test_the_caddyfile_is_valid(caddy):
    program, env = caddy

    result = run_tool([program, "validate", "--adapter", "caddyfile", "--config", str(DEPLOY / "Caddyfile")], env=env)

    assert result.returncode == 0, result.stderr[-3000:]
    assert "Valid configuration" in result.stdout + result.stderr


def test_caddy_proxies_to_gunicorn_and_keeps_no_access_log(caddy, monkeypatch):
    program, env = caddy
    result = run_tool([program, "adapt", "--adapter", "caddyfile", "--config", str(DEPLOY / "Caddyfile")], env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    config = json.loads(result.stdout)
    adapted = json.dumps(config)

    (server,) = config["apps"]["http"]["servers"].values()
    assert "logs" not in server, "an access log would keep every follow-up token"
    assert '"handler": "encode"' not in adapted, "compressing pages next to secrets invites BREACH"
    assert '"dial": "127.0.0.1:8000"' in adapted
    assert gunicorn_conf(monkeypatch)["bind"] == ["127.0.0.1:8000"]


# --- What an operator is given ---------------------------------------------

SETTING = re.compile(r"""env_(?:str|bool|int|list)\(\s*["']([A-Z][A-Z0-9_]+)["']""")
CONF_SETTING = re.compile(r"""["'](GUNICORN_[A-Z_]+)["']""")
EXAMPLE_NAME = re.compile(r"^#?\s?([A-Z][A-Z0-9_]+)=", re.MULTILINE)


def variables() -> set[str]:
    """Every environment variable the settings and gunicorn.conf.py read."""
    return set(SETTING.findall((ROOT / "intercession" / "settings.py").read_text())) | set(
        CONF_SETTING.findall((ROOT / "gunicorn.conf.py").read_text())
    )


def test_the_environment_example_names_only_variables_the_app_reads():
    named = set(EXAMPLE_NAME.findall((DEPLOY / "intercession.env.example").read_text()))

    assert named - variables() == set()
    assert {
        "DJANGO_SECRET_KEY",
        "INTERCESSION_ENCRYPTION_KEYS",
        "DJANGO_ALLOWED_HOSTS",
        "DATABASE_URL",
        "DJANGO_CACHE_URL",
        "DJANGO_SECURE_PROXY_SSL_HEADER",
        "DJANGO_TRUSTED_PROXY_COUNT",
        "INTERCESSION_SITE_URL",
        "DJANGO_EMAIL_HOST",
        "DJANGO_DEFAULT_FROM_EMAIL",
    } <= named


def example_environment() -> dict[str, str]:
    """deploy/intercession.env.example as systemd reads it (KEY=value, optional double quotes)."""
    env = {}
    for line in (DEPLOY / "intercession.env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            env[name] = value[1:-1] if value.startswith('"') and value.endswith('"') else value
    return env


def generated_secrets() -> dict[str, str]:
    """What an operator generates for the example's CHANGE-ME secrets."""
    return {
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "INTERCESSION_ENCRYPTION_KEYS": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    }


def test_the_environment_example_passes_the_deploy_check():
    env = {**example_environment(), **generated_secrets(), "PATH": os.environ["PATH"]}

    result = run_tool([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT, env=env)

    assert result.returncode == 0, result.stderr[-3000:]


def test_the_deploy_check_refuses_what_make_serve_sets_for_plain_http():
    env = {**example_environment(), **generated_secrets(), "PATH": os.environ["PATH"]}
    env["DJANGO_SECURE_COOKIES"] = "0"

    result = run_tool([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT, env=env)

    assert result.returncode != 0
    assert "SESSION_COOKIE_SECURE" in result.stderr
    assert "CSRF_COOKIE_SECURE" in result.stderr


def test_the_readme_documents_every_variable():
    readme = (ROOT / "README.md").read_text()

    assert {name for name in variables() if f"`{name}`" not in readme} == set()
