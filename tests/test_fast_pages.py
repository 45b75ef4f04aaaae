"""Pages that stay fast and easy to audit (issue 16, STYLE.md).

The team's lists hand their templates prepared rows, never requests: a row
holds exactly what the list shows, translated and reversed once per page,
and the templates loop over rows with no include, no `{% url %}` and no
model method per row. An unbound form is rendered once and reused. What
these pages cost is measured by `make bench`, never by a timed test; these
tests pin what makes them cheap, and that nothing changed on the page for it.
"""

import re
from pathlib import Path

import pytest
from conftest import bring_to, make_user, submit
from django.contrib.auth.models import Group
from django.template.loader import render_to_string
from django.urls import reverse

from requests_app import church, roles, services
from requests_app.models import PrayerRequest, Status
from requests_app.views import rendered
from requests_app.views.rows import PrayForms, RequestRow, RequestRows, url_for_id

ROOT = Path(__file__).resolve().parents[1]
LISTS = {
    "triage": "requests_app/triage.html",
    "request_list": "requests_app/request_list.html",
    "my_assignments": "requests_app/my_assignments.html",
    "board": "requests_app/board.html",
    "coverage": "requests_app/coverage.html",
}


@pytest.mark.parametrize("template", sorted(LISTS.values()))
def test_a_list_s_loop_has_no_include_url_or_model_method_per_row(template):
    source = (ROOT / "templates" / template).read_text()
    loops = re.findall(r"{%\s*for row in (?:rows|flagged)\s*%}(.*?){%\s*endfor\s*%}", source, re.S)
    assert loops, template
    for loop in loops:
        assert "{% include" not in loop
        assert "{% url" not in loop
        assert "{% csrf_token" not in loop
        assert "{% blocktranslate" not in loop
        assert "{% translate" not in loop
        assert "prayer_request" not in loop
        # Nothing but the row's own fields (and page-wide labels).
        assert not re.search(r"\|\s*(date|iso|waited|days_since|truncatechars)", loop)


def _on_every_list(client, leader, assigned_intercessor):
    """Something on every list: waiting, shared on the board, carried and
    in a gap, a flagged one; the leader also intercedes."""
    leader.groups.add(*assigned_intercessor.groups.all())
    submit(confidential=False, urgent=True, title="Waiting <b>bold</b>")
    shared = submit(confidential=False, title="On the board")
    services.share_with_team(shared, by=leader)
    carried = submit(confidential=False, title="Carried")
    bring_to(carried, Status.INTERCEDING, leader=leader, intercessor=leader)
    PrayerRequest.objects.filter(pk=carried.pk).update(entered_intercession_at="2026-01-01T00:00:00Z")
    client.force_login(leader)


@pytest.mark.parametrize("name", sorted(LISTS))
def test_every_list_gets_rows_not_requests(client, leader, assigned_intercessor, name):
    _on_every_list(client, leader, assigned_intercessor)

    response = client.get(reverse(name))

    rows = response.context["rows"]
    assert rows, name
    assert all(isinstance(row, RequestRow) for row in rows)
    content = response.content.decode()
    for row in rows:
        assert f'href="{reverse("request_detail", args=[row.pk])}"' in content
    # What people wrote is escaped in the row's head, as the template did.
    assert "<b>bold</b>" not in content


def test_a_row_s_head_says_what_the_template_said(db):
    prayer_request = submit(confidential=True, urgent=True, title="Healing & rest")
    prayer_request.details = "x" * 200

    head = RequestRows(status=True, details=True).head(prayer_request)

    assert f'<a dir="auto" href="/requests/{prayer_request.pk}/">Healing &amp; rest</a>' in head
    assert '<span class="badge tag tag-alert">Urgent</span>' in head
    assert '<span class="badge tag tag-caution">Confidential</span>' in head
    assert "For M. K. · Health" in head
    assert f'status-{prayer_request.status}">Awaiting assignment</span>' in head
    assert ">" + "x" * 159 + "…</p>" in head


def test_an_erased_request_s_row_shows_neither_its_title_nor_its_details(db):
    prayer_request = submit(confidential=False, title="Secret words")
    prayer_request.details = "More secret words"
    prayer_request.text_erased_at = prayer_request.created_at

    head = RequestRows(details=True).head(prayer_request)

    assert "Secret" not in head
    assert ">Text erased</a>" in head


