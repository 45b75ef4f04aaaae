"""
The church's own settings (issue 11): a leader's page at /church/, saved by
`requests_app.team.church_settings.save`, read everywhere through
`requests_app.church.current()` (cached).

Each setting takes effect where it governs: the name in page titles, the
header and e-mails; the welcome text and contact line on /ask/ (escaped, line
breaks kept); the accent colour in the church's stylesheet, which every page
links; the coverage days on the coverage page and the dashboard; the reminder
thresholds in what send_reminders counts; the confidential default and the
categories' order on the ask form (and the order in the filters); and a
paused form refuses what is sent to it. The cache is dropped when they
change. Bad input is refused with a clear message and changes nothing, not
even the audit log. Leaders only; the stylesheet is everyone's.
"""

import re
import threading
import time
from datetime import timedelta

import pytest
from conftest import PASSWORD, make_user
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from test_attacks import ALL, MULTILINE, NAME_PAYLOAD, escaping_problems

from requests_app import church, colours, roles
from requests_app.exceptions import NotAllowed
from requests_app.mail import reminders
from requests_app.models import (
    AuditAction,
    AuditLogEntry,
    Category,
    ChurchSettings,
    OutboxMessage,
    PrayerRequest,
    Status,
)
from requests_app.team import church_settings
from requests_app.web.middleware import LAST_SEEN_AT, LAST_SEEN_RESOLUTION

SETTINGS_PAGE = reverse("church_settings")
ASK = reverse("ask")
LOGIN = reverse("login")
PLACES = range(1, 10)
NEW_ORDER = ["nation", "church", "salvation", "family", "health", "marriage", "finances", "work", "other"]


def form_data(**changes) -> dict:
    """What the page posts: the current settings as the form shows them,
    with `changes` (field names of the form; `category_order` as a list)."""
    current = ChurchSettings.objects.filter(pk=1).first() or church.defaults()
    values = {name: getattr(current, name) for name in church_settings.EDITABLE}
    values.update(changes)
    data = {}
    for name, value in values.items():
        if name == "category_order":
            data.update({f"category_{place}": category for place, category in zip(PLACES, value, strict=True)})
        elif isinstance(value, bool):
            if value:
                data[name] = "on"
        elif isinstance(value, list):  # the sites that may frame the form: one a line
            data[name] = "\n".join(value)
        else:
            data[name] = str(value)
    return data


@pytest.fixture
def as_leader(client, leader):
    client.force_login(leader)
    return client


@pytest.fixture
def save(django_capture_on_commit_callbacks):
    """`save(client, **changes)`: the page posted, and what runs once it
    commits (dropping the cached settings) run."""

    def post(client, **changes):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(SETTINGS_PAGE, form_data(**changes))

    return post


def title_of(content: str) -> str:
    return re.search(r"<title>(.*?)</title>", content, re.S).group(1).strip()


def brand_of(content: str) -> str:
    return re.search(r'<a class="navbar-brand[^"]*"[^>]*>(.*?)</a>', content, re.S).group(1).strip()


def stylesheet_link(content: str) -> str:
    (link,) = re.findall(r'<link rel="stylesheet" href="(/church\.[^"]+\.css)">', content)
    return link


def options_of(content: str, name: str) -> list[str]:
    select = re.search(rf'<select name="{name}".*?</select>', content, re.S).group(0)
    return [value for value in re.findall(r'<option value="([^"]*)"', select) if value]


# --- The page ---------------------------------------------------------------------


def test_it_shows_the_environment_s_values_until_a_leader_saves(as_leader, settings):
    settings.INTERCESSION_CHURCH_NAME = "St Anne's"
    settings.INTERCESSION_COVERAGE_DAYS = 4

    response = as_leader.get(SETTINGS_PAGE)

    assert response.status_code == 200
    form = response.context["form"]
    assert form["name"].value() == "St Anne's"
    assert form["coverage_days"].value() == 4
    assert [field.value() for field in form.category_fields] == list(Category.values)
    assert not ChurchSettings.objects.exists(), "a visit created the row"
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    # No style attribute on the page itself (the snippet for the church's
    # website, shown as text, has one: it is escaped, not a tag).
    assert not re.search(r"<[^>]*\sstyle=", response.content.decode())


