"""Every language of the church (issue 15): the catalogs are whole, each page
speaks the language chosen (a team member's own, the menu's, the browser's,
else the church's), Arabic right to left, and e-mails go in the language of
the person they are for: the requester's own, each team member's own (else
the church's), from a page or from cron."""

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
from django.utils import translation

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
                "history", "prayer_sheet", "church_settings", "my_settings", "prayer_start"]  # fmt: skip
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
