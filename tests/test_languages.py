"""Every language of the church (issue 15): the catalogs are whole, each page
speaks the language chosen (a team member's own, the menu's, the browser's,
else the church's), Arabic right to left, and e-mails go in the language of
the person they are for: the requester's own, each team member's own (else
the church's), from a page or from cron."""

import ast
import html
import re
from pathlib import Path

import polib
import pytest
from conftest import bring_to, make_user, submit
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from requests_app import church, roles
from requests_app.mail import digest, notifications, reminders
from requests_app.models import Delivery, NotificationPreferences, OutboxMessage, PrayerRequest, Status
from requests_app.team import members

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = {"en", "es", "pt-br", "fr", "ko", "ar"}
TRANSLATIONS = {"es": "es", "pt-br": "pt_BR", "fr": "fr", "ko": "ko", "ar": "ar"}
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|%[sd]")
TAG = re.compile(r"</?[a-z][^>]*>")


def catalog(code: str) -> polib.POFile:
    return polib.pofile(str(ROOT / "locale" / TRANSLATIONS[code] / "LC_MESSAGES" / "django.po"))


def test_it_ships_six_languages():
    assert {code for code, _name in settings.LANGUAGES} == SHIPPED


# --- The catalogs ---------------------------------------------------------------


@pytest.mark.parametrize("code", TRANSLATIONS)
def test_every_message_is_translated_and_none_is_fuzzy(code):
    po = catalog(code)

    untranslated = [entry.msgid for entry in po.untranslated_entries()]
    fuzzy = [entry.msgid for entry in po.fuzzy_entries()]

    assert untranslated == []
    assert fuzzy == []
    assert not po.metadata_is_fuzzy
    assert po.metadata["Language"] == TRANSLATIONS[code]


@pytest.mark.parametrize("code", TRANSLATIONS)
def test_every_translation_keeps_the_placeholders_and_tags(code):
    wrong = []
    for entry in catalog(code).translated_entries():
        if entry.msgid_plural:
            # A singular form may say "one" in the noun itself (an hour).
            plural = sorted(PLACEHOLDER.findall(entry.msgid_plural))
            forms = [sorted(PLACEHOLDER.findall(form)) for form in entry.msgstr_plural.values()]
            if any(found != plural and not set(found) <= set(plural) for found in forms):
                wrong.append(entry.msgid)
        elif sorted(PLACEHOLDER.findall(entry.msgstr)) != sorted(PLACEHOLDER.findall(entry.msgid)) or sorted(
            TAG.findall(entry.msgstr)
        ) != sorted(TAG.findall(entry.msgid)):
            wrong.append(entry.msgid)
    assert wrong == []


@pytest.mark.parametrize("code", TRANSLATIONS)
def test_the_catalogs_hold_the_same_messages(code):
    """Every catalog was made from the same sources (makemessages): none is
    missing a message the others have."""
    messages = {(entry.msgctxt, entry.msgid) for entry in catalog(code) if not entry.obsolete}
    french = {(entry.msgctxt, entry.msgid) for entry in catalog("fr") if not entry.obsolete}

    assert messages == french


def test_the_glossary_s_status_names_are_the_catalogs():
    glossary = (ROOT / "docs" / "GLOSSARY.md").read_text()
    statuses = glossary.split("## The statuses")[1].split("##")[0]
    rows = [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in statuses.splitlines()
        if line.startswith("|") and not line.startswith("|---")
    ][1:]
    for english, *translated in rows:
        for code, expected in zip(TRANSLATIONS, translated, strict=True):
            with translation.override(code):
                assert translation.gettext(english) == expected, (code, english)


def test_compile_catalogs_writes_a_catalog_django_reads(tmp_path, settings):
    source = tmp_path / "fr" / "LC_MESSAGES"
    source.mkdir(parents=True)
    (source / "django.po").write_bytes((ROOT / "locale" / "fr" / "LC_MESSAGES" / "django.po").read_bytes())
    settings.LOCALE_PATHS = [tmp_path]

    call_command("compile_catalogs", stdout=open("/dev/null", "w"))  # noqa: SIM115

    compiled = polib.mofile(str(source / "django.mo"))
    assert compiled.find("Ask for prayer").msgstr == catalog("fr").find("Ask for prayer").msgstr


# --- Which language a page speaks -------------------------------------------------


def save_church(**values) -> None:
    row = church.defaults()
    for name, value in values.items():
        setattr(row, name, value)
    row.save()
    church.forget()