def test_it_saves_every_setting_and_records_each_change_once(as_leader, leader, settings, save):
    settings.INTERCESSION_CHURCH_NAME = "Intercession"
    settings.INTERCESSION_COVERAGE_DAYS = 3
    changes = {
        "name": "Grace Church",
        "contact": "Church office: 01234 567890",
        "welcome_text": "Welcome.\nWe pray.",
        "accent_colour": "#1D4ED8",
        "form_open": False,
        "form_paused_message": "Back on Monday.",
        "confidential_by_default": False,
        "category_order": NEW_ORDER,
        "coverage_days": 5,
        "reminder_prayer_gap_days": 4,
        "reminder_waiting_hours": 48,
        "reminder_breakthrough_days": 60,
    }

    response = save(as_leader, **changes)

    assert response.status_code == 302
    assert response.url == SETTINGS_PAGE
    saved = ChurchSettings.objects.get()
    assert {name: getattr(saved, name) for name in changes} == {**changes, "accent_colour": "#1d4ed8"}
    (entry,) = AuditLogEntry.objects.all()
    assert (entry.action, entry.actor, entry.actor_name) == (AuditAction.SETTINGS_CHANGED, leader, "Lydia Leader")
    defaults = church.defaults()
    assert entry.details == {
        "name": ["Intercession", "Grace Church"],
        "contact": ["", "Church office: 01234 567890"],
        # The church's own words are not copied into the log.
        "welcome_text": "changed",
        "accent_colour": [defaults.accent_colour, "#1d4ed8"],
        "form_open": [True, False],
        "form_paused_message": "changed",
        "confidential_by_default": [True, False],
        "category_order": [list(Category.values), NEW_ORDER],
        "coverage_days": [3, 5],
        "reminder_prayer_gap_days": [defaults.reminder_prayer_gap_days, 4],
        "reminder_waiting_hours": [defaults.reminder_waiting_hours, 48],
        "reminder_breakthrough_days": [defaults.reminder_breakthrough_days, 60],
    }
    page = as_leader.get(SETTINGS_PAGE).content.decode()
    assert "The church&#x27;s settings are saved." in page


def test_it_records_only_what_changed(as_leader, settings, save):
    settings.INTERCESSION_CHURCH_NAME = "Intercession"
    settings.INTERCESSION_COVERAGE_DAYS = 3
    save(as_leader, name="Grace Church")

    save(as_leader, coverage_days=7)

    entries = AuditLogEntry.objects.order_by("pk")
    assert [entry.details for entry in entries] == [
        {"name": ["Intercession", "Grace Church"]},
        {"coverage_days": [3, 7]},
    ]
    assert ChurchSettings.objects.get().name == "Grace Church"


def test_saving_without_a_change_writes_nothing_and_the_environment_still_counts(as_leader, settings, save):
    response = save(as_leader)

    assert response.status_code == 302
    assert not ChurchSettings.objects.exists()
    assert not AuditLogEntry.objects.exists()
    assert "Nothing was changed." in as_leader.get(SETTINGS_PAGE).content.decode()
    settings.INTERCESSION_CHURCH_NAME = "Hope Chapel"
    assert church.current().name == "Hope Chapel"


def test_once_saved_the_page_wins_over_the_environment(as_leader, settings, save):
    save(as_leader, coverage_days=6)

    settings.INTERCESSION_COVERAGE_DAYS = 9

    assert church.current().coverage_days == 6


# --- Each setting where it governs ----------------------------------------------------


def test_the_name_is_in_the_title_the_header_and_the_e_mails(
    as_leader, leader, django_capture_on_commit_callbacks, save
):
    save(as_leader, name="Grace & Truth Church")
    leader.email = "lydia@example.org"
    leader.save()

    page = as_leader.get(reverse("triage")).content.decode()
    public = Client().get(ASK).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        Client().post(
            ASK,
            {
                "consent": "knows",
                "for_whom": "J.",
                "category": "health",
                "title": "Strength",
                "requester_email": "j@example.org",
            },
        )

    assert title_of(page).endswith("· Grace &amp; Truth Church")
    assert brand_of(page) == "Grace &amp; Truth Church"
    assert title_of(public) == "Ask for prayer · Grace &amp; Truth Church"
    assert brand_of(public) == "Grace &amp; Truth Church"
    subjects = {message.subject for message in mail.outbox}
    assert "[Grace & Truth Church] A new prayer request is waiting" in subjects, subjects
    assert all("Intercession]" not in subject for subject in subjects)
    to_leader = next(message for message in mail.outbox if message.to == [leader.email])
    assert "— Grace & Truth Church" in to_leader.body
    assert "— Grace &amp; Truth Church" in to_leader.alternatives[0].content


