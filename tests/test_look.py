"""
The look of the pages (issue 14), as the server writes them: the one script
that settles the colours, text size and folded menu before the first paint
is an external file in <head>, loaded neither deferred nor async (the CSP
allows no inline script); the others wait at the end of <body>. Without
JavaScript the menu is open and its menus are <details>, so every page of
the fullest menu is a plain link.
"""

from html.parser import HTMLParser

import pytest
from conftest import make_user
from django.urls import reverse

from requests_app import roles


class Scripts(HTMLParser):
    def __init__(self):
        super().__init__()
        self.where = None
        self.scripts = []  # (where, attributes, inline text)
        self.links = set()
        self.menus = 0

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag in ("head", "body"):
            self.where = tag
        elif tag == "script":
            self.scripts.append((self.where, attributes, ""))
        elif tag == "a" and self.where == "body" and attributes.get("href"):
            self.links.add(attributes["href"])
        elif tag == "details" and "nav-menu" in attributes.get("class", ""):
            self.menus += 1
        for name in attributes:
            assert not name.startswith("on"), f"an event handler attribute: {tag} {name}"

    def handle_data(self, data):
        if self.scripts and self.lasttag == "script" and data.strip():
            where, attributes, _text = self.scripts[-1]
            self.scripts[-1] = (where, attributes, data)


def parsed(response) -> Scripts:
    assert response.status_code == 200
    parser = Scripts()
    parser.feed(response.content.decode())
    return parser


@pytest.mark.parametrize("persona", ["visitor", "leader"])
def test_it_settles_the_look_in_head_with_no_inline_script(client, db, persona):
    if persona == "leader":
        client.force_login(make_user("lydia", roles.LEADERS, roles.INTERCESSORS))
    page = parsed(client.get(reverse("ask")))

    assert all(attributes.get("src") and not text for _where, attributes, text in page.scripts), page.scripts
    early = [(where, attrs) for where, attrs, _text in page.scripts if attrs["src"].endswith("/look.js")]
    assert len(early) == 1
    where, attributes = early[0]
    assert where == "head"
    assert "defer" not in attributes
    assert "async" not in attributes
    # Everything else waits for the page.
    assert {where for where, attributes, _text in page.scripts if attributes is not early[0][1]} == {"body"}


def test_it_links_every_page_of_the_fullest_menu_without_javascript(client, db):
    client.force_login(make_user("lydia", roles.LEADERS, roles.INTERCESSORS, is_staff=True))
    page = parsed(client.get(reverse("triage")))

    pages = [
        "triage", "request_list", "dashboard", "team", "coverage", "prayer_sheet", "church_settings",
        "audit_log", "my_assignments", "prayer_start", "board", "history", "my_settings", "password_change",
        "admin:index",
    ]  # fmt: skip
    assert {reverse(name) for name in pages} <= page.links
    assert page.menus == 2


def test_it_leaves_the_menu_open_in_the_html(client, db):
    content = client.get(reverse("ask")).content.decode()

    # Folded only under the "js" class (static/css/intercession.css), never by a class in the HTML.
    assert 'class="navbar-collapse" id="main-nav"' in content
    assert 'class="navbar-toggler"' in content