def with_address(user):
    user.email = f"{user.username}@example.org"
    user.save()
    return user


def html_tag(content: str) -> str:
    return re.search(r"<html[^>]*>", content).group(0)


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("fr-FR,fr;q=0.9,en;q=0.5", "fr"),
        ("pt-BR", "pt-br"),
        ("pt", "pt-br"),
        ("es-419,es;q=0.9", "es"),
        ("ko-KR", "ko"),
        ("ar-EG", "ar"),
        ("de-DE,nl;q=0.8", "en"),
        ("", "en"),
        ("*", "en"),
        ("xx" * 600, "en"),
    ],
)
def test_a_visitor_s_browser_chooses_among_the_shipped_languages(db, accept, expected):
    response = Client(HTTP_ACCEPT_LANGUAGE=accept).get(reverse("ask"))

    assert response.status_code == 200
    assert f'lang="{expected}"' in html_tag(response.content.decode())
    assert response["Content-Language"] == expected


def test_any_other_browser_gets_the_church_s_default_language(db):
    save_church(name="Église Saint-Paul", default_language="fr")

    content = Client(HTTP_ACCEPT_LANGUAGE="de-DE").get(reverse("ask")).content.decode()

    assert 'lang="fr"' in html_tag(content)
    assert "Demander" in content


def test_arabic_pages_run_right_to_left_with_bootstrap_s_mirrored_styles(db):
    content = Client(HTTP_ACCEPT_LANGUAGE="ar").get(reverse("ask")).content.decode()

    assert html_tag(content) == '<html lang="ar" dir="rtl">'
    assert "bootstrap.rtl.min.css" in content
    assert "bootstrap.min.css" not in content.replace("bootstrap.rtl.min.css", "")


def test_the_language_menu_is_a_post_on_every_page_that_returns_where_it_was(db):
    client = Client()
    page = client.get(reverse("ask")).content.decode()
    assert f'action="{reverse("set_language")}"' in page
    assert 'name="language"' in page

    response = client.post(reverse("set_language"), {"language": "ko"}, HTTP_REFERER="http://testserver/privacy/")

    assert response.status_code == 302
    assert response["Location"].endswith("/privacy/")
    assert 'lang="ko"' in html_tag(client.get(reverse("ask")).content.decode())


@pytest.mark.parametrize("hostile", ["https://evil.example/", "//evil.example/", "javascript:alert(1)", "\u202e/x"])
def test_the_language_menu_never_sends_anyone_off_site(db, hostile):
    response = Client().post(reverse("set_language"), {"language": "fr", "next": hostile}, HTTP_REFERER=hostile)

    assert response.status_code == 302
    assert response["Location"] == "/"


@pytest.mark.parametrize("odd", ["de", "", "fr\x00", "ar" * 100, "../../etc"])
def test_a_language_not_shipped_changes_nothing(db, odd):
    client = Client()

    response = client.post(reverse("set_language"), {"language": odd}, HTTP_REFERER="http://testserver/ask/")

    assert response.status_code == 302
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies
    assert 'lang="en"' in html_tag(client.get(reverse("ask")).content.decode())


def test_the_language_cookie_is_for_this_site_only(db):
    response = Client().post(reverse("set_language"), {"language": "fr"})

    cookie = response.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"


def test_a_team_member_keeps_their_own_language_from_log_in(db, assigned_intercessor):
    NotificationPreferences.objects.create(user=assigned_intercessor, language="es")
    client = Client(HTTP_ACCEPT_LANGUAGE="fr")

    client.post(reverse("login"), {"username": "anna", "password": "a-long-test-password-42"})

    assert 'lang="es"' in html_tag(client.get(reverse("my_assignments")).content.decode())


def test_the_menu_saves_a_team_member_s_choice_as_their_own(client, assigned_intercessor):
    client.force_login(assigned_intercessor)

    client.post(reverse("set_language"), {"language": "ar"})

    assert NotificationPreferences.objects.get(user=assigned_intercessor).language == "ar"
    assert 'dir="rtl"' in html_tag(client.get(reverse("my_assignments")).content.decode())


