"""What speaking another language costs a page: `python -m bench.languages`.

Opens the main pages of the demo (`make run` builds it: db.sqlite3, or
`--database URL`) as its leader and as a visitor, in each shipped language,
interleaved round by round, and prints each page's median thread CPU (the
Django thread only: stable when the machine is busy, unlike wall time) and
its ratio to the same page in English. Production settings (bench.settings:
DEBUG off, cached templates). A script that prints figures, never a timed
test (DEVELOPERS.md).
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

PAGES = [
    ("triage", "leader"),
    ("request page", "leader"),
    ("my assignments", "leader"),
    ("dashboard", "leader"),
    ("the public form", None),
    ("log-in page", None),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="sqlite:///db.sqlite3", help="the demo's database (make run)")
    parser.add_argument("--rounds", type=int, default=60)
    args = parser.parse_args(argv)
    os.environ["DATABASE_URL"] = args.database
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    os.environ["DJANGO_DEBUG"] = "0"
    # The demo's text is sealed with the development key `make run` made.
    key_file = Path(__file__).resolve().parents[1] / ".dev-encryption-key"
    if "INTERCESSION_ENCRYPTION_KEYS" not in os.environ and key_file.exists():
        os.environ["INTERCESSION_ENCRYPTION_KEYS"] = key_file.read_text().strip()
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.test import Client
    from django.urls import reverse

    from requests_app.models import PrayerRequest

    leader = User.objects.filter(username="leader").first()
    if leader is None:
        print("No demo here: run `make run` (or `make reset-demo`) first, or give --database.", file=sys.stderr)
        return 2
    urls = {
        "triage": reverse("triage"),
        "request page": reverse("request_detail", args=[PrayerRequest.objects.order_by("-pk").values("pk")[0]["pk"]]),
        "my assignments": reverse("my_assignments"),
        "dashboard": reverse("dashboard"),
        "the public form": reverse("ask"),
        "log-in page": reverse("login"),
    }
    codes = [code for code, _name in settings.LANGUAGES]
    clients = {}
    for code in codes:
        member, visitor = Client(HTTP_ACCEPT_LANGUAGE=code), Client(HTTP_ACCEPT_LANGUAGE=code)
        member.force_login(leader)
        member.cookies[settings.LANGUAGE_COOKIE_NAME] = code
        clients[code] = {"leader": member, None: visitor}
    times: dict[tuple[str, str], list[float]] = {(page, code): [] for page, _who in PAGES for code in codes}
    for round_number in range(args.rounds + 5):
        for page, who in PAGES:
            for code in codes:
                client = clients[code][who]
                started = time.thread_time()
                response = client.get(urls[page])
                spent = time.thread_time() - started
                if response.status_code != 200:
                    print(f"{page} in {code}: {response.status_code}", file=sys.stderr)
                    return 1
                if round_number >= 5:  # the first rounds warm the caches
                    times[(page, code)].append(spent * 1000)
    print(f"Thread CPU per page, median of {args.rounds} interleaved rounds, ms (ratio to English)\n")
    print("| page | " + " | ".join(codes) + " |")
    print("|---|" + "---:|" * len(codes))
    for page, _who in PAGES:
        english = statistics.median(times[(page, "en")])
        cells = []
        for code in codes:
            median = statistics.median(times[(page, code)])
            cells.append(f"{median:.1f}" if code == "en" else f"{median:.1f} ({median / english:.2f})")
        print(f"| {page} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
