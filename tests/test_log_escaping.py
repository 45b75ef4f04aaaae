"""What a client sends (a path, a `next`, a Host header) is written to the
logs escaped: an escape sequence cannot repaint the terminal of whoever
reads the log, and a line break cannot forge a log line."""

import logging

import pytest
from test_logs_and_crashes import log_output  # noqa: F401 - a fixture

from requests_app.web.log_filters import RedactSecrets, escape_controls


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\x1b[31mred", "\\x1b[31mred"),
        ("a\nINFO forged line", "a\\x0aINFO forged line"),
        ("a\r\nb", "a\\x0d\\x0ab"),
        ("nul\x00", "nul\\x00"),
        ("right\u202eto left", "right\\u202eto left"),
        ("zero\u200bwidth", "zero\\u200bwidth"),
        ("plain text, ünïcode, 🙏", "plain text, ünïcode, 🙏"),
    ],
)
def test_it_escapes_control_and_format_characters(text, expected):
    assert escape_controls(text) == expected


def test_it_escapes_what_a_record_s_arguments_carry_and_keeps_the_message_s_own_lines():
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "Bad next %s\nsecond line", ("\x1b[2J\nFAKE",), None)

    RedactSecrets().filter(record)

    assert record.getMessage() == "Bad next \\x1b[2J\\x0aFAKE\nsecond line"


def test_a_404_for_a_path_with_an_escape_sequence_is_one_escaped_line(client, db, log_output):  # noqa: F811
    response = client.get("/no-such-page/%1b%5b31m%0aINFO%20forged/")

    assert response.status_code == 404
    written = log_output.getvalue()
    assert "\x1b" not in written
    assert written.count("\n") == 1, written  # one line: no forged second one
    assert "INFO forged" in written


def test_a_bad_host_header_is_logged_escaped(client, db, log_output):  # noqa: F811
    response = client.get("/ask/", HTTP_HOST="evil\x1b[31m.example")

    assert response.status_code == 400
    assert "\x1b" not in log_output.getvalue()