def test_my_settings_sets_the_language_and_it_takes_effect_at_once(client, assigned_intercessor):
    client.force_login(assigned_intercessor)
    form = client.get(reverse("my_settings")).context["email_form"]
    data = {name: value for name, value in form.initial.items() if value not in (None, False)}
    data.update({"delivery": "immediately", "language": "pt-br"})
    profile = assigned_intercessor.intercessor_profile
    data.update({"max_active_assignments": profile.max_active_assignments, "is_available": "on"})

    response = client.post(reverse("my_settings"), data)

    assert response.status_code == 302
    assert NotificationPreferences.objects.get(user=assigned_intercessor).language == "pt-br"
    assert 'lang="pt-br"' in html_tag(client.get(reverse("my_settings")).content.decode())


# --- Every page in every language ---------------------------------------------------


LEADER_PAGES = ["triage", "request_list", "my_assignments", "board", "team", "coverage", "dashboard", "audit_log",
                "history", "prayer_sheet", "church_settings", "my_settings", "prayer_start",
                "team_webhooks"]  # fmt: skip
PUBLIC_PAGES = ["ask", "followup_help", "followup_lost", "privacy_notice", "login", "password_reset"]


def english_left(content: str, code: str) -> list[str]:
    """Sentences of the catalog (three words or more) still in English on a page."""
    text = html.unescape(re.sub(r"<[^>]+>", " ", content))
    text = re.sub(r"\s+", " ", text)
    left = []
    for entry in catalog(code).translated_entries():
        if entry.msgid_plural or "%" in entry.msgid or "<" in entry.msgid or entry.msgid == entry.msgstr:
            continue
        if len(entry.msgid.split()) >= 3 and entry.msgid in text:
            left.append(entry.msgid)
    return left


@pytest.mark.any_database
@pytest.mark.parametrize("code", sorted(TRANSLATIONS))
def test_every_page_speaks_the_language_with_no_english_left(client, leader, busy, code):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = code
    direction = "rtl" if code == "ar" else "ltr"
    pages = [reverse(name) for name in PUBLIC_PAGES]
    client.force_login(leader)
    pages += [reverse(name) for name in LEADER_PAGES]
    pages += [reverse(name, args=[busy.pk]) for name in ("request_detail", "request_assign")]

    for path in pages:
        if path in {reverse(name) for name in PUBLIC_PAGES}:
            response = Client(HTTP_ACCEPT_LANGUAGE=code).get(path)
        else:
            response = client.get(path)
        content = response.content.decode()
        assert response.status_code == 200, path
        assert html_tag(content) == f'<html lang="{code}" dir="{direction}">', path
        assert english_left(content, code) == [], path


# --- E-mails in the recipient's language -------------------------------------------


def test_a_requester_s_e_mails_speak_the_language_they_asked_in(client, db, leader, assigned_intercessor):
    data = {
        "consent": "self",
        "for_whom": "Moi",
        "category": "health",
        "title": "Guérison",
        "requester_email": "marie@example.org",
        "wants_updates": "on",
    }
    Client(HTTP_ACCEPT_LANGUAGE="fr").post(reverse("ask"), data)
    prayer_request = PrayerRequest.objects.get()
    assert prayer_request.language == "fr"
    to_requester = [message for message in OutboxMessage.objects.all() if message.to == "marie@example.org"]
    with translation.override("fr"):
        assert to_requester[0].subject == translation.gettext("Your prayer request")
    assert to_requester[0].subject != "Your prayer request"

    # A leader working in English moves it on: the requester still reads French.
    with translation.override("en"):
        bring_to(prayer_request, Status.BREAKTHROUGH, leader=leader, intercessor=assigned_intercessor)
    news = OutboxMessage.objects.get(kind="stage_changed")
    with translation.override("fr"):
        assert news.subject.endswith(translation.gettext("News of your prayer request"))
        assert translation.gettext("The team has seen a breakthrough in the spirit for your request.") in (
            news.body_text
        )
    assert "News of your prayer request" not in news.subject


def test_the_team_hears_of_a_french_visitor_s_request_in_the_church_s_language(db, leader):
    with_address(leader)
    Client(HTTP_ACCEPT_LANGUAGE="fr").post(
        reverse("ask"), {"consent": "self", "for_whom": "Moi", "category": "health", "title": "Guérison"}
    )

    (to_leader,) = [message for message in OutboxMessage.objects.all() if message.to == leader.email]

    assert to_leader.subject.endswith("A new prayer request is waiting")


