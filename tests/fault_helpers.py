"""
Tools for the fault tests (tests/test_faults.py) and the production tests
(tests/test_production.py): a throwaway PostgreSQL cluster, the app served
for real by gunicorn with collected static files, and a small HTTP client.

The cluster is our own (initdb in a temporary folder, its own port), so the
tests may stop, restart and lock it without touching the shared server on
5432. initdb and postgres refuse to run as root: as root, they run as the
`postgres` system user. Every wait is bounded.
"""

import atexit
import functools
import glob
import html
import http.client
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).parent / "gunicorn"
START_SECONDS = 30
COMMAND_SECONDS = 120


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def postgres_bin_dir() -> Path | None:
    """The newest PostgreSQL server binaries on this machine, if any."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parent.parent.name), reverse=True
    )
    if candidates:
        return Path(candidates[0]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(  # noqa: S603 - fixed programs, arguments of our own
        command, capture_output=True, text=True, timeout=COMMAND_SECONDS, check=False, **kwargs
    )
    if result.returncode != 0:
        raise RuntimeError(f"{command[0]} failed ({result.returncode}): {result.stderr[-2000:]}")
    return result


class Cluster:
    """A PostgreSQL cluster of our own, on 127.0.0.1:<port>, trust auth."""

    def __init__(self, bin_dir: Path):
        self.bin_dir = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="intercession-faults-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = free_port()
        self.as_owner: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.root, user="postgres")
            self.as_owner = ["runuser", "-u", "postgres", "--"]

    def _server(self, *args: str) -> subprocess.CompletedProcess:
        return _run([*self.as_owner, str(self.bin_dir / args[0]), *args[1:]])

    def init(self) -> None:
        self._server("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "-N")

    def _ctl(self, action: str, *extra: str) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=60"
        self._server(
            "pg_ctl", action, "-D", str(self.data), "-l", str(self.log), "-w", "-t", "30", "-o", options, *extra
        )

    def start(self) -> None:
        self._ctl("start")

    def stop(self) -> None:
        self._ctl("stop", "-m", "fast")

    def restart(self) -> None:
        self._ctl("restart", "-m", "fast")

    def destroy(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._ctl("stop", "-m", "immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, dbname: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{dbname}"

    def connect(self, dbname: str = "postgres", **kwargs) -> psycopg.Connection:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname=dbname, connect_timeout=5, **kwargs
        )

    def create_database(self, name: str, template: str | None = None) -> None:
        with self.connect(autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))

    def client(self, program: str, *args: str) -> subprocess.CompletedProcess:
        """pg_dump, pg_restore, … of the same version, against this cluster."""
        return _run([str(self.bin_dir / program), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", *args])


def app_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a real deployment of the app, on loopback."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_", "INTERCESSION_", "PYTEST", "COV_"))
    }
    env.update(
        {
            "DJANGO_SECRET_KEY": "fault-tests-secret-key-" + "x" * 40,
            # The suite's own key: the test process reads what the served app stored.
            "INTERCESSION_ENCRYPTION_KEYS": os.environ["INTERCESSION_ENCRYPTION_KEYS"],
            "DJANGO_DEBUG": "0",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "DJANGO_SECURE_SSL_REDIRECT": "0",
            "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            "DJANGO_LOG_LEVEL": "WARNING",
            "DATABASE_URL": database_url,
            **extra,
        }
    )
    return env


@functools.cache
def collected_static() -> Path:
    """`collectstatic` into a temporary STATIC_ROOT, once per test process:
    with DEBUG off, every page links the hashed names of its manifest."""
    root = Path(tempfile.mkdtemp(prefix="intercession-static-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    manage(app_env("sqlite://:memory:", DJANGO_STATIC_ROOT=str(root)), "collectstatic", "--no-input", "-v", "0")
    return root


def manage(env: dict[str, str], *args: str) -> str:
    return _run([sys.executable, "manage.py", *args], cwd=ROOT, env=env).stdout


class AppServer:
    """`gunicorn intercession.wsgi` on 127.0.0.1:<port>, as in production.

    With `config=True`, exactly as deploy/intercession.service runs it:
    `gunicorn -c gunicorn.conf.py`, told its address and workers through the
    environment (its access log then lands in `log_path`)."""

    def __init__(self, env: dict[str, str], *, workers: int = 2, log_dir: Path, config: bool = False):
        self.env = env
        self.workers = workers
        self.config = config
        self.port = free_port()
        self.log_path = log_dir / f"gunicorn-{self.port}.log"
        self.process: subprocess.Popen | None = None

    def _command(self) -> tuple[list[str], dict[str, str]]:
        env = {"DJANGO_STATIC_ROOT": str(collected_static()), **self.env}
        if self.config:
            env.update(GUNICORN_BIND=f"127.0.0.1:{self.port}", GUNICORN_WORKERS=str(self.workers))
            return [str(GUNICORN), "-c", "gunicorn.conf.py", "intercession.wsgi"], env
        command = [
            str(GUNICORN),
            "intercession.wsgi:application",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(self.workers),
            "--timeout",
            "30",
            "--graceful-timeout",
            "3",
        ]
        return command, env

    def start(self) -> "AppServer":
        command, env = self._command()
        log = open(self.log_path, "w")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(  # noqa: S603 - our own server
            command,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log_path.read_text()[-2000:]}")
            try:
                if Browser(self.port).get("/accounts/login/", timeout=2).status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer in {START_SECONDS}s: {self.log_path.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    text: str
    started: float = 0.0
    ended: float = 0.0
    content: bytes = b""

    @property
    def location(self) -> str:
        return self.headers.get("Location", "")


@dataclass
class Browser:
    """One visitor: keeps its cookies (Secure ones too: this is loopback
    HTTP) and talks to whichever app server it is pointed at."""

    port: int
    cookies: dict[str, str] = field(default_factory=dict)

    def request(
        self, method: str, path: str, data: dict | None = None, *, port=None, timeout=15, headers=None
    ) -> Response:
        conn = http.client.HTTPConnection("127.0.0.1", port or self.port, timeout=timeout)
        headers = {"Connection": "close", **(headers or {})}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        body = None
        if data is not None:
            body = urllib.parse.urlencode(data, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.monotonic()
        try:
            conn.request(method, path, body=body, headers=headers)
            raw = conn.getresponse()
            content = raw.read()
        finally:
            conn.close()
        for header in raw.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            if "max-age=0" in header.lower() or "01 jan 1970" in header.lower():
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        text = content.decode("utf-8", "replace")
        return Response(raw.status, raw.headers, text, started, time.monotonic(), content)

    def get(self, path: str, **kwargs) -> Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, data: dict, **kwargs) -> Response:
        """A form post with the CSRF token (fetched from `path` first if the
        visitor has no CSRF cookie yet)."""
        if "csrftoken" not in self.cookies:
            self.get(path, **kwargs)
        return self.request("POST", path, {**data, "csrfmiddlewaretoken": self.cookies.get("csrftoken", "")}, **kwargs)

    def log_in(self, username: str, password: str, **kwargs) -> Response:
        return self.post("/accounts/login/", {"username": username, "password": password}, **kwargs)

    def log_out(self, **kwargs) -> Response:
        return self.post("/accounts/logout/", {}, **kwargs)


def ask_data(title: str, **extra: str) -> dict[str, str]:
    """The public form, filled in: not confidential, so the title is easy to find."""
    return {"for_whom": "F. T.", "title": title, "category": "health", "details": "", "consent": "knows", **extra}


def page_text(response: Response) -> str:
    """The visible words of a page, on one line."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.text)).split())


def is_sent(response: Response) -> bool:
    """The public form's success: a redirect to the page with the link."""
    return response.status in (302, 303) and response.location.endswith("/ask/sent/")
