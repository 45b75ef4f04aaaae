"""Every page of the app. The access matrix in tests/test_access_matrix.py
has a row for each of these names and fails when one is missing."""

from django.urls import path

from requests_app.views import (
    account,
    api_tokens,
    audit,
    church,
    dashboard,
    exports,
    health,
    language,
    lists,
    members,
    pray,
    public,
    request_page,
    requester_data,
    retention,
    sheet,
    team,
    webhooks,
)

urlpatterns = [
    # For uptime monitors and load balancers: no login, no data.
    path("healthz", health.healthz, name="healthz"),
    # Requesters: no account, a private follow-up link.
    path("ask/", public.ask, name="ask"),
    path("ask/sent/", public.ask_sent, name="ask_sent"),
    path("embed/ask/", public.embed_ask, name="embed_ask"),
    # Before followup/<token>/: "lost" is matched here, never taken for a token.
    path("followup/", public.followup_help, name="followup_help"),
    path("followup/lost/", public.followup_lost, name="followup_lost"),
    path("followup/lost/sent/", public.followup_lost_sent, name="followup_lost_sent"),
    path("followup/<str:token>/", public.followup, name="followup"),
    path("privacy/", public.privacy_notice, name="privacy_notice"),
    path("language/", language.set_language, name="set_language"),
    path("followup/<str:token>/update/", public.followup_update, name="followup_update"),
    path("followup/<str:token>/praise/", public.followup_praise, name="followup_praise"),
    path("followup/<str:token>/withdraw/", public.followup_withdraw, name="followup_withdraw"),
    path("followup/<str:token>/confidentiality/", public.followup_confidentiality, name="followup_confidentiality"),
    path("followup/<str:token>/prayer-news/", public.followup_prayer_news, name="followup_prayer_news"),
    # The requester's own data: download it, delete it (views/requester_data.py).
    path("followup/<str:token>/download/", requester_data.followup_download, name="followup_download"),
    path("followup/<str:token>/download.json", requester_data.followup_download_json, name="followup_download_json"),
    path("followup/<str:token>/delete/", requester_data.followup_delete, name="followup_delete"),
    # The team's lists.
    path("", lists.home, name="home"),
    path("triage/", lists.triage, name="triage"),
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("requests/", lists.request_list, name="request_list"),
    path("requests/export.csv", exports.export_requests, name="export_requests"),
    path("prayers/export.csv", exports.export_prayer_log, name="export_prayer_log"),
    path("mine/", lists.my_assignments, name="my_assignments"),
    path("board/", lists.board, name="board"),
    path("team/", team.team, name="team"),
    path("team/invite/", team.invite, name="team_invite"),
    path("team/invitations/<int:pk>/resend/", team.invitation_resend, name="invitation_resend"),
    path("team/invitations/<int:pk>/revoke/", team.invitation_revoke, name="invitation_revoke"),
    # A leader's changes to one member of the team (views/members.py).
    path("team/members/<int:pk>/roles/", members.member_roles, name="team_member_roles"),
    path("team/members/<int:pk>/limits/", members.member_limits, name="team_member_limits"),
    path("team/members/<int:pk>/deactivate/", members.member_deactivate, name="team_member_deactivate"),
    path("team/members/<int:pk>/reactivate/", members.member_reactivate, name="team_member_reactivate"),
    path("coverage/", lists.coverage, name="coverage"),
    path("sheet/", sheet.prayer_sheet, name="prayer_sheet"),
    path("history/", lists.history, name="history"),
    # Pray now: one request at a time, from my assignments and the board (views/pray.py).
    path("pray/", pray.start, name="prayer_start"),
    path("pray/session/", pray.session_page, name="prayer_session"),
    path("pray/session/prayed/", pray.prayed, name="prayer_session_prayed"),
    path("pray/session/skip/", pray.skip, name="prayer_session_skip"),
    # One request, and what can be done to it.
    path("requests/<int:pk>/", request_page.detail, name="request_detail"),
    path("requests/<int:pk>/assign/", request_page.assign, name="request_assign"),
    path("requests/<int:pk>/move/", request_page.move, name="request_move"),
    path("requests/<int:pk>/undo/", request_page.undo_move, name="request_undo_move"),
    path("requests/<int:pk>/update/", request_page.update, name="request_update"),
    path("requests/<int:pk>/pray/", request_page.pray, name="request_pray"),
    path("requests/<int:pk>/confidential/", request_page.make_confidential, name="request_confidential"),
    # Retention and erasure, for leaders (views/retention.py).
    path("requests/<int:pk>/keep-text/", retention.keep_text, name="request_keep_text"),
    path("requests/<int:pk>/erase/", retention.erase, name="request_erase"),
    # The team board's gate: a leader shares or keeps off, an intercessor flags.
    path("requests/<int:pk>/share/", request_page.share, name="request_share"),
    path("requests/<int:pk>/keep-off-board/", request_page.keep_off_board, name="request_keep_off_board"),
    path("requests/<int:pk>/flag/", request_page.flag, name="request_flag"),
    path("assignments/<int:pk>/release/", request_page.release, name="assignment_release"),
    path("assignments/<int:pk>/reassign/", request_page.reassign, name="assignment_reassign"),
    # The intercessor's own settings.
    path("settings/", account.my_settings, name="my_settings"),
    # Personal API tokens (the JSON API, requests_app/api/): one's own, and the team's for leaders.
    path("settings/tokens/", api_tokens.my_tokens, name="my_tokens"),
    path("settings/tokens/<int:pk>/revoke/", api_tokens.token_revoke, name="token_revoke"),
    path("team/tokens/", api_tokens.team_tokens, name="team_tokens"),
    # Webhooks: other tools told of events as signed JSON (leaders; requests_app/hooks/).
    path("team/webhooks/", webhooks.team_webhooks, name="team_webhooks"),
    path("team/webhooks/<int:pk>/", webhooks.webhook_detail, name="webhook_detail"),
    path("team/webhooks/<int:pk>/secret/", webhooks.webhook_secret, name="webhook_secret"),
    path("team/webhooks/<int:pk>/test/", webhooks.webhook_test, name="webhook_test"),
    path("team/webhooks/<int:pk>/send-again/", webhooks.webhook_send_again, name="webhook_send_again"),
    path("team/webhooks/<int:pk>/remove/", webhooks.webhook_remove, name="webhook_remove"),
    # The church's own settings, and the audit log of the team and the settings (leaders).
    path("church/", church.church_settings, name="church_settings"),
    path("audit/", audit.audit_log, name="audit_log"),
    # The accent colour as a stylesheet, for everyone (its content's hash in the name).
    path("church.<str:version>.css", church.stylesheet, name="church_stylesheet"),
]