def test_cron_writes_the_team_s_reminders_in_the_church_s_language(db, leader, assigned_intercessor):
    with_address(assigned_intercessor)
    save_church(name="Iglesia", default_language="es")
    prayer_request = submit(confidential=False)
    bring_to(prayer_request, Status.INTERCEDING, leader=leader, intercessor=assigned_intercessor)
    PrayerRequest.objects.filter(pk=prayer_request.pk).update(
        entered_intercession_at="2026-01-01T00:00:00Z", last_prayed_at=None
    )
    with translation.override("ko"):
        reminders.send()

    reminder = OutboxMessage.objects.get(kind="prayer_reminder")
    with translation.override("es"):
        assert reminder.subject == f"[Iglesia] {translation.gettext('Prayer reminder')}"
    assert "Prayer reminder" not in reminder.subject


def speaking(user, code: str, **choices):
    """`user`, with an address, whose own language (My settings) is `code`."""
    with_address(user)
    NotificationPreferences.objects.update_or_create(user=user, defaults={"language": code, **choices})
    return user


def mail_to(user, kind: str) -> OutboxMessage:
    (message,) = [message for message in OutboxMessage.objects.filter(kind=kind) if message.to == user.email]
    return message


def in_language(code: str, message: str) -> str:
    with translation.override(code):
        return translation.gettext(message)


def test_each_leader_reads_of_a_new_request_in_their_own_language(db, leader, django_assert_num_queries):
    speaking(leader, "ko")
    spanish = speaking(make_user("marta", roles.LEADERS), "es")
    english = with_address(make_user("john", roles.LEADERS))
    save_church(default_language="en")

    Client(HTTP_ACCEPT_LANGUAGE="fr").post(
        reverse("ask"), {"consent": "self", "for_whom": "Moi", "category": "health", "title": "Guérison"}
    )

    for user, code in ((leader, "ko"), (spanish, "es"), (english, "en")):
        message = mail_to(user, "new_request")
        assert message.subject.endswith(in_language(code, "A new prayer request is waiting")), code
        assert in_language(code, "A new prayer request is waiting for intercessors.") in message.body_text, code
        assert f'lang="{code}"' in message.body_html, code


def test_one_insert_per_language_however_many_leaders(db, leader, django_assert_num_queries):
    for number in range(6):
        speaking(make_user(f"leader{number}", roles.LEADERS), ["ko", "es"][number % 2])
    prayer_request = submit(confidential=False)
    OutboxMessage.objects.all().delete()
    church.current()

    with django_assert_num_queries(3):  # the leaders with their choices; one INSERT per language
        notifications.request_submitted(prayer_request)

    assert OutboxMessage.objects.filter(kind="new_request").count() == 6


def test_an_intercessor_hears_of_an_assignment_in_their_own_language(db, leader, assigned_intercessor):
    speaking(assigned_intercessor, "pt-br")
    save_church(default_language="es")
    prayer_request = submit()

    with translation.override("ar"):  # the leader who assigns works in Arabic
        bring_to(prayer_request, Status.INTERCEDING, leader=leader, intercessor=assigned_intercessor)

    message = mail_to(assigned_intercessor, "assigned")
    assert message.subject.endswith(in_language("pt-br", "A prayer request has been assigned to you"))


def test_the_daily_digest_speaks_its_reader_s_language(db, leader, assigned_intercessor):
    speaking(assigned_intercessor, "fr", delivery=Delivery.DAILY)
    speaking(leader, "es", delivery=Delivery.DAILY)
    prayer_request = submit(confidential=False)
    with translation.override("ko"):
        bring_to(prayer_request, Status.INTERCEDING, leader=leader, intercessor=assigned_intercessor)

    with translation.override("ar"):
        digest.fold()

    french = mail_to(assigned_intercessor, "digest")
    assert french.subject.endswith(in_language("fr", "Your daily digest"))
    assert in_language("fr", "A prayer request has been assigned to you.") in french.body_text
    assert in_language("fr", "Since your last digest, here is what you asked to hear about once a day:") in (
        french.body_text
    )
    spanish = mail_to(leader, "digest")
    assert spanish.subject.endswith(in_language("es", "Your daily digest"))
    assert in_language("es", "A new prayer request is waiting for intercessors.") in spanish.body_text