def test_the_welcome_text_and_contact_show_on_the_ask_page_as_text(as_leader, save):
    save(
        as_leader,
        welcome_text="Welcome, friend.\nWe pray every <b>Tuesday</b>.\r\n<script>alert(1)</script>",
        contact="Office: 01234 567890 <office@example.org>",
    )

    content = Client().get(ASK).content.decode()

    assert (
        "Welcome, friend.<br>We pray every &lt;b&gt;Tuesday&lt;/b&gt;.<br>&lt;script&gt;alert(1)&lt;/script&gt;"
        in content
    )
    assert "Office: 01234 567890 &lt;office@example.org&gt;" in content
    assert "<script>alert" not in content
    assert "You do not have to carry this alone" not in content, "the standard words stay when there is a welcome"


def test_without_a_welcome_text_the_ask_page_keeps_its_own_words(db):
    content = Client().get(ASK).content.decode()

    assert "You do not have to carry this alone" in content


def test_the_accent_colour_is_served_as_a_stylesheet_every_page_links(as_leader, save):
    before = stylesheet_link(Client().get(ASK).content.decode())

    save(as_leader, accent_colour="#1d4ed8")

    page = Client().get(ASK)
    link = stylesheet_link(page.content.decode())
    assert link != before, "a new colour is a new address"
    assert re.fullmatch(r"/church\.[0-9a-f]{12}\.css", link)
    # After the app's own stylesheet, so that it wins.
    content = page.content.decode()
    assert content.index("css/intercession.css") < content.index(link)
    sheet = Client().get(link)
    assert sheet.status_code == 200
    assert sheet["Content-Type"] == "text/css; charset=utf-8"
    css = sheet.content.decode()
    assert "--intercession-primary: #1d4ed8;" in css
    assert "--intercession-primary-rgb: 29, 78, 216;" in css
    assert f"--intercession-primary-hover: {colours.shade('#1d4ed8', colours.HOVER_SHADE)};" in css
    assert f"--intercession-primary-active: {colours.shade('#1d4ed8', colours.ACTIVE_SHADE)};" in css
    assert sheet["Cache-Control"] == "public, max-age=31536000, immutable"
    assert not sheet.cookies
    # Still no inline style on the pages, and the policy still forbids it.
    assert "unsafe-inline" not in page["Content-Security-Policy"]
    assert "style-src 'self'" in page["Content-Security-Policy"]
    assert "style=" not in content
    assert "<style" not in content


def test_an_old_stylesheet_address_gets_today_s_colour_not_to_be_kept(as_leader, save):
    old = stylesheet_link(Client().get(ASK).content.decode())
    save(as_leader, accent_colour="#1d4ed8")

    sheet = Client().get(old)

    assert "--intercession-primary: #1d4ed8;" in sheet.content.decode()
    assert sheet["Cache-Control"] == "no-cache"


def test_the_stylesheet_is_never_cached_publicly_with_a_session_cookie(as_leader, save):
    # A logged-in visit renews the session cookie now and then (the idle
    # timeout's clock): that answer only the browser may keep.
    link = stylesheet_link(as_leader.get(reverse("triage")).content.decode())
    session = as_leader.session
    session[LAST_SEEN_AT] = int(time.time()) - 2 * LAST_SEEN_RESOLUTION
    session.save()

    sheet = as_leader.get(link)

    assert sheet.status_code == 200
    assert django_settings.SESSION_COOKIE_NAME in sheet.cookies
    directives = {part.strip() for part in sheet["Cache-Control"].split(",")}
    assert {"private", "max-age=31536000", "immutable"} <= directives
    assert not directives & {"public", "no-store"}


def test_the_header_links_read_on_a_light_accent_colour(as_leader, save):
    # #767676 is just dark enough for white (4.54:1), not for white at 90 %.
    save(as_leader, accent_colour="#767676")

    css = Client().get(stylesheet_link(Client().get(ASK).content.decode())).content.decode()

    assert "--intercession-navbar-color: #ffffff;" in css
    assert "rgba(255, 255, 255, 0.9)" in colours.stylesheet("#4a2c6d").text


