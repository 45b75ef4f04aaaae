"""
What people type is held to one set of rules (`requests_app.text`), applied
by every form (`requests_app.forms.hygiene.InputHygiene`): NFC; no control,
bidirectional or zero-width character in a single-line field (a clear message
under it); none at the edges of a text of several lines, and no control or
override inside it; none anywhere in an e-mail address; each choice once.
"""

import unicodedata

import pytest
from conftest import PASSWORD, make_user
from django import forms
from django.urls import reverse

from requests_app import roles, text
from requests_app.forms import account, invitations, lists, login, prayer_session, public, request_page
from requests_app.forms.hygiene import InputHygiene
from requests_app.models import Category, IntercessorProfile, PrayerRequest, Status, StatusUpdate

DECOMPOSED = unicodedata.normalize("NFD", "Zoé Ångström")
COMPOSED = "Zoé Ångström"
RLO = "\u202e"


# --- the rules ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("Anna", None),
        ("Zoé 🙏 𠜎 محمد", None),
        ("على\u200fالله", None),  # noqa: RUF001 -- a right-to-left mark is what Arabic needs
        ("👨\u200d👩\u200d👧", None),  # a family: joined by zero-width joiners
        ("می\u200cخواهم", None),  # noqa: RUF001 -- Persian: a zero-width non-joiner between letters
        ("a\x00b", text.NUL),
        ("a\ufffdb", text.UNREADABLE),
        (f"Anna{RLO}", text.INVISIBLE),
        ("Anna\u2066x\u2069", text.INVISIBLE),
        ("An\u200bna", text.INVISIBLE),
        ("An\u2060na", text.INVISIBLE),
        ("\ufeffAnna", text.INVISIBLE),
        ("An\u200dna", text.INVISIBLE),  # a joiner between Latin letters only hides
        ("\u200dمی", text.INVISIBLE),  # or at an edge
        ("a\x07b", text.INVISIBLE),
        ("a\x1b[31mb", text.INVISIBLE),
        ("a\nb", text.INVISIBLE),
        ("a\tb", text.INVISIBLE),
        ("a\x85b", text.INVISIBLE),  # a C1 control
        ("a\ud800b", text.INVISIBLE),  # a lone surrogate
    ],
)
def test_it_knows_what_a_single_line_may_hold(value, problem):
    assert text.single_line_problem(value) == problem


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("Line one\nline two\r\n\tindented", None),
        ("👨\u200d👩\u200d👧 and Zoé", None),
        ("a\x00b", text.NUL),
        ("a\ufffdb", text.UNREADABLE),
        (f"pray for {RLO}nna", text.INVISIBLE),
        ("a\x07b", text.INVISIBLE),
        ("a\x1bb", text.INVISIBLE),
    ],
)
def test_it_knows_what_a_text_of_several_lines_may_hold(value, problem):
    assert text.multi_line_problem(value) == problem


def test_it_strips_white_space_and_invisible_characters_from_the_edges():
    assert text.strip_edges(f" \u200b\ufeff{RLO}\x07 Healing\nfor Anna \u200b\n\x1b ") == "Healing\nfor Anna"


@pytest.mark.parametrize("address", [f"anna@example.org{RLO}", "an\u200bna@example.org", "anna@exa\x00mple.org"])
def test_it_finds_invisible_characters_in_an_address(address):
    assert text.address_problem(address)


def test_it_takes_an_address_in_another_script():
    assert not text.address_problem("zoé@exämple.org")


# --- every form of the app has them -----------------------------------------------


def _forms():
    found = []
    for module in (account, invitations, lists, login, prayer_session, public, request_page):
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, forms.BaseForm) and value.__module__ == module.__name__:
                found.append(value)
    return found


@pytest.mark.parametrize("form_class", _forms(), ids=lambda form_class: form_class.__name__)
def test_every_form_of_the_app_holds_input_to_the_rules(form_class):
    assert issubclass(form_class, InputHygiene)
    assert form_class.__mro__.index(InputHygiene) < form_class.__mro__.index(forms.BaseForm)


class _Sample(InputHygiene, forms.Form):
    name = forms.CharField(max_length=50)
    story = forms.CharField(widget=forms.Textarea, required=False)
    email = forms.EmailField(required=False)
    secret = forms.CharField(widget=forms.PasswordInput, required=False, strip=False)
    choices = forms.MultipleChoiceField(choices=[("a", "A"), ("b", "B")], required=False)
    website = forms.CharField(required=False)
    hygiene_exempt = ("website",)

    def clean_name(self):
        # What a form's own check sees: the cleaned text.
        self.seen_name = self.cleaned_data["name"]
        return self.seen_name


def test_it_gives_the_form_s_own_checks_the_text_in_nfc():
    form = _Sample({"name": DECOMPOSED, "story": DECOMPOSED})
    assert form.is_valid(), form.errors
    assert form.seen_name == COMPOSED
    assert form.cleaned_data["story"] == COMPOSED