def test_one_reverse_makes_every_row_s_url(db):
    detail = url_for_id("request_detail")
    for pk in (1, 42, 10**9):
        assert detail(pk) == reverse("request_detail", args=[pk])


def test_each_row_s_pray_form_is_its_own(rf, db, leader):
    request = rf.get("/board/?page=2")
    request.user = leader
    forms = PrayForms(request)

    first, second = forms(7), forms(8)

    assert f'action="{reverse("request_pray", args=[7])}"' in first
    assert 'id="pray-minutes-7"' in first
    assert 'value="/board/?page=2#request-7"' in first
    keys = [re.search(r'name="submission_key" value="([0-9a-f]{32})"', form).group(1) for form in (first, second)]
    assert keys[0] != keys[1]
    assert 'name="csrfmiddlewaretoken"' in first
    assert forms.KEY not in first + second
    assert forms.CSRF not in first + second
    assert "2147483647" not in first + second


def test_an_unbound_form_is_rendered_once_and_a_bound_one_every_time(client, db, monkeypatch):
    renders = []
    real = render_to_string

    def counting(template_name, *args, **kwargs):
        renders.append(template_name)
        return real(template_name, *args, **kwargs)

    monkeypatch.setattr("requests_app.views.public.render_to_string", counting)
    first = client.get(reverse("ask")).content.decode()
    second = client.get(reverse("ask")).content.decode()

    assert renders == ["requests_app/public/_ask_fields.html"]
    assert re.sub(r'value="[^"]{64}"', "", first) == re.sub(r'value="[^"]{64}"', "", second)
    bound = client.post(reverse("ask"), {"for_whom": "Me", "title": ""}).content.decode()
    assert 'value="Me"' in bound
    assert "is-invalid" in bound