def test_the_coverage_days_change_the_coverage_page_and_the_dashboard(as_leader, request_in, settings, save):
    settings.INTERCESSION_COVERAGE_DAYS = 3
    prayer_request = request_in(Status.INTERCEDING)
    four_days_ago = timezone.now() - timedelta(days=4)
    PrayerRequest.objects.filter(pk=prayer_request.pk).update(
        entered_intercession_at=four_days_ago, last_prayed_at=four_days_ago
    )
    assert len(as_leader.get(reverse("coverage")).context["page"].object_list) == 1
    assert as_leader.get(reverse("dashboard")).context["gap_count"] == 1

    save(as_leader, coverage_days=5)

    coverage = as_leader.get(reverse("coverage"))
    assert coverage.context["days"] == 5
    assert coverage.context["page"].object_list == []
    dashboard = as_leader.get(reverse("dashboard"))
    assert (dashboard.context["gap_days"], dashboard.context["gap_count"]) == (5, 0)


def test_the_reminder_thresholds_change_what_send_reminders_counts(
    as_leader, request_in, assigned_intercessor, settings, save
):
    settings.INTERCESSION_REMINDER_PRAYER_GAP_DAYS = 3
    settings.INTERCESSION_REMINDER_WAITING_HOURS = 24
    settings.INTERCESSION_REMINDER_BREAKTHROUGH_DAYS = 30
    now = timezone.now()
    interceding = request_in(Status.INTERCEDING)
    PrayerRequest.objects.filter(pk=interceding.pk).update(
        entered_intercession_at=now - timedelta(days=4), last_prayed_at=now - timedelta(days=4)
    )
    waiting = request_in(Status.NEW)
    PrayerRequest.objects.filter(pk=waiting.pk).update(created_at=now - timedelta(hours=30))
    awaiting = request_in(Status.BREAKTHROUGH)
    PrayerRequest.objects.filter(pk=awaiting.pk).update(breakthrough_at=now - timedelta(days=40))
    assert reminders.prayer_gaps(now) == {assigned_intercessor.pk: 1}
    summary = reminders.leader_summary(now)
    assert (summary.waiting, summary.awaiting_manifestation) == (1, 1)

    save(as_leader, reminder_prayer_gap_days=5, reminder_waiting_hours=36, reminder_breakthrough_days=45)

    assert reminders.prayer_gaps(now) == {}
    summary = reminders.leader_summary(now)
    assert (summary.waiting, summary.awaiting_manifestation) == (0, 0)
    sentences = [sentence for sentence, _link in reminders.LeaderSummary(1, 1, 1, 0).lines()]
    assert any("more than 36 hours" in sentence for sentence in sentences)
    assert any("more than 45 days" in sentence for sentence in sentences)


@pytest.mark.parametrize("confidential_by_default", [True, False])
def test_the_confidential_box_starts_as_the_church_chose(as_leader, confidential_by_default, save):
    save(as_leader, confidential_by_default=confidential_by_default)

    content = Client().get(ASK).content.decode()

    (box,) = re.findall(r'<input[^>]*name="is_confidential"[^>]*>', content)
    assert ("checked" in box) == confidential_by_default


def test_the_requester_still_chooses_confidentiality_whatever_the_default(as_leader, save):
    save(as_leader, confidential_by_default=False)
    asker = Client()

    asker.post(
        ASK, {"consent": "knows", "for_whom": "A.", "category": "health", "title": "Ticked", "is_confidential": "on"}
    )
    asker.post(
        ASK,
        {"consent": "knows", "for_whom": "B.", "category": "health", "title": "Unticked"},
        REMOTE_ADDR="198.51.100.9",
    )

    assert dict(PrayerRequest.objects.values_list("title", "is_confidential")) == {"Ticked": True, "Unticked": False}


def test_the_category_order_is_the_ask_form_s_and_the_filters(as_leader, save):
    save(as_leader, category_order=NEW_ORDER)

    assert options_of(Client().get(ASK).content.decode(), "category") == NEW_ORDER
    assert options_of(as_leader.get(reverse("request_list")).content.decode(), "category") == NEW_ORDER
    # The labels come with their values.
    assert '<option value="nation">Nation</option>' in Client().get(ASK).content.decode()


def test_a_paused_form_shows_the_church_s_message_instead(as_leader, save):
    save(as_leader, form_open=False, form_paused_message="We rest this week.\nBack on <Monday>.")

    response = Client().get(ASK)

    content = response.content.decode()
    assert response.status_code == 200
    assert "We rest this week.<br>Back on &lt;Monday&gt;." in content
    assert 'name="title"' not in content
    assert "Send my request" not in content


