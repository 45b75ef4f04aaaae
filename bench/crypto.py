"""What encryption at rest costs a page: `python -m bench.crypto`.

Prints the time to decrypt one short value and 25 rows of a list page
(title and "for whom" each), with AES-256-GCM as the app does it
(`requests_app.privacy.keys`) and with Fernet for comparison, and the time
to make the blind-index digests of a request. A script that prints
figures, never a timed test (DEVELOPERS.md)."""

import os
import statistics
import timeit

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "intercession.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")

import django

django.setup()

from cryptography.fernet import Fernet  # noqa: E402

from requests_app.privacy import blind_index, keys  # noqa: E402

TITLE = "Healing after surgery for my grandmother"
FOR_WHOM = "M. K."
DETAILS = "Pray for strength and for the doctors. The results come next week, and the family is anxious."
ROWS = 25


def _best_microseconds(function, number: int) -> float:
    runs = timeit.repeat(function, number=number, repeat=7)
    return min(runs) / number * 1e6, statistics.median(runs) / number * 1e6


def main() -> None:
    sealed = [keys.encrypt(TITLE) for _ in range(ROWS)] + [keys.encrypt(FOR_WHOM) for _ in range(ROWS)]
    fernet = Fernet(Fernet.generate_key())
    fernet_sealed = [fernet.encrypt(TITLE.encode()) for _ in range(ROWS)] + [
        fernet.encrypt(FOR_WHOM.encode()) for _ in range(ROWS)
    ]
    figures = [
        ("AES-GCM, one short value", _best_microseconds(lambda: keys.decrypt(sealed[0]), 20_000)),
        (f"AES-GCM, {ROWS} rows (2 values each)", _best_microseconds(lambda: [keys.decrypt(v) for v in sealed], 500)),
        ("Fernet, one short value", _best_microseconds(lambda: fernet.decrypt(fernet_sealed[0]), 20_000)),
        (
            f"Fernet, {ROWS} rows (2 values each)",
            _best_microseconds(lambda: [fernet.decrypt(v) for v in fernet_sealed], 500),
        ),
        ("AES-GCM, seal one short value", _best_microseconds(lambda: keys.encrypt(TITLE), 20_000)),
        (
            "blind index of one request",
            _best_microseconds(lambda: blind_index.word_digests(TITLE, FOR_WHOM, DETAILS), 5000),
        ),
    ]
    print(f"{'operation':<40} {'best µs':>10} {'median µs':>10}")
    for name, (best, median) in figures:
        print(f"{name:<40} {best:>10.1f} {median:>10.1f}")


if __name__ == "__main__":
    main()