def test_the_kept_form_follows_the_language_and_the_church_s_settings(client, db):
    english = client.get(reverse("ask")).content.decode()
    french = client.get(reverse("ask"), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Your request" in english
    assert "Your request" not in french

    row = church.defaults()
    row.asks_consent = not row.asks_consent
    row.save()
    church.forget()
    changed = client.get(reverse("ask")).content.decode()
    assert ('name="consent"' in english) != ('name="consent"' in changed)


def test_the_kept_forms_stay_few(db):
    rendered.forget()
    for number in range(rendered.MOST_KEPT + 5):
        rendered.once(("form", number), lambda: "<p>x</p>")
    assert len(rendered._kept) <= rendered.MOST_KEPT


def test_the_board_s_rows_can_log_a_prayer_only_for_the_team(client, db, leader):
    shared = submit(confidential=False)
    services.share_with_team(shared, by=leader)
    reader = make_user("silas", roles.INTERCESSORS)
    client.force_login(reader)

    content = client.get(reverse("board")).content.decode()

    assert f'action="{reverse("request_pray", args=[shared.pk])}"' in content


# --- The request page's entries (views/entries.py) and the team's cards (a stencil)

REQUEST_PAGE_LOOPS = {
    "requests_app/_story.html": "story.entries",
    "requests_app/request_detail.html": "prayers.entries",
    "requests_app/_access_log.html": "access_log.entries",
}


@pytest.mark.parametrize("template", sorted(REQUEST_PAGE_LOOPS))
def test_the_request_page_s_lists_print_prepared_entries(template):
    source = (ROOT / "templates" / template).read_text()
    loop = re.search(
        r"{%\s*for (\w+) in " + re.escape(REQUEST_PAGE_LOOPS[template]) + r"\s*%}(.*?){%\s*endfor", source
    )
    assert loop, template
    assert loop.group(2).strip() == f"{{{{ {loop.group(1)} }}}}"


def test_the_request_page_escapes_names_and_notes_in_its_entries(client, leader, assigned_intercessor):
    prayer_request = submit(confidential=True, title="Entries")
    assigned_intercessor.first_name = "<i>Ivo</i>"
    assigned_intercessor.save()
    bring_to(prayer_request, Status.INTERCEDING, leader=leader, intercessor=assigned_intercessor)
    services.log_prayer(
        prayer_request, intercessor=assigned_intercessor, minutes=5, fasted=True, note="<b>held</b>\nsecond line"
    )
    services.post_update(
        prayer_request, actor=assigned_intercessor, note="A <script>note</script>\nline two", visibility="team"
    )
    client.force_login(leader)
    client.get(reverse("request_detail", args=[prayer_request.pk]))

    content = client.get(reverse("request_detail", args=[prayer_request.pk])).content.decode()

    assert "<i>Ivo</i>" not in content
    assert "&lt;i&gt;Ivo&lt;/i&gt; assigned" in content
    # In the prayer log, isolated from the date after it.
    assert '<bdi class="fw-semibold">&lt;i&gt;Ivo&lt;/i&gt;</bdi>' in content
    assert "A &lt;script&gt;note&lt;/script&gt;<br>line two" in content
    assert "&lt;b&gt;held&lt;/b&gt;<br>second line" in content
    assert "5 minutes" in content
    assert ">fasted</span>" in content
    # Opened twice by the leader, each time written down.
    assert "Opened 2 times." in content


MEMBER_FLAGS = (
    "can_manage",
    "is_me",
    "is_leader",
    "is_intercessor",
    "only_leader",
    "available",
    "full",
    "over_capacity",
    "has_last_prayed",
)


def _member_values(number: int) -> dict:
    return {
        "pk": str(number),
        "name": f'Ann <b>"{number}"</b> & co',
        "roles": "Leader & intercessor",
        "load": "0",
        "capacity": "12",
        "last_prayed_iso": "2026-11-30T10:00:00+00:00",
        "last_prayed": "yesterday",
        "prayers_this_month": "1234",
        "drawn_to": "Health, <Family>",
        "roles_url": f"/team/{number}/roles/",
        "limits_url": f"/team/{number}/limits/",
        "deactivate_url": f"/team/{number}/deactivate/",
        "here": "/team/?after=a&b=<c>",
        "csrf_field": rendered.mark_safe('<input type="hidden" name="csrfmiddlewaretoken" value="t0k3n">'),
        "max_capacity": "50",
    }


@pytest.mark.parametrize("language", ["en", "ar"])
def test_a_member_card_drawn_from_the_stencil_is_the_card_the_template_renders(language):
    from django.utils import translation

    stencil = rendered.Stencil("requests_app/_team_member.html", name="member")
    with translation.override(language):
        for shape in range(2 ** len(MEMBER_FLAGS)):
            flags = {name: bool(shape >> bit & 1) for bit, name in enumerate(MEMBER_FLAGS)}
            values = _member_values(shape)
            direct = render_to_string("requests_app/_team_member.html", {"member": {**flags, **values}})
            assert stencil(flags, values) == direct, flags


def test_the_team_page_draws_each_card_from_a_stencil(client, leader, assigned_intercessor, monkeypatch):
    client.force_login(leader)
    client.get(reverse("team"))
    drawn = []
    original = rendered.render_to_string
    monkeypatch.setattr(rendered, "render_to_string", lambda *a, **k: drawn.append(a[0]) or original(*a, **k))

    response = client.get(reverse("team"))

    assert drawn == []
    cards = [row.card for row in response.context["page"].object_list]
    assert len(cards) == 2
    assert all(f'id="member-{row.pk}"' in row.card for row in response.context["page"].object_list)


# --- The request page's query, built once per viewer ----------------------------


def test_the_request_page_builds_its_query_once_per_viewer_and_role(client, monkeypatch, leader, assigned_intercessor):
    from requests_app.views import request_page

    monkeypatch.setattr(request_page, "_figures", {})
    built = []
    original = request_page._build_page_figures
    monkeypatch.setattr(request_page, "_build_page_figures", lambda user: built.append(user.pk) or original(user))
    prayer_request = submit(title="Built once", confidential=True)
    bring_to(prayer_request, Status.INTERCEDING, leader=leader, intercessor=assigned_intercessor)
    url = reverse("request_detail", args=[prayer_request.pk])

    client.force_login(leader)
    for _ in range(3):
        assert client.get(url).status_code == 200
    client.force_login(assigned_intercessor)
    assert client.get(url).status_code == 200
    # The leader's and the intercessor's, once each.
    assert built == [leader.pk, assigned_intercessor.pk]

    # A viewer who stops leading reads with a query of their new role's.
    request_page._with_page_figures(leader)
    assert built == [leader.pk, assigned_intercessor.pk]
    leader.groups.remove(Group.objects.get(name=roles.LEADERS))
    roles.forget(leader)
    request_page._with_page_figures(leader)
    assert built == [leader.pk, assigned_intercessor.pk, leader.pk]