def test_a_paused_form_without_a_message_says_so_in_its_own_words(as_leader, save):
    save(as_leader, form_open=False)

    content = Client().get(ASK).content.decode()

    assert "The church is not taking new prayer requests through this page at the moment." in content


def test_a_form_sent_after_the_pause_is_refused_and_changes_nothing(
    as_leader, leader, django_capture_on_commit_callbacks, save
):
    leader.email = "lydia@example.org"
    leader.save()
    asker = Client()
    assert 'name="title"' in asker.get(ASK).content.decode()  # the form on screen
    save(as_leader, form_open=False, form_paused_message="Paused for Lent.")

    with django_capture_on_commit_callbacks(execute=True):
        response = asker.post(
            ASK,
            {
                "consent": "knows",
                "for_whom": "M.",
                "category": "health",
                "title": "<b>Surgery</b>",
                "details": "On\nFriday\x00",
            },
        )

    content = response.content.decode()
    assert response.status_code == 409
    assert "Paused for Lent." in content
    assert "Your request was not sent" in content
    # What was typed comes back to copy, as text.
    assert "&lt;b&gt;Surgery&lt;/b&gt;" in content
    assert "On<br>Friday" in content
    assert not PrayerRequest.objects.exists()
    assert not OutboxMessage.objects.exists()
    assert mail.outbox == []
    assert "followup_token" not in asker.session


def test_the_form_takes_requests_again_once_reopened(as_leader, save):
    save(as_leader, form_open=False)
    save(as_leader, form_open=True)

    response = Client().post(ASK, {"consent": "knows", "for_whom": "J.", "category": "work", "title": "A job"})

    assert response.status_code == 302
    assert PrayerRequest.objects.count() == 1


# --- The cache ---------------------------------------------------------------------------


def test_a_change_drops_the_cached_settings(as_leader, save):
    visitor = Client()
    assert brand_of(visitor.get(ASK).content.decode()) == church.defaults().name  # now in the cache

    save(as_leader, name="Grace Church")

    # The next page, in the same process and cache, shows the new name.
    assert brand_of(visitor.get(ASK).content.decode()) == "Grace Church"


def test_the_pages_read_the_settings_from_the_cache(as_leader, save):
    save(as_leader, name="Grace Church")
    Client().get(ASK)

    # Changed behind the service's back: the pages keep the cached copy.
    ChurchSettings.objects.update(name="Not told")

    assert brand_of(Client().get(ASK).content.decode()) == "Grace Church"
    church.forget()
    assert brand_of(Client().get(ASK).content.decode()) == "Not told"


def test_a_cold_cache_costs_one_query(db, django_assert_num_queries):
    church.forget()

    with django_assert_num_queries(1):
        church.current()
    with django_assert_num_queries(0):
        church.current()


# --- Bad input ---------------------------------------------------------------------------

MEGABYTE = "x" * 1_000_000

BAD_INPUT = [
    ("accent_colour", "#ffff00", "White text on #ffff00 has a contrast of only 1.07:1"),
    ("accent_colour", "#777777", "White text on #777777 has a contrast of only 4.47:1"),
    ("accent_colour", "#FFF", "White text on #ffffff has a contrast of only 1.00:1"),
    ("accent_colour", "purple", "Give the colour as # and six hexadecimal digits"),
    ("accent_colour", "#12345", "Give the colour as # and six hexadecimal digits"),
    ("accent_colour", "#gggggg", "Give the colour as # and six hexadecimal digits"),
    ("accent_colour", "", "Give a colour, such as #4a2c6d."),
    ("accent_colour", MEGABYTE, "Give the colour as # and six hexadecimal digits"),
    ("name", "", "Give the church&#x27;s name"),
    ("name", "   ", "Give the church&#x27;s name"),
    ("name", "Grace\u202eChurch", "Remove the invisible control characters"),
    ("name", "Grace\x00Church", "Null characters are not allowed."),
    ("name", "Grace\nChurch", "Remove the invisible control characters"),
    ("name", "G" * 101, "Please keep this to 100 characters or fewer (it has 101)."),
    ("name", MEGABYTE, "Please keep this to 100 characters or fewer (it has 1000000)."),
    ("contact", "c" * 201, "Please keep this to 200 characters or fewer (it has 201)."),
    ("contact", "Office\u2066 01234", "Remove the invisible control characters"),
    ("welcome_text", "w" * 2001, "Please keep this to 2000 characters or fewer (it has 2001)."),
    ("welcome_text", MEGABYTE, "Please keep this to 2000 characters or fewer (it has 1000000)."),
    ("welcome_text", "Hello\x07there", "Remove the invisible control characters"),
    ("form_paused_message", "p" * 1001, "Please keep this to 1000 characters or fewer (it has 1001)."),
    ("coverage_days", "0", "Enter 1 or more."),
    ("coverage_days", "1000", "Enter 90 or fewer."),
    ("coverage_days", "-3", "Enter 1 or more."),
    ("coverage_days", "three", "Enter a whole number."),
    ("coverage_days", "", "Enter a whole number."),
    ("coverage_days", "9" * 100_000, "Enter a whole number."),
    ("reminder_prayer_gap_days", "91", "Enter 90 or fewer."),
    ("reminder_waiting_hours", "721", "Enter 720 or fewer."),
    ("reminder_breakthrough_days", "0", "Enter 1 or more."),
    ("category_3", "health", "Health is already in place 1: give each category exactly one place."),
    ("category_9", "prophecy", "Choose one of the categories in the list."),
    ("category_9", "", "Choose the category for this place."),
]


