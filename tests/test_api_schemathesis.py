"""
The API against its own OpenAPI schema (issue 17), with schemathesis: the
schema the app serves at /api/v1/schema/ is loaded through the app itself,
and every operation is called with generated data (valid and not) as a
leader and as an intercessor, each with their own token. No answer may be a
500 or contradict the schema (status codes, content types, bodies,
headers), and none may hold the text of a confidential request the caller
may not see: the world has one that the intercessor is not assigned to, and
one assigned to them, each with a marker in every text; the requesters'
names and addresses, which the API never gives, carry markers too.
"""

import json
import secrets

import pytest
import schemathesis
from conftest import make_user
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis import checks
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi import checks as openapi_checks

from requests_app import roles, services
from requests_app.models import Category
from requests_app.team import api_tokens

pytestmark = [pytest.mark.any_database, pytest.mark.django_db]


EXAMPLES = 25
# No 500, and nothing that contradicts the schema. Not "valid data must be
# accepted": what the public form refuses beyond types (updates without an
# address, consent where the church asks) is a documented 400.
CHECKS = [
    checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_headers_conformance,
    openapi_checks.response_schema_conformance,
]


def _marked(code: str) -> dict[str, str]:
    return {
        field: f"SCHEMAMARK-{code}-{field}-{secrets.token_hex(3)}" for field in ("whom", "title", "details", "name")
    }


@pytest.fixture
def world(db):
    """A leader, an intercessor, and three requests: a confidential one the
    intercessor does not carry (HIDE), a confidential one they do (MINE) and
    one on the team board (BORD)."""
    leader = make_user("lydia", roles.LEADERS, first_name="Lydia")
    anna = make_user("anna", roles.INTERCESSORS, first_name="Anna")
    markers = {}
    for code, confidential, assigned in (("HIDE", True, False), ("MINE", True, True), ("BORD", False, True)):
        m = markers[code] = _marked(code)
        prayer_request, _token = services.submit_request(
            for_whom=m["whom"],
            title=m["title"],
            details=m["details"],
            category=Category.HEALTH,
            is_confidential=confidential,
            requester_name=m["name"],
            requester_email=f"{code.lower()}@example.org",
        )
        if assigned:
            services.assign(prayer_request, [anna], by=leader)
        services.post_update(prayer_request, actor=leader, note=f"SCHEMAMARK-{code}-note", visibility="team")
    return {
        "tokens": {
            "leader": api_tokens.create(leader, name="schemathesis", read_only=False)[1],
            "intercessor": api_tokens.create(anna, name="schemathesis", read_only=False)[1],
        },
        "markers": markers,
    }


def _never_shown(world, persona: str) -> list[str]:
    """The markers no answer to `persona` may hold."""
    markers = world["markers"]
    # The requesters' names: the API gives them to no one.
    hidden = [markers[code]["name"] for code in markers]
    if persona == "intercessor":
        hidden += [*markers["HIDE"].values(), "SCHEMAMARK-HIDE-note"]
    return hidden


SETTINGS = hypothesis_settings(
    max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)


def _called_and_checked(case, persona: str, world, django_settings) -> None:
    django_settings.INTERCESSION_SUBMIT_LIMIT = 10_000  # the rate limit is its own test (test_api.py)
    headers = {"Authorization": f"Bearer {world['tokens'][persona]}"}

    response = case.call(headers=headers)

    case.validate_response(response, checks=CHECKS, headers=headers)
    never = _never_shown(world, persona)
    leaked = [marker for marker in never if marker in response.text or marker in json.dumps(dict(response.headers))]
    assert not leaked, (case.method, case.formatted_path, leaked)


@pytest.mark.parametrize("persona", ["leader", "intercessor"])
def test_the_api_keeps_to_its_schema_and_to_confidence(world, persona, settings):
    """Every operation of the served schema, `EXAMPLES` generated calls each."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", get_wsgi_application())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 6

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @SETTINGS
            @given(case=operation.as_strategy(generation_mode=mode))
            def called(case):
                _called_and_checked(case, persona, world, settings)

            called()