def test_cron_writes_each_reminder_in_its_reader_s_language(db, leader, assigned_intercessor):
    speaking(assigned_intercessor, "ko")
    speaking(leader, "ar")
    save_church(name="Iglesia", default_language="es")
    prayer_request = submit(confidential=False)
    bring_to(prayer_request, Status.INTERCEDING, leader=leader, intercessor=assigned_intercessor)
    PrayerRequest.objects.filter(pk=prayer_request.pk).update(
        entered_intercession_at="2026-01-01T00:00:00Z", last_prayed_at=None
    )
    submit(confidential=False)  # waiting for assignment: the leaders' summary has a line
    PrayerRequest.objects.filter(status=Status.NEW).update(created_at="2026-01-01T00:00:00Z")

    reminders.send()

    reminder = mail_to(assigned_intercessor, "prayer_reminder")
    assert reminder.subject == f"[Iglesia] {in_language('ko', 'Prayer reminder')}"
    with translation.override("ko"):
        line = translation.ngettext(
            "%(count)s of your assignments has had no prayer from anyone for %(days)s days or more.",
            "%(count)s of your assignments have had no prayer from anyone for %(days)s days or more.",
            1,
        ) % {"count": 1, "days": church.current().reminder_prayer_gap_days}
    assert line in reminder.body_text
    summary = mail_to(leader, "leaders_reminder")
    assert summary.subject == f"[Iglesia] {in_language('ar', 'The team' + chr(39) + 's daily summary')}"
    assert in_language("ar", "Where the team stands today:") in summary.body_text
    assert '<html lang="ar" dir="rtl">' in summary.body_html


def test_every_leader_reads_who_leads_now_in_their_own_language(db, leader):
    speaking(leader, "fr")
    newcomer = speaking(make_user("tabitha", roles.INTERCESSORS), "ko")

    with translation.override("es"):
        members.make_leader(newcomer, by=leader)
    for user, code in ((leader, "fr"), (newcomer, "ko")):
        message = mail_to(user, "leaders_changed")
        assert message.subject.endswith(in_language(code, "A new leader of the intercession team")), code

    OutboxMessage.objects.all().delete()
    with translation.override("es"):
        members.remove_leader(newcomer, by=leader)
    for user, code in ((leader, "fr"), (newcomer, "ko")):
        message = mail_to(user, "leaders_changed")
        assert message.subject.endswith(in_language(code, "A leader of the intercession team has changed")), code
    assert "/team/" not in mail_to(newcomer, "leaders_changed").body_text


def test_a_team_member_without_an_account_language_is_never_guessed_from_the_actor(db, leader):
    with_address(leader)
    make_user("ruth", roles.INTERCESSORS)
    with translation.override("ar"):
        Client(HTTP_ACCEPT_LANGUAGE="ar").post(
            reverse("ask"), {"consent": "self", "for_whom": "أنا", "category": "health", "title": "شفاء"}
        )

    (to_leader,) = [message for message in OutboxMessage.objects.all() if message.to == leader.email]
    assert to_leader.subject.isascii()