@pytest.mark.parametrize(("field", "value", "message"), BAD_INPUT, ids=[f"{f}={v[:12]!r}" for f, v, _m in BAD_INPUT])
def test_it_refuses_bad_input_with_a_clear_message_and_changes_nothing(as_leader, field, value, message, save):
    save(as_leader, name="Grace Church")
    before = list(ChurchSettings.objects.values())
    entries = AuditLogEntry.objects.count()
    data = form_data(name="Grace Church", coverage_days=7)  # a change that must not be saved either
    data[field] = value

    response = as_leader.post(SETTINGS_PAGE, data)

    assert response.status_code == 200
    content = response.content.decode()
    assert message in content
    assert "nothing has been saved yet" in content
    assert list(ChurchSettings.objects.values()) == before
    assert AuditLogEntry.objects.count() == entries


def test_a_missing_category_place_is_refused(as_leader):
    data = form_data()
    del data["category_5"]

    response = as_leader.post(SETTINGS_PAGE, data)

    assert "Choose the category for this place." in response.content.decode()
    assert not ChurchSettings.objects.exists()


@pytest.mark.parametrize(("typed", "stored"), [("#35A", "#3355aa"), (" #1D4ED8 ", "#1d4ed8"), ("#767676", "#767676")])
def test_it_takes_a_colour_in_either_form_and_case(as_leader, typed, stored, save):
    response = save(as_leader, accent_colour=typed)

    assert response.status_code == 302
    assert ChurchSettings.objects.get().accent_colour == stored


def test_the_contrast_is_wcag_s():
    assert colours.contrast("#ffffff", "#000000") == pytest.approx(21)
    assert colours.contrast_with_white("#ffffff") == pytest.approx(1)
    assert colours.contrast_with_white("#767676") == pytest.approx(4.54, abs=0.01)
    assert colours.contrast_with_white("#777777") < colours.MIN_CONTRAST_WITH_WHITE
    # Rounded down, so a refused colour never reads as enough.
    assert colours.shown_ratio(4.4999) == "4.49"
    assert colours.normalise("#AbC") == "#aabbcc"
    assert colours.normalise("abc") is None


# --- The service's own refusals -----------------------------------------------------------


@pytest.mark.parametrize("persona", ["assigned_intercessor", "superuser"])
def test_only_a_leader_may_save(request, persona, save):
    user = request.getfixturevalue(persona)

    with pytest.raises(NotAllowed):
        church_settings.save({"name": "Taken over"}, by=user)

    assert not ChurchSettings.objects.exists()
    assert not AuditLogEntry.objects.exists()


def test_the_service_checks_the_values_itself(leader, save):
    for values in (
        {"accent_colour": "#ffff00"},
        {"category_order": ["health"] * 9},
        {"category_order": "health"},
        {"coverage_days": 0},
        {"name": "x\u202e"},
    ):
        with pytest.raises(ValidationError):
            church_settings.save(values, by=leader)

    assert not ChurchSettings.objects.exists()
    assert not AuditLogEntry.objects.exists()


def test_the_service_knows_its_fields(leader, save):
    with pytest.raises(ValueError, match="not a church setting"):
        church_settings.save({"updated_at": None}, by=leader)