def test_it_refuses_an_override_in_a_single_line_field_with_a_clear_message():
    form = _Sample({"name": f"Anna{RLO}"})
    assert not form.is_valid()
    assert "right-to-left override" in form.errors["name"][0]
    assert not hasattr(form, "seen_name")


def test_it_says_when_text_did_not_arrive_as_typed():
    form = _Sample({"name": "Anna \ufffd"})
    assert not form.is_valid()
    assert "could not be read" in form.errors["name"][0]


def test_it_strips_the_edges_of_a_text_of_several_lines_and_keeps_its_lines():
    form = _Sample({"name": "Anna", "story": "\u200b\ufeff First line\n\tsecond line \u200b"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["story"] == "First line\n\tsecond line"


def test_it_refuses_an_override_inside_a_text_of_several_lines():
    form = _Sample({"name": "Anna", "story": f"pray for {RLO}anna"})
    assert not form.is_valid()
    assert "story" in form.errors


def test_it_refuses_an_address_with_an_invisible_character():
    form = _Sample({"name": "Anna", "email": f"anna@example.org{RLO}"})
    assert not form.is_valid()
    assert "valid e-mail address" in form.errors["email"][0]


def test_it_leaves_passwords_and_exempt_fields_as_typed():
    form = _Sample({"name": "Anna", "secret": f" pass{RLO}word ", "website": "\x07"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["secret"] == f" pass{RLO}word "


def test_it_keeps_each_choice_once_in_the_order_given():
    form = _Sample({"name": "Anna", "choices": ["b", "a", "b", "a"]})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["choices"] == ["b", "a"]


def test_it_does_not_read_a_megabyte_its_length_check_refuses():
    form = _Sample({"name": RLO * 1_000_000})
    assert not form.is_valid()
    assert "at most 50" in form.errors["name"][0]


# --- through the pages ------------------------------------------------------------------


def test_the_ask_form_refuses_a_spoofed_title_and_stores_nothing(client, db):
    response = client.post(
        reverse("ask"),
        {"consent": "knows", "for_whom": "Anna", "title": f"Healing for {RLO}annA", "category": Category.HEALTH},
    )
    assert response.status_code == 200
    assert "right-to-left override" in response.content.decode()
    assert not PrayerRequest.objects.exists()


def test_the_ask_form_stores_nfc_and_trims_the_details(client, db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("ask"),
            {
                "for_whom": DECOMPOSED,
                "consent": "knows",
                "title": "Strength",
                "details": "\u200b\n Pray for 👨\u200d👩\u200d👧 \ufeff",
                "category": Category.HEALTH,
            },
        )
    assert response.status_code == 302
    prayer_request = PrayerRequest.objects.get()
    assert prayer_request.for_whom == COMPOSED
    assert prayer_request.details == "Pray for 👨\u200d👩\u200d👧"


def test_the_ask_form_refuses_bytes_that_are_not_utf_8(client, db):
    body = "for_whom=Anna&category=health&title=Healing%FF%FE"
    response = client.post(reverse("ask"), body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert "could not be read" in response.content.decode()
    assert not PrayerRequest.objects.exists()


def test_the_ask_form_refuses_an_address_ending_in_an_override(client, db):
    response = client.post(
        reverse("ask"),
        {
            "for_whom": "Anna",
            "consent": "knows",
            "title": "Healing",
            "category": Category.HEALTH,
            "requester_email": f"anna@example.org{RLO}",
            "wants_updates": "on",
        },
    )
    assert response.status_code == 200
    assert not PrayerRequest.objects.exists()


def test_a_note_keeps_no_escape_sequence(client, request_in, assigned_intercessor):
    prayer_request = request_in(Status.INTERCEDING)
    client.force_login(assigned_intercessor)
    before = StatusUpdate.objects.count()
    response = client.post(
        reverse("request_update", args=[prayer_request.pk]),
        {"note": "fine \x1b[2J\x07 now", "visibility": "team"},
        follow=True,
    )
    assert response.status_code == 200
    assert "control characters" in response.content.decode()
    assert StatusUpdate.objects.count() == before
    assert not any("\x1b" in note for note in StatusUpdate.objects.values_list("note", flat=True))


def test_my_settings_keep_each_preferred_category_once(client, db):
    intercessor = make_user("anna", roles.INTERCESSORS)
    client.force_login(intercessor)
    response = client.post(
        reverse("my_settings"),
        {
            "is_available": "on",
            "max_active_assignments": "3",
            "preferred_categories": ["health", "family", "health", "health"],
            "my_assignments": "on",
            "delivery": "daily",
        },
    )
    assert response.status_code == 302
    assert IntercessorProfile.objects.get(user=intercessor).preferred_categories == ["health", "family"]


def test_the_log_in_form_refuses_an_invisible_username_without_counting_an_attempt(client, db):
    from axes.models import AccessAttempt

    make_user("lydia", roles.LEADERS)
    response = client.post(reverse("login"), {"username": f"lydia{RLO}", "password": PASSWORD})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert not AccessAttempt.objects.exists()