def test_what_people_wrote_takes_its_own_direction_on_an_arabic_page(client, leader, busy):
    """An English request on an Arabic page (or an Arabic one on an English
    page) keeps its own reading order: its title, text and notes say dir="auto"."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ar"
    client.force_login(leader)

    content = client.get(reverse("request_detail", args=[busy.pk])).content.decode()

    assert re.search(r'<h1 dir="auto"[^>]*>\s*Healing after surgery', content)
    assert '<p dir="auto" class="request-details">' in content
    triage = client.get(reverse("request_list")).content.decode()
    assert '<a dir="auto" href="' in triage


# --- Dates as each language writes them; charts that read right to left ----------

NAMED_FORMATS = {"DATE_FORMAT", "DATETIME_FORMAT", "SHORT_DATE_FORMAT", "SHORT_DATETIME_FORMAT", "TIME_FORMAT",
                 "MONTH_DAY_FORMAT", "DAY_MONTH_FORMAT", "WEEKDAY_DATE_FORMAT"}  # fmt: skip


def test_templates_name_a_date_format_and_never_spell_one_out():
    used, spelled = set(), []
    for path in (ROOT / "templates").rglob("*.*"):
        for match in re.finditer(r"\|(?:date|time):(\"[^\"]*\"|'[^']*')", path.read_text()):
            name = match.group(1)[1:-1]
            if name in NAMED_FORMATS:
                used.add(name)
            elif name != "Y-m-d":  # a <time datetime>'s machine-readable day
                spelled.append(f"{path.relative_to(ROOT)}: {name}")
    assert spelled == []
    assert {"SHORT_DATE_FORMAT", "DATETIME_FORMAT", "DAY_MONTH_FORMAT", "WEEKDAY_DATE_FORMAT"} <= used


@pytest.mark.parametrize("code", sorted(SHIPPED))
def test_every_language_has_every_date_format_the_pages_name(code):
    from django.utils import formats

    for name in NAMED_FORMATS:
        written = formats.get_format(name, lang=code)
        assert written != name, (code, name)  # an unknown name comes back as itself: a literal format


@pytest.mark.parametrize(
    ("code", "day", "day_and_time"),
    [
        ("en", "2 December 2026", "2 Dec 2026, 14:30"),
        ("es", "2 de diciembre de 2026", "02/12/2026 14:30"),
        ("pt-br", "2 de Dezembro de 2026", "02/12/2026 14:30"),
        ("fr", "2 décembre 2026", "02/12/2026 14:30"),
        ("ko", "2026년 12월 2일", "2026-12-2 14:30"),
        ("ar", "2 ديسمبر، 2026", "02\u200f/12\u200f/2026 2:30 م"),
    ],
)
def test_dates_are_written_as_each_language_writes_them(code, day, day_and_time):
    from datetime import datetime

    from django.template import Context, Template

    moment = datetime(2026, 12, 2, 14, 30)
    template = Template('{{ moment|date:"DATE_FORMAT" }}|{{ moment|date:"SHORT_DATETIME_FORMAT" }}')
    with translation.override(code):
        assert template.render(Context({"moment": moment})) == f"{day}|{day_and_time}"


def test_a_request_page_dates_its_story_in_the_reader_s_language(client, leader, busy):
    client.force_login(leader)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    content = client.get(reverse("request_detail", args=[busy.pk])).content.decode()
    with translation.override("fr"):
        month = translation.gettext(timezone.localtime(busy.created_at).strftime("%B"))
    assert re.search(rf"\d{{1,2}} {month}|\d\d/\d\d/\d{{4}}", content)
    assert " Dec " not in content
    assert "December" not in content


def chart_columns(content: str) -> list[float]:
    weekly = re.search(r'<svg[^>]*aria-labelledby="chart-weekly-title.*?</svg>', content, re.S).group(0)
    return [float(x) for x in re.findall(r'<rect x="([\d.]+)"', weekly)]


def test_the_charts_read_right_to_left_on_an_arabic_page(client, leader, busy):
    client.force_login(leader)
    english = client.get(reverse("dashboard")).content.decode()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ar"
    arabic = client.get(reverse("dashboard")).content.decode()

    # This week's column (the last drawn) is on the right in English, on the left in Arabic, mirrored.
    assert chart_columns(english)
    assert chart_columns(arabic)
    assert chart_columns(english)[-1] > 200 > chart_columns(arabic)[-1]
    assert 'direction="rtl"' in arabic
    assert 'direction="ltr"' in english
    # Names keep their own reading order inside the mirrored load chart.
    assert "\u2068" in arabic


# --- Nothing meant for people left unmarked ---------------------------------------

# What a template may hold outside {% translate %} and {% blocktranslate %}:
# template code, comments, scripts and markup.
NOT_READ = [r"{%\s*comment\s*%}.*?{%\s*endcomment\s*%}", r"{#.*?#}",
            r"{%\s*blocktranslate.*?{%\s*endblocktranslate\s*%}",
            r"<script.*?</script>", r"<style.*?</style>", r"{%.*?%}", r"{{.*?}}"]  # fmt: skip
READ_ATTRIBUTES = re.compile(r'\b(?:title|aria-label|aria-description|placeholder|alt)="([^"]*)"')


def unmarked_in_template(source: str) -> list[str]:
    for pattern in NOT_READ:
        source = re.sub(pattern, " ", source, flags=re.S)
    attributes = [value for value in READ_ATTRIBUTES.findall(source) if re.search(r"[A-Za-z]{2,}", value)]
    text = re.sub(r"<[^>]*>", "\n", source)
    return attributes + [line.strip() for line in text.splitlines() if re.search(r"[A-Za-z]{2,}", line)]


def test_every_template_s_words_are_marked_for_translation():
    unmarked = {
        str(path.relative_to(ROOT)): words
        for path in sorted((ROOT / "templates").rglob("*.*"))
        if (words := unmarked_in_template(path.read_text()))
    }
    assert unmarked == {}


def test_the_template_check_finds_words_left_unmarked():
    assert unmarked_in_template('<p>Pray now</p><a title="Open it" href="/">{% translate "Fine" %}</a>') == [
        "Open it",
        "Pray now",
    ]
    assert unmarked_in_template("{% blocktranslate %}Fine {{ x }}{% endblocktranslate %}<b>{{ name }}</b>") == []


# Calls whose words reach people: messages on the next page, form errors and
# labels, the refusals a service raises (shown on the page), model and form
# names. Not log lines (for whoever runs the server) nor PermissionDenied and
# Http404, whose words no page shows (403.html and 404.html say their own).
MESSAGES = {"success", "error", "info", "warning", "add_message"}


def refusals() -> set[str]:
    """ValidationError, IntercessionError and every class of the app that
    derives from one (its words are shown on the page that refused)."""
    classes = {
        node.name: {getattr(base, "id", getattr(base, "attr", "")) for base in node.bases}
        for path in (ROOT / "requests_app").rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ClassDef)
    }
    found = {"ValidationError", "IntercessionError"}
    while grown := {name for name, bases in classes.items() if bases & found} - found:
        found |= grown
    return found


SHOWN_CALLS = MESSAGES | refusals()
SHOWN_KEYWORDS = {"label", "help_text", "verbose_name", "verbose_name_plural", "empty_label", "placeholder"}
# Raised and caught at once, never shown: requests_app/team/accounts.py.
CAUGHT_AT_ONCE = {"invisible characters"}


def reads_as_words(node) -> bool:
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and bool(re.search(r"[A-Za-z]{2,}", node.value))
        and not re.fullmatch(r"[a-z_]+", node.value)  # a code (church_settings' refusals), not words
        and node.value not in CAUGHT_AT_ONCE
    )


def unmarked_in_python(source: str) -> list[str]:
    unmarked = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        function = node.func
        name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")
        owner = getattr(function, "value", None)
        on = getattr(owner, "id", "") or getattr(owner, "attr", "")
        if name in SHOWN_CALLS and "log" not in on.lower():
            unmarked += [arg.value for arg in node.args if reads_as_words(arg)]
        unmarked += [kw.value.value for kw in node.keywords if kw.arg in SHOWN_KEYWORDS and reads_as_words(kw.value)]
    return unmarked


# The API's schema: descriptions of fields for developers, in English (see
# FOR_DEVELOPERS_IN_ENGLISH below); no person reads them on a page of ours.
SCHEMA_DESCRIPTIONS = {"requests_app/api/serializers.py"}


def test_every_python_string_meant_for_people_is_marked_for_translation():
    unmarked = {
        str(path.relative_to(ROOT)): words
        for path in sorted((ROOT / "requests_app").rglob("*.py"))
        if "migrations" not in path.parts
        and str(path.relative_to(ROOT)) not in SCHEMA_DESCRIPTIONS
        and (words := unmarked_in_python(path.read_text()))
    }
    assert unmarked == {}


def test_the_python_check_finds_strings_left_unmarked():
    source = """