# --- Who may open it ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "get", "post"),
    [
        ("leader", 200, 302),
        ("assigned_intercessor", 403, 403),
        ("other_intercessor", 403, 403),
        ("superuser", 403, 403),
    ],
)
def test_it_is_for_leaders_only(request, client, persona, get, post, save):
    client.force_login(request.getfixturevalue(persona))

    assert client.get(SETTINGS_PAGE).status_code == get
    assert save(client, name="Taken over").status_code == post
    assert client.put(SETTINGS_PAGE).status_code == 405
    assert client.delete(SETTINGS_PAGE).status_code == 405
    assert ChurchSettings.objects.filter(name="Taken over").exists() == (persona == "leader")


def test_it_sends_anonymous_visitors_to_log_in(client, db):
    response = client.get(SETTINGS_PAGE)

    assert response.status_code == 302
    assert response.url == f"{LOGIN}?next={SETTINGS_PAGE}"
    assert client.post(SETTINGS_PAGE, form_data(name="Taken over")).status_code == 302
    assert not ChurchSettings.objects.exists()


@pytest.mark.parametrize("persona", ["leader", "assigned_intercessor", "superuser", None])
def test_the_stylesheet_is_everyone_s(request, client, persona):
    if persona:
        client.force_login(request.getfixturevalue(persona))
    link = reverse("church_stylesheet", args=[colours.stylesheet(church.current().accent_colour).version])

    assert client.get(link).status_code == 200
    assert client.head(link).status_code == 200
    assert client.post(link).status_code == 405


def test_the_menu_offers_the_settings_to_leaders_only(client, leader, assigned_intercessor):
    client.force_login(leader)
    assert f'href="{SETTINGS_PAGE}"' in client.get(reverse("triage")).content.decode()

    client.force_login(assigned_intercessor)
    assert f'href="{SETTINGS_PAGE}"' not in client.get(reverse("my_assignments")).content.decode()


def test_the_settings_page_links_the_audit_log(as_leader):
    assert f'href="{reverse("audit_log")}"' in as_leader.get(SETTINGS_PAGE).content.decode()


# --- Two leaders at once -----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_leaders_saving_at_once_both_count_once_each(on_postgres, save):
    first = make_user("lydia", roles.LEADERS, first_name="Lydia")
    second = make_user("priscilla", roles.LEADERS, first_name="Priscilla")
    start = threading.Barrier(2)
    errors = []

    def run(user, values):
        try:
            start.wait(timeout=10)
            church_settings.save(values, by=user)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=(first, {"coverage_days": 10, "name": "First"})),
        threading.Thread(target=run, args=(second, {"coverage_days": 20, "name": "Second"})),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert ChurchSettings.objects.count() == 1
    saved = ChurchSettings.objects.get()
    earlier, later = AuditLogEntry.objects.order_by("pk")
    # One after the other: the later one changed what the earlier one saved.
    assert later.details["coverage_days"] == [earlier.details["coverage_days"][1], saved.coverage_days]
    assert later.details["name"] == [earlier.details["name"][1], saved.name]


def test_it_ignores_fields_the_form_does_not_have(db):
    # A leader's save changes the settings, nothing about any account.
    leader = make_user("lydia", roles.LEADERS)
    client = Client()
    client.force_login(leader)
    data = form_data(name="Grace Church")
    data.update({"is_superuser": "on", "username": "root", "password": PASSWORD})

    assert client.post(SETTINGS_PAGE, data).status_code == 302
    assert list(User.objects.values_list("username", "is_superuser")) == [("lydia", False)]


def test_what_a_leader_types_is_shown_as_text_everywhere(as_leader, save):
    response = save(as_leader, name=NAME_PAYLOAD, contact=ALL, welcome_text=MULTILINE)
    assert response.status_code == 302, response.content.decode()[:2000]
    pages = {
        "settings": as_leader.get(SETTINGS_PAGE),
        "triage": as_leader.get(reverse("triage")),
        "audit log": as_leader.get(reverse("audit_log")),
        "ask": Client().get(ASK),
    }
    save(as_leader, form_open=False, form_paused_message=MULTILINE)
    pages["paused"] = Client().get(ASK)
    pages["refused"] = Client().post(ASK, {"for_whom": ALL, "title": ALL, "details": MULTILINE, "category": "x"})

    problems = {label: escaping_problems(page.content.decode()) for label, page in pages.items()}
    assert problems == {label: [] for label in pages}
