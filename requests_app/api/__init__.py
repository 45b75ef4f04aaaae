"""
The JSON API, `/api/v1/` (issue 17): Django REST framework, its OpenAPI 3
schema by drf-spectacular (`/api/v1/schema/`, read at `/api/v1/docs/`).

An interface like the pages (`requests_app.views`), over the same helpers:
every request is fetched through `requests_app.access` (one the caller may
not see is a 404, one they may see but not change a 403), every change is
made by `requests_app.services`, the story is read as the request page reads
it (`access.story_for`, `access.note_is_shown`), and opening a confidential
request is written in its access log as opening its page is. The public
door (submitting a request) takes the public form's own validation
(`forms.public.AskForm`) and rate limit.

Team members come with a personal token (`requests_app.team.api_tokens`),
`Authorization: Bearer ic_…`; a read-only token is refused every write. No
session, no cookie: so no CSRF either.
"""