messages.success(request, "Saved.")
messages.success(request, _("Fine."))
logger.warning("for the server: %s", x)
forms.CharField(label="Your name", help_text=_("Fine"))
raise ValidationError("Not an address.")
"""
    assert unmarked_in_python(source) == ["Saved.", "Your name", "Not an address."]


def test_403_and_404_pages_never_show_an_exception_s_words():
    for name in ("403.html", "404.html"):
        assert "exception" not in (ROOT / "templates" / name).read_text()


# --- Every page of the access matrix, in every language --------------------------


def first_allowed_reader(name: str, kinds) -> tuple[str, str] | None:
    """(persona, kind) of the access matrix whom `name` shows a page to, the
    leader first (who sees the most)."""
    from test_access_matrix import ROWS

    _kinds, rule = ROWS[name]
    for persona in ("leader", "assigned", "requester", "anonymous", "superuser"):
        for kind in kinds:
            if rule(persona, kind, "get") == 200:
                return persona, kind
    return None


# The API's reference page (Swagger UI, and the schema it draws) is for the
# developers of the church's other tools, in English like the API itself; it
# says so (lang="en"). Everything the API answers to people in words (its
# refusals) is translated.
FOR_DEVELOPERS_IN_ENGLISH = {"api_docs"}


@pytest.mark.parametrize("code", sorted(TRANSLATIONS))
def test_every_page_of_the_access_matrix_speaks_every_language(db, code):
    from test_access_matrix import ANONYMOUS_CLIENTS, ROWS, World

    world = World()
    direction = "rtl" if code == "ar" else "ltr"
    seen = []
    for name, (kinds, _rule) in sorted(ROWS.items()):
        reader = first_allowed_reader(name, [kind if kind != "-" else "public" for kind in kinds])
        if reader is None:
            continue  # a POST-only action, or a page nobody is shown
        persona, kind = reader
        client = Client(HTTP_ACCEPT_LANGUAGE=code)
        if persona not in ANONYMOUS_CLIENTS:
            client.force_login(world.users[persona])
            NotificationPreferences.objects.update_or_create(user=world.users[persona], defaults={"language": code})
        response = client.get(world.url(name, persona, kind))
        assert response.status_code == 200, name
        if not response["Content-Type"].startswith("text/html"):
            continue  # the church's stylesheet, exports, the health check, the API
        content = response.content.decode()
        if name in FOR_DEVELOPERS_IN_ENGLISH:
            assert html_tag(content) == '<html lang="en">', name
            continue
        assert html_tag(content) == f'<html lang="{code}" dir="{direction}">', name
        assert english_left(content, code) == [], name
        seen.append(name)
    assert len(seen) >= 30, seen

    # And the pages that refuse: not found, forbidden.
    client = Client(HTTP_ACCEPT_LANGUAGE=code)
    client.force_login(world.users["other"])
    for path, status in ((reverse("request_detail", args=[10**6]), 404), (reverse("triage"), 403)):
        response = client.get(path)
        assert response.status_code == status, path
        assert html_tag(response.content.decode()) == f'<html lang="{code}" dir="{direction}">', path
        assert english_left(response.content.decode(), code) == [], path


def test_the_error_page_speaks_the_visitor_s_language(db, settings):
    settings.ROOT_URLCONF = "tests.urls_that_fail"
    response = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE="ar").get("/boom/")

    assert response.status_code == 500
    content = response.content.decode()
    assert html_tag(content) == '<html lang="ar" dir="rtl">'
    assert in_language("ar", "Something went wrong on our side") in content
    assert "bootstrap.rtl" in content


# --- Plural forms -------------------------------------------------------------------

PLURAL_FORMS = {
    "es": "nplurals=2; plural=(n != 1);",
    "pt-br": "nplurals=2; plural=(n > 1);",  # Brazilian Portuguese: 0 and 1 are singular
    "fr": "nplurals=2; plural=(n > 1);",
    "ko": "nplurals=1; plural=0;",
    "ar": "nplurals=6; plural=n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : n%100>=3 && n%100<=10 ? 3 : "
    "n%100>=11 && n%100<=99 ? 4 : 5;",
}
# Placeholders that are an amount of something: the message must be plural.
AMOUNTS = re.compile(r"%\((count|counter|days|hours|minutes|weeks)\)|{{ ?(count|counter) ?}}")


@pytest.mark.parametrize("code", sorted(TRANSLATIONS))
def test_each_catalog_has_its_language_s_plural_rule_and_every_form(code):
    po = catalog(code)
    assert po.metadata["Plural-Forms"] == PLURAL_FORMS[code]
    forms = int(PLURAL_FORMS[code].split(";")[0].split("=")[1])
    for entry in po:
        if entry.msgid_plural:
            assert sorted(entry.msgstr_plural) == list(range(forms)), entry.msgid
            assert all(form.strip() for form in entry.msgstr_plural.values()), entry.msgid


def test_every_message_that_counts_is_plural():
    singular = [entry.msgid for entry in catalog("fr") if not entry.msgid_plural and AMOUNTS.search(entry.msgid)]
    assert singular == []


def test_arabic_says_two_and_a_few_differently():
    """Arabic has a dual (2) and a plural of 3 to 10: a message whose forms
    for them are the same was not translated as Arabic counts."""
    invariant = {"%(counter)s is over capacity. The table below gives each one."}  # "N of them": one form
    same = [
        entry.msgid
        for entry in catalog("ar")
        if entry.msgid_plural and entry.msgstr_plural[2] == entry.msgstr_plural[3] and entry.msgid not in invariant
    ]
    assert same == []


@pytest.mark.parametrize(("count", "expected"), [(1, "1 jour"), (2, "2 jours"), (0, "0 jour")])
def test_a_plural_reads_right_in_french_for_zero_one_and_more(count, expected):
    with translation.override("fr"):
        assert translation.ngettext("%(count)d day", "%(count)d days", count) % {"count": count} == expected
