"""`make run` and `make reset-demo`, run for real by make, with a stand-in for
the virtualenv's python that writes down each command it was given, with the
environment and whether the demo database was there at that moment."""

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAKE = shutil.which("make")
pytestmark = pytest.mark.skipif(MAKE is None, reason="make is not installed")

FAKE_PYTHON = """#!/bin/sh
if [ -f db.sqlite3 ]; then database=present; else database=absent; fi
echo "$*|$database|$DJANGO_DEBUG|$INTERCESSION_SITE_URL|$DJANGO_RUNSERVER_HIDE_WARNING" >> "$CALLS"
case "$*" in
  *--check-demo*) if [ -n "$NOT_THE_DEMO" ]; then echo "This database is not the demo's." >&2; exit 1; fi ;;
esac
"""
DEMO_FILES = ("db.sqlite3", "db.sqlite3-wal", "db.sqlite3-shm")


@pytest.fixture
def make(tmp_path):
    """`make(*arguments, **environment)` in an empty directory, with the
    project's Makefile and the stand-in python; returns (result, calls)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    python = bin_dir / "python"
    python.write_text(FAKE_PYTHON)
    python.chmod(0o755)
    for requirements in ("requirements.txt", "requirements-dev.txt"):
        (tmp_path / requirements).touch()
    # Installed after the requirements changed: make installs nothing.
    installed = bin_dir / ".installed"
    installed.touch()
    later = time.time() + 60
    os.utime(installed, (later, later))
    calls = tmp_path / "calls"

    def run(*arguments: str, **environment: str) -> tuple[subprocess.CompletedProcess, list[str]]:
        result = subprocess.run(  # noqa: S603 - make, the project's Makefile, fixed arguments
            [
                MAKE,
                "--no-print-directory",
                "-f",
                str(ROOT / "Makefile"),
                "-C",
                str(tmp_path),
                f"BIN={bin_dir}",
                *arguments,
            ],
            env={"PATH": os.environ["PATH"], "CALLS": str(calls), **environment},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return result, calls.read_text().splitlines() if calls.exists() else []

    return run


@pytest.fixture
def demo_database(tmp_path) -> list[Path]:
    files = [tmp_path / name for name in DEMO_FILES]
    for file in files:
        file.write_text("the demo")
    return files


def test_it_runs_the_demo_on_the_host_and_port_given(make):
    result, calls = make("run", "HOST=0.0.0.0", "PORT=8080")

    assert result.returncode == 0, result.stderr
    assert calls == [
        "manage.py migrate --no-input|absent|1|http://0.0.0.0:8080|true",
        "manage.py seed_demo|absent|1|http://0.0.0.0:8080|true",
        "manage.py runserver 0.0.0.0:8080|absent|1|http://0.0.0.0:8080|true",
    ]


def test_it_links_e_mails_to_127_0_0_1_8000_by_default_and_keeps_a_site_url_given(make):
    _result, calls = make("run")
    assert calls[-1] == "manage.py runserver 127.0.0.1:8000|absent|1|http://127.0.0.1:8000|true"

    _result, calls = make("run", INTERCESSION_SITE_URL="https://pray.example.org")
    assert calls[-1] == "manage.py runserver 127.0.0.1:8000|absent|1|https://pray.example.org|true"


def test_it_resets_the_demo_database(make, demo_database):
    result, calls = make("reset-demo")

    assert result.returncode == 0, result.stderr
    assert calls == [
        "manage.py seed_demo --check-demo|present|1||",
        "manage.py migrate --no-input|absent|1||",
        "manage.py seed_demo|absent|1||",
    ]
    assert not any(file.exists() for file in demo_database)


def test_it_resets_the_demo_when_database_url_names_the_demo_file(make, demo_database, tmp_path):
    for url in (f"sqlite:///{tmp_path}/db.sqlite3", "sqlite:///db.sqlite3"):
        demo_database[0].write_text("the demo")

        result, calls = make("reset-demo", DATABASE_URL=url)

        assert result.returncode == 0, result.stderr
        assert calls[-1] == "manage.py seed_demo|absent|1||"


def test_it_builds_the_demo_when_there_is_no_database_yet(make):
    result, calls = make("reset-demo")

    assert result.returncode == 0, result.stderr
    assert calls == ["manage.py migrate --no-input|absent|1||", "manage.py seed_demo|absent|1||"]


@pytest.mark.parametrize(
    "url", ["postgres://postgres@127.0.0.1:5432/intercession", "sqlite:////srv/intercession/db.sqlite3", ""]
)
def test_it_refuses_to_reset_a_database_elsewhere(make, demo_database, url):
    result, calls = make("reset-demo", DATABASE_URL=url)

    assert result.returncode != 0
    assert "DATABASE_URL points somewhere else: nothing was deleted" in result.stderr
    assert "postgres://" not in result.stderr  # a URL can hold a password
    assert calls == []
    assert all(file.read_text() == "the demo" for file in demo_database)


def test_it_refuses_to_reset_a_database_that_is_not_the_demo_s(make, demo_database):
    result, calls = make("reset-demo", NOT_THE_DEMO="1")

    assert result.returncode != 0
    assert "not the demo's" in result.stderr
    assert calls == ["manage.py seed_demo --check-demo|present|1||"]
    assert all(file.read_text() == "the demo" for file in demo_database)
