"""
The domain of Intercession: prayer requests, who intercedes for them, and
their story.

Names are a contract (see PRODUCT.md). Status changes never happen here: they
go through `requests_app.services`, which checks the rules in
`requests_app.rules` and writes the `StatusUpdate` in the same transaction.
"""

import hashlib
import secrets
import uuid
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from requests_app import roles
from requests_app.privacy import blind_index
from requests_app.privacy.fields import EncryptedCharField, EncryptedEmailField, EncryptedTextField


class Category(models.TextChoices):
    HEALTH = "health", _("Health")
    FAMILY = "family", _("Family")
    SALVATION = "salvation", _("Salvation")
    MARRIAGE = "marriage", _("Marriage")
    FINANCES = "finances", _("Finances")
    WORK = "work", _("Work")
    CHURCH = "church", _("Church")
    NATION = "nation", _("Nation")
    OTHER = "other", _("Other")


class Status(models.TextChoices):
    NEW = "new", _("Awaiting assignment")
    INTERCEDING = "interceding", _("In intercession")
    BREAKTHROUGH = "breakthrough", _("Breakthrough in the spirit — awaiting manifestation")
    ANSWERED = "answered", _("Manifested")
    CLOSED = "closed", _("Closed")


# Requests the team is still carrying: they hold an intercessor's capacity and
# appear on the team board.
OPEN_STATUSES = (Status.NEW, Status.INTERCEDING, Status.BREAKTHROUGH)


class Visibility(models.TextChoices):
    PRIVATE = "private", _("Only me (private journal)")
    TEAM = "team", _("The team (leaders and assigned intercessors)")
    REQUESTER = "requester", _("The team and the requester")


class Consent(models.TextChoices):
    """What the requester confirmed on the public form about the person the
    prayer is for (empty: the church does not ask, or it was not asked)."""

    SELF = "self", _("For the requester themselves")
    KNOWS = "knows", _("For someone who knows of the request")
    UNIDENTIFIED = "unidentified", _("For someone the request does not identify")


def hash_token(raw_token: str) -> str:
    return hashlib.sha256(raw_token.encode()).hexdigest()


def _choices_check(field: str, choices: type[models.TextChoices], name: str) -> models.CheckConstraint:
    return models.CheckConstraint(condition=Q(**{f"{field}__in": choices.values}), name=name)


# Since when nobody has prayed for a request: its last prayer or, if nobody
# has prayed yet, when it (last) entered intercession, or failing that was
# submitted. The coverage page sorts and filters on it, through an index.
GAP_SINCE = Coalesce("last_prayed_at", "entered_intercession_at", "created_at")


# What an intercessor who is not assigned may see: a request a leader has
# shared with the team, not confidential, not closed, not flagged for review.
ON_TEAM_BOARD = ~Q(status=Status.CLOSED) & Q(
    is_confidential=False, shared_with_team_at__isnull=False, flagged_at__isnull=True
)
# The team board itself: the open ones of those (the index's condition).
BOARD_CONDITION = Q(
    is_confidential=False, status__in=OPEN_STATUSES, shared_with_team_at__isnull=False, flagged_at__isnull=True
)


class PrayerRequestQuerySet(models.QuerySet):
    def visible_to(self, user) -> "PrayerRequestQuerySet":
        """The one rule of who sees which request (PRODUCT.md, "Who sees what").

        Leaders see everything. An intercessor sees the team's requests
        (neither confidential nor closed, shared with the team by a leader,
        and not flagged for review) plus whatever they are actively assigned
        to; the sight of an assignment ends with its release. Anyone else,
        superusers included, sees nothing here.
        Requesters reach their own request by token, not through this.
        """
        # Anything that is not a logged-in, active account (anonymous, a
        # requester holding a link) sees nothing through this rule.
        if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
            return self.none()
        if roles.is_leader(user):
            return self.all()
        if roles.is_intercessor(user):
            active_assignment = Assignment.objects.filter(
                prayer_request=OuterRef("pk"), intercessor=user, released_at__isnull=True
            )
            return self.filter(ON_TEAM_BOARD | Exists(active_assignment))
        return self.none()

    def on_board(self) -> "PrayerRequestQuerySet":
        """The team board (and the prayer sheet): open requests that a leader
        shared with the team, neither confidential nor flagged for review;
        the same for every reader, leaders included. One seek into the
        partial index `prayer_board_order`."""
        return self.filter(BOARD_CONDITION)

    def open(self) -> "PrayerRequestQuerySet":
        return self.filter(status__in=OPEN_STATUSES)

    def matching(self, query: str) -> "PrayerRequestQuerySet":
        """The requests whose title, "for whom" or details hold every whole
        word of `query` (in any case), found through the blind index; a
        query without a word finds nothing."""
        found = blind_index.search_words(query)
        if not found:
            return self.none()
        for word in found:
            self = self.filter(
                pk__in=SearchDigest.objects.filter(digest__in=blind_index.search_digests(word)).values(
                    "prayer_request_id"
                )
            )
        return self

    def of_address(self, address: str) -> "PrayerRequestQuerySet":
        """The requests given with `address` (in any case), by its digest."""
        if not address.strip():
            return self.none()
        return self.filter(requester_email_digest__in=blind_index.address_digests(address))


class PrayerRequest(models.Model):
    """A request for prayer, submitted by someone without an account.

    Invariants: `status` only changes through `requests_app.services`, and
    every change writes a `StatusUpdate`. The follow-up token is never stored,
    only its SHA-256.
    """

    # The text of a request is encrypted at rest (`requests_app.privacy`):
    # no database file, dump or backup holds it. Leaders search it through
    # `SearchDigest`; "Lost your link?" finds an address by its digest.
    for_whom = EncryptedCharField(
        _("for whom"),
        max_length=120,
        help_text=_('A name, initials, or "unspoken".'),
    )
    category = models.CharField(_("category"), max_length=20, choices=Category.choices, default=Category.OTHER)
    title = EncryptedCharField(_("title"), max_length=150)
    details = EncryptedTextField(_("details"), max_length=4000, blank=True)
    is_urgent = models.BooleanField(_("urgent"), default=False)
    is_confidential = models.BooleanField(_("confidential"), default=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.NEW)
    requester_name = EncryptedCharField(_("your name"), max_length=100, blank=True)
    requester_email = EncryptedEmailField(_("your e-mail"), blank=True)
    # `blind_index.address_digest(requester_email)`, kept by the services.
    requester_email_digest = models.CharField(max_length=32, blank=True, editable=False, db_index=True)
    wants_updates = models.BooleanField(_("send me updates"), default=False)
    consent = models.CharField(_("who the prayer is for"), max_length=12, choices=Consent.choices, blank=True)
    # The language the requester asked in: their e-mails speak it. Blank
    # (asked before languages were stored): the church's default language.
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, blank=True)
    followup_token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("submitted"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    breakthrough_at = models.DateTimeField(_("breakthrough in the spirit"), null=True, blank=True)
    answered_at = models.DateTimeField(_("manifested"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    # When anyone on the team last prayed for it (None until someone does):
    # the latest `PrayerLog.prayed_at`, kept by `services.log_prayer` in the
    # transaction that logs the prayer, so the lists sort by it without
    # reading the prayer log (migration 0008).
    last_prayed_at = models.DateTimeField(_("last prayed for"), null=True, blank=True, editable=False)
    # When it last entered intercession (its first assignment, or a move
    # back), set by the move itself and kept after it moves on: where a
    # coverage gap starts while nobody has prayed.
    entered_intercession_at = models.DateTimeField(_("entered intercession"), null=True, blank=True, editable=False)
    # The triage gate of the team board (PRODUCT.md, "Who sees what"): null
    # until a leader has looked at the request and shared it with the team
    # (by assigning it, or "Share with the team"); set by the services only.
    shared_with_team_at = models.DateTimeField(_("shared with the team"), null=True, blank=True, editable=False)
    # An intercessor flagged it as unsuitable for the board: off the board
    # until a leader reviews it (returns it, or keeps it off). Why is in the
    # story (`UpdateKind.FLAGGED`, its note encrypted), for leaders only.
    flagged_at = models.DateTimeField(_("flagged for review"), null=True, blank=True, editable=False)
    # Retention and erasure (`services.erase_text`, `services.apply_retention`):
    # when its text, names, e-mail and notes were erased (null while kept),
    # and the day until which a leader chose to keep its text all the same.
    text_erased_at = models.DateTimeField(_("text erased"), null=True, blank=True, editable=False)
    keep_text_until = models.DateField(_("text kept until"), null=True, blank=True, editable=False)
    # The weekly e-mail of how often the team prayed (`mail.reminders`), for
    # a requester who asked for updates: they may stop it (and start it
    # again) on their follow-up page without stopping the other updates.
    # When the last one was written, so it goes at most once a week
    # (migration 0018).
    wants_prayer_news = models.BooleanField(_("weekly prayer news"), default=True, editable=False)
    prayer_news_sent_at = models.DateTimeField(_("weekly prayer news sent"), null=True, blank=True, editable=False)

    objects = PrayerRequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("prayer request")
        verbose_name_plural = _("prayer requests")
        ordering = ["-is_urgent", "created_at"]
        constraints = [
            _choices_check("status", Status, "prayer_request_status_valid"),
            _choices_check("category", Category, "prayer_request_category_valid"),
            models.CheckConstraint(
                condition=Q(consent__in=["", *Consent.values]), name="prayer_request_consent_valid"
            ),
        ]
        # The lists page by keyset (requests_app/keyset.py): each order below
        # ends with the id, and "urgent first" is `NOT is_urgent` ascending,
        # so a page is one seek into one of these indexes (migration 0007).
        indexes = [
            # The triage queue: new requests, urgent first, then oldest.
            models.Index(
                ~F("is_urgent"), F("created_at"), F("id"), condition=Q(status=Status.NEW), name="prayer_triage_order"
            ),
            # The team board: open, non-confidential requests shared with the
            # team and not flagged, in the same order (migration 0013).
            models.Index(
                ~F("is_urgent"),
                F("created_at"),
                F("id"),
                condition=BOARD_CONDITION,
                name="prayer_board_order",
            ),
            # Triage's "Flagged by the team": the flagged, oldest flag first.
            models.Index(fields=["flagged_at", "id"], condition=Q(flagged_at__isnull=False), name="prayer_flagged"),
            # Every request, newest first; and filtered by status (the
            # dashboard's links), which also counts the statuses.
            models.Index(fields=["created_at", "id"], name="prayer_newest"),
            models.Index(fields=["status", "created_at", "id"], name="prayer_status_newest"),
            # "Is this request open?" without reading it: an intercessor's
            # load counts their active assignments on open requests.
            models.Index(fields=["id"], condition=Q(status__in=OPEN_STATUSES), name="prayer_open"),
            # Coverage: active requests, the longest gap first (the gap
            # starts at the last prayer, else on entering intercession).
            # The columns are included so the gaps are counted from the index
            # alone (PostgreSQL; SQLite leaves them out).
            models.Index(
                GAP_SINCE,
                F("id"),
                condition=Q(status__in=(Status.INTERCEDING, Status.BREAKTHROUGH)),
                include=["last_prayed_at", "entered_intercession_at", "created_at"],
                name="prayer_coverage_order",
            ),
        ]

    def __str__(self) -> str:
        # Never the title or the person: __str__ ends up in admin log entries,
        # error reports and debugging output.
        return f"Prayer request #{self.pk}"

    def issue_followup_token(self) -> str:
        """Set a fresh follow-up token (256 bits) and return it; only its hash is kept."""
        raw_token = secrets.token_urlsafe(32)
        self.followup_token_hash = hash_token(raw_token)
        return raw_token

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_on_board(self) -> bool:
        """`BOARD_CONDITION` for this one request."""
        return (
            self.is_open
            and not self.is_confidential
            and self.shared_with_team_at is not None
            and self.flagged_at is None
        )

    @property
    def shown_title(self) -> str:
        """The title as the pages, lists and exports show it: "Text erased"
        once its text is gone."""
        return gettext("Text erased") if self.text_erased_at else self.title

    def word_digests(self) -> set[str]:
        """What the blind index keeps for this request's text now."""
        return blind_index.word_digests(self.title, self.for_whom, self.details)

    def index_text(self) -> None:
        """Keep the blind index of this saved request as its text is now:
        its address's digest and one `SearchDigest` per word."""
        self.requester_email_digest = blind_index.address_digest(self.requester_email)
        PrayerRequest.objects.filter(pk=self.pk).update(requester_email_digest=self.requester_email_digest)
        digests = self.word_digests()
        SearchDigest.objects.filter(prayer_request=self).exclude(digest__in=digests).delete()
        SearchDigest.objects.bulk_create(
            [SearchDigest(prayer_request=self, digest=digest) for digest in digests], ignore_conflicts=True
        )


class SearchDigest(models.Model):
    """The blind index: one row per distinct word of a request's title,
    "for whom" and details, as a keyed digest
    (`requests_app.privacy.blind_index`), never the word."""

    prayer_request = models.ForeignKey(PrayerRequest, on_delete=models.CASCADE, related_name="search_digests")
    digest = models.CharField(max_length=32)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["prayer_request", "digest"], name="search_digest_once")]
        indexes = [models.Index(fields=["digest", "prayer_request"], name="search_digest_lookup")]

    def __str__(self) -> str:
        return f"Search digest of prayer request #{self.prayer_request_id}"


class AssignmentQuerySet(models.QuerySet):
    def active(self) -> "AssignmentQuerySet":
        return self.filter(released_at__isnull=True)

    def carrying(self) -> "AssignmentQuerySet":
        """Active assignments on open requests: what counts against capacity.
        Read from `request_open`, which `services` keeps with the request's
        status, over an index of exactly these rows: an intercessor's load
        costs what they carry now, not everything they ever carried."""
        return self.active().filter(request_open=True)


class Assignment(models.Model):
    """An intercessor standing in the gap for one request.

    At most one active assignment per (request, intercessor), held by the
    database. Releasing keeps the row (history) and ends the intercessor's
    sight of a confidential request.
    """

    prayer_request = models.ForeignKey(PrayerRequest, on_delete=models.CASCADE, related_name="assignments")
    intercessor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assignments")
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assignments_made"
    )
    assigned_at = models.DateTimeField(auto_now_add=True)
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assignments_released",
    )
    # Whether its request is open (new, interceding, breakthrough): a copy of
    # the request's status kept by `services` in the same transaction as
    # every change of it (`_request_opened_or_closed`), for `carrying()`.
    request_open = models.BooleanField(default=True, editable=False)

    objects = AssignmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        constraints = [
            models.UniqueConstraint(
                fields=["prayer_request", "intercessor"],
                condition=Q(released_at__isnull=True),
                name="one_active_assignment_per_intercessor",
            ),
            models.CheckConstraint(
                condition=Q(released_at__isnull=True) | Q(released_at__gte=F("assigned_at")),
                name="assignment_released_after_assigned",
            ),
        ]
        indexes = [
            # "My assignments", and the sight check inside visible_to.
            models.Index(
                fields=["intercessor", "prayer_request"],
                condition=Q(released_at__isnull=True),
                name="assignment_active_by_user",
            ),
            # What each intercessor carries now (their load, capacity).
            models.Index(
                fields=["intercessor", "prayer_request"],
                condition=Q(released_at__isnull=True, request_open=True),
                name="assignment_carrying_by_user",
            ),
        ]

    def __str__(self) -> str:
        return f"Assignment #{self.pk} (request #{self.prayer_request_id})"

    @property
    def is_active(self) -> bool:
        return self.released_at is None


class UpdateKind(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    MOVE = "move", _("Status changed")
    NOTE = "note", _("Update")
    ASSIGNED = "assigned", _("Intercessor assigned")
    RELEASED = "released", _("Assignment released")
    # Released because the intercessor was deactivated (left the team).
    LEFT_TEAM = "left_team", _("Released: left the team")
    CONFIDENTIALITY = "confidentiality", _("Confidentiality changed")
    # The team board's gate (migration 0013). A flag's note, the reason, is
    # for leaders only (and the intercessor who wrote it).
    SHARED = "shared", _("Shared with the team")
    FLAGGED = "flagged", _("Flagged by the team")
    RETURNED_TO_BOARD = "returned_to_board", _("Returned to the team board")
    KEPT_OFF_BOARD = "kept_off_board", _("Kept off the team board")
    # The request's text was erased (`requests_app.services.erase_text`):
    # by retention, at the requester's request, or by a leader for them.
    ERASED = "erased", _("Text erased")
    # A move taken back (`requests_app.services.undo_move`, migration 0017):
    # a move of its own, from the undone move's status back to the one before.
    UNDONE = "undone", _("Move undone")


class StatusUpdate(models.Model):
    """One entry in a request's story: a status move (`from_status !=
    to_status`) or a plain update (`from_status == to_status`). The app never
    edits or deletes one.

    The first entry of every story is the submission, with an empty
    `from_status`. `author` is null when the requester wrote it. `kind` says
    what the entry records, so the story can be told in the reader's language;
    `intercessor` names who was assigned or released.
    """

    prayer_request = models.ForeignKey(PrayerRequest, on_delete=models.CASCADE, related_name="updates")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=UpdateKind.choices, default=UpdateKind.NOTE)
    intercessor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    from_status = models.CharField(max_length=20, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=Status.choices)
    note = EncryptedTextField(max_length=4000, blank=True)
    visibility = models.CharField(max_length=20, choices=Visibility.choices, default=Visibility.TEAM)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("status update")
        verbose_name_plural = _("status updates")
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(from_status="") | Q(from_status__in=Status.values),
                name="status_update_from_status_valid",
            ),
            _choices_check("to_status", Status, "status_update_to_status_valid"),
            _choices_check("visibility", Visibility, "status_update_visibility_valid"),
            # A move changes the status; every other kind of entry leaves it.
            models.CheckConstraint(
                condition=(
                    Q(kind__in=[UpdateKind.MOVE, UpdateKind.UNDONE])
                    & ~Q(from_status="")
                    & ~Q(from_status=F("to_status"))
                )
                | Q(kind=UpdateKind.SUBMITTED, from_status="", to_status=Status.NEW)
                | (
                    Q(
                        kind__in=[
                            UpdateKind.NOTE,
                            UpdateKind.ASSIGNED,
                            UpdateKind.RELEASED,
                            UpdateKind.LEFT_TEAM,
                            UpdateKind.CONFIDENTIALITY,
                            UpdateKind.SHARED,
                            UpdateKind.FLAGGED,
                            UpdateKind.RETURNED_TO_BOARD,
                            UpdateKind.KEPT_OFF_BOARD,
                            UpdateKind.ERASED,
                        ]
                    )
                    & Q(from_status=F("to_status"))
                ),
                name="status_update_kind_matches_statuses",
            ),
            # A private journal note has an author to be private to.
            models.CheckConstraint(
                condition=~Q(visibility=Visibility.PRIVATE) | Q(author__isnull=False),
                name="status_update_private_has_author",
            ),
        ]
        indexes = [
            models.Index(fields=["prayer_request", "created_at"], name="status_update_story"),
            # My private journal, newest first (the history page).
            models.Index(
                fields=["author", "created_at", "id"],
                condition=Q(visibility=Visibility.PRIVATE),
                name="status_update_journal",
            ),
        ]

    def __str__(self) -> str:
        return f"Status update #{self.pk} (request #{self.prayer_request_id})"

    @property
    def is_move(self) -> bool:
        return self.from_status != self.to_status

    @property
    def erased_line(self) -> str:
        """An `erased` entry told in the reader's language: its note is only
        a marker of why (`requests_app.services.ERASED_*`)."""
        why, _colon, days = self.note.partition(":")
        if why == "retention":
            count = int(days) if days.isdigit() else 0
            erased = ngettext("Text erased after %(days)s day", "Text erased after %(days)s days", count)
            return erased % {"days": days}
        if why == "requester":
            return gettext("Erased at the requester's request")
        return gettext("Erased by a leader")


class PrayerLog(models.Model):
    """An intercessor's record that they prayed for a request."""

    prayer_request = models.ForeignKey(PrayerRequest, on_delete=models.CASCADE, related_name="prayer_logs")
    intercessor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="prayer_logs")
    prayed_at = models.DateTimeField()
    minutes = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(0), MaxValueValidator(24 * 60)]
    )
    fasted = models.BooleanField(default=False)
    note = EncryptedTextField(max_length=2000, blank=True)
    # A random key carried by each "I prayed" form, so a double tap or a
    # resubmitted form finds the entry already there instead of logging twice.
    submission_key = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        verbose_name = _("prayer log entry")
        verbose_name_plural = _("prayer log")
        ordering = ["-prayed_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(minutes__isnull=True) | Q(minutes__gte=0, minutes__lte=24 * 60),
                name="prayer_log_minutes_in_range",
            ),
            models.UniqueConstraint(
                fields=["intercessor", "submission_key"],
                condition=~Q(submission_key=""),
                name="prayer_log_submitted_once",
            ),
        ]
        indexes = [
            models.Index(fields=["prayer_request", "-prayed_at"], name="prayer_log_by_request"),
            # My prayers, newest first (keyset on prayed_at, id), my last
            # prayer, and my prayers this month.
            models.Index(fields=["intercessor", "prayed_at", "id"], name="prayer_log_intercessor_time"),
            # The dashboard's prayers per week: a range of prayed_at.
            models.Index(fields=["prayed_at"], name="prayer_log_prayed_at"),
        ]

    def __str__(self) -> str:
        return f"Prayer log #{self.pk} (request #{self.prayer_request_id})"


class IntercessorProfile(models.Model):
    """How much an intercessor can carry, and what they are drawn to."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="intercessor_profile")
    max_active_assignments = models.PositiveSmallIntegerField(
        _("how many requests I can carry"), default=3, validators=[MinValueValidator(0), MaxValueValidator(50)]
    )
    is_available = models.BooleanField(_("available for new assignments"), default=True)
    preferred_categories = models.JSONField(_("preferred categories"), default=list, blank=True)
    # Who last changed the capacity or availability, when it was not the
    # intercessor themselves (a leader, from the team or assign page): shown
    # to the intercessor on My settings. Cleared when they change it again.
    limits_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    limits_changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("intercessor profile")
        verbose_name_plural = _("intercessor profiles")
        constraints = [
            models.CheckConstraint(
                condition=Q(max_active_assignments__gte=0, max_active_assignments__lte=50),
                name="profile_capacity_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"Intercessor profile of {self.user}"

    def clean(self) -> None:
        unknown = set(self.preferred_categories or []) - set(Category.values)
        if unknown:
            raise ValidationError(
                {"preferred_categories": _("Unknown categories: %(names)s") % {"names": ", ".join(sorted(unknown))}},
                code="unknown_category",
            )


class Delivery(models.TextChoices):
    IMMEDIATELY = "immediately", _("Immediately, one e-mail each time")
    DAILY = "daily", _("Once a day, all together in one digest e-mail")


class NotificationPreferences(models.Model):
    """Which of the team's e-mails a user receives, and when. One row per
    user, created when they first save their settings: a user without a row
    gets every e-mail, immediately (`for_user`). Read by
    `requests_app.mail.notifications` inside the transaction of each change.
    The requester's follow-up link and password resets are not optional and
    have no switch here."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    # For leaders.
    new_requests = models.BooleanField(_("a new prayer request arrives"), default=True)
    requester_updates = models.BooleanField(
        _("a requester writes an update, a praise report or withdraws their request"), default=True
    )
    releases = models.BooleanField(_("an intercessor releases one of their assignments"), default=True)
    leader_summary = models.BooleanField(
        _("the leaders' daily summary: requests waiting, coverage gaps, overloaded intercessors"), default=True
    )
    # For intercessors.
    my_assignments = models.BooleanField(_("I am assigned to a request, or released from one"), default=True)
    prayer_reminders = models.BooleanField(
        _("a daily reminder of my assignments nobody has prayed for lately"), default=True
    )
    delivery = models.CharField(
        _("when to send them"), max_length=20, choices=Delivery.choices, default=Delivery.IMMEDIATELY
    )
    # The member's language, for their pages and e-mails; blank: the
    # church's default language.
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, blank=True)

    class Meta:
        verbose_name = _("e-mail preferences")
        verbose_name_plural = _("e-mail preferences")
        constraints = [_choices_check("delivery", Delivery, "notification_delivery_valid")]

    def __str__(self) -> str:
        return f"E-mail preferences of {self.user}"

    @classmethod
    def for_user(cls, user) -> "NotificationPreferences":
        """The saved row, or an unsaved one with the defaults."""
        return cls.objects.filter(user=user).first() or cls(user=user)


class HeldNotification(models.Model):
    """One line of a user's next daily digest: a team e-mail held back
    because the user chose "once a day". Like every e-mail, it holds a
    generic sentence and a link, never anything of a request, written in the
    user's language when it was held.

    `send_reminders` folds a user's unfolded lines into one `OutboxMessage`
    and stamps `folded_at` in the same transaction, so a line is mailed once
    or not yet, never lost. Folded lines are kept a while (their
    `dedupe_key` stops a reminder being held twice the same day), then pruned.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=30)
    sentence = models.CharField(max_length=300)
    link = models.CharField(max_length=500)
    # For ids in logs only; null for lines about no one request.
    prayer_request = models.ForeignKey(
        PrayerRequest, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    dedupe_key = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    folded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("digest line")
        verbose_name_plural = _("digest lines")
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["dedupe_key"], condition=~Q(dedupe_key=""), name="held_dedupe_key_once"),
        ]
        indexes = [
            models.Index(fields=["user", "created_at"], condition=Q(folded_at__isnull=True), name="held_unfolded"),
        ]

    def __str__(self) -> str:
        return f"Digest line #{self.pk}"


class PrayerSession(models.Model):
    """A team member's "Pray now" (`requests_app.prayer_session`): the
    choice they made, kept for next time, and the session under way.

    `request_ids` is the list snapshotted at the start, in its order, so the
    order does not jump as prayers are logged; `position` is how many of
    them are behind. The ids are only a plan: each request is checked again
    against the viewer's sight when it is shown and when it is prayed for.
    Kept in the database rather than in the login session, so a session
    outlives the idle timeout and the same "I prayed" posted twice moves on
    once (the row is locked while it moves). One row per user, made when
    they first start."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="prayer_session")
    include_board = models.BooleanField(_("also the team board"), default=False)
    # Empty: every category.
    categories = models.JSONField(_("categories"), default=list, blank=True)
    request_ids = models.JSONField(default=list, blank=True, editable=False)
    position = models.PositiveIntegerField(default=0, editable=False)
    prayed_count = models.PositiveIntegerField(default=0, editable=False)
    skipped_count = models.PositiveIntegerField(default=0, editable=False)
    started_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("prayer session")
        verbose_name_plural = _("prayer sessions")

    def __str__(self) -> str:
        return f"Prayer session of user #{self.user_id}"

    @property
    def is_started(self) -> bool:
        return self.started_at is not None

    def remaining_ids(self) -> list[int]:
        return self.request_ids[self.position :]


class AccessAction(models.TextChoices):
    VIEWED = "viewed", _("Opened")
    EXPORTED = "exported", _("Exported")


class AccessLogEntry(models.Model):
    """Someone on the team opened (or exported) a confidential request: who
    and when, never what they saw — the entry holds no text of the request.

    Written by `requests_app.access_log.record` for confidential requests
    only, each time a leader or an assigned intercessor opens the request's
    page, so the leaders can read on that page who has seen it. The requester
    is the request's owner and reading their own follow-up page is not
    logged; `user` is nullable so that an entry without an account can be
    told apart, but the app writes none. Entries are never edited or deleted
    by the app, and a user with entries cannot be deleted (deactivate them).
    """

    prayer_request = models.ForeignKey(PrayerRequest, on_delete=models.CASCADE, related_name="access_log")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=20, choices=AccessAction.choices, default=AccessAction.VIEWED)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("access log entry")
        verbose_name_plural = _("access log")
        ordering = ["-at", "-pk"]
        constraints = [_choices_check("action", AccessAction, "access_log_action_valid")]
        indexes = [models.Index(fields=["prayer_request", "-at"], name="access_log_by_request")]

    def __str__(self) -> str:
        return f"Access log entry #{self.pk} (request #{self.prayer_request_id})"


class OutboxMessageQuerySet(models.QuerySet):
    def due(self, now, max_attempts: int) -> "OutboxMessageQuerySet":
        """Unsent messages whose time has come and which were not given up."""
        return self.filter(sent_at__isnull=True, next_attempt_at__lte=now, attempts__lt=max_attempts)

    def undeliverable(self, max_attempts: int) -> "OutboxMessageQuerySet":
        return self.filter(sent_at__isnull=True, attempts__gte=max_attempts)


class OutboxMessage(models.Model):
    """An e-mail waiting to be sent, written in the same transaction as the
    change that caused it (`requests_app.mail.notifications`), delivered afterwards
    by `requests_app.mail.outbox`. Carries no confidential content: the app's name,
    a generic sentence and a link. The bodies are encrypted at rest (a link
    in them may be secret: a follow-up, an invitation, a password reset), and
    those of secret links are emptied once sent."""

    # The requester's address, for their e-mails: encrypted like their request.
    to = EncryptedEmailField()
    subject = models.CharField(max_length=200)
    body_text = EncryptedTextField()
    body_html = EncryptedTextField(blank=True)
    kind = models.CharField(max_length=30)
    # For log lines (ids only); null for e-mails about no one request.
    prayer_request = models.ForeignKey(
        PrayerRequest, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    dedupe_key = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    # The exception's class name only: SMTP errors quote addresses.
    last_error = models.CharField(max_length=200, blank=True)

    objects = OutboxMessageQuerySet.as_manager()

    class Meta:
        verbose_name = _("outgoing e-mail")
        verbose_name_plural = _("outgoing e-mails")
        ordering = ["next_attempt_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["dedupe_key"], condition=~Q(dedupe_key=""), name="outbox_dedupe_key_once"),
        ]
        indexes = [
            # The sender's query: unsent, by when they are due.
            models.Index(fields=["next_attempt_at"], condition=Q(sent_at__isnull=True), name="outbox_unsent_due"),
        ]

    def __str__(self) -> str:
        return f"Outbox message #{self.pk}"


class LinkPurpose(models.TextChoices):
    # Why the link was made; the page behind it is the same for every purpose.
    NEW_LEADER = "new_leader", _("A leader made on the server (create_leader)")
    INVITATION = "invitation", _("An invitation to the team")


class AccountLink(models.Model):
    """A secret link with which the owner of an account chooses its first
    password (`requests_app.team.accounts`, the page `password_link`).

    Invariants: only the SHA-256 of the token is stored. A link works once
    (`used_at`), until `expires_at`, and only while its account is active
    and has no usable password, so an old link can never take over an
    account that is in use. An account has at most one link that can still
    be used: issuing a new one deletes the unused ones, and using one deletes
    the rest.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="account_links")
    purpose = models.CharField(max_length=20, choices=LinkPurpose.choices)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("account link")
        verbose_name_plural = _("account links")
        constraints = [_choices_check("purpose", LinkPurpose, "account_link_purpose_valid")]

    def __str__(self) -> str:
        return f"Account link #{self.pk} (user #{self.user_id})"

    def is_usable(self, now) -> bool:
        return (
            self.used_at is None
            and now < self.expires_at
            and self.user.is_active
            and not self.user.has_usable_password()
        )


class TeamRole(models.TextChoices):
    """What someone is invited as."""

    INTERCESSOR = "intercessor", _("Intercessor")
    LEADER = "leader", _("Leader")
    BOTH = "both", _("Leader and intercessor")


class Invitation(models.Model):
    """An invitation to the team (`requests_app.team`). The invited person's
    account exists from the start, with no usable password and no group, so
    it can neither log in nor be assigned; its `AccountLink` (purpose
    `invitation`, 7 days) lets them choose a password, and accepting puts
    them in the groups of `role`. Revoking deletes the account that was never
    used, and this row with it; the audit log keeps the story."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="invitation")
    role = models.CharField(max_length=20, choices=TeamRole.choices)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        constraints = [_choices_check("role", TeamRole, "invitation_role_valid")]

    def __str__(self) -> str:
        return f"Invitation #{self.pk} (user #{self.user_id})"


class AuditAction(models.TextChoices):
    LEADER_CREATED = "leader_created", _("Leader created on the server")
    INVITED = "invited", _("Invited to the team")
    INVITATION_RESENT = "invitation_resent", _("Invitation sent again")
    INVITATION_REVOKED = "invitation_revoked", _("Invitation revoked")
    INVITATION_ACCEPTED = "invitation_accepted", _("Invitation accepted")
    MADE_LEADER = "made_leader", _("Made a leader")
    LEADER_ROLE_REMOVED = "leader_role_removed", _("Leader role removed")
    MADE_INTERCESSOR = "made_intercessor", _("Made an intercessor")
    INTERCESSOR_ROLE_REMOVED = "intercessor_role_removed", _("Intercessor role removed")
    LIMITS_CHANGED = "limits_changed", _("Capacity or availability changed")
    DEACTIVATED = "deactivated", _("Deactivated")
    REACTIVATED = "reactivated", _("Reactivated")
    SETTINGS_CHANGED = "settings_changed", _("Church settings changed")
    API_TOKEN_REVOKED = "api_token_revoked", _("API token revoked by a leader")
    WEBHOOK_ADDED = "webhook_added", _("Webhook added")
    WEBHOOK_CHANGED = "webhook_changed", _("Webhook changed")
    WEBHOOK_SECRET_CHANGED = "webhook_secret_changed", _("Webhook's signing secret replaced")
    WEBHOOK_REMOVED = "webhook_removed", _("Webhook removed")
    # About one request (its id in `details`, never its text).
    TEXT_KEPT_LONGER = "text_kept_longer", _("Request text kept longer")
    TEXT_ERASED = "text_erased", _("Request text erased on someone's behalf")


class AuditLogEntry(models.Model):
    """One change to the team or the church's settings: who, what, when
    (`requests_app.audit.record`, in the transaction of the change). Never
    request content: `details` holds field names and their old and new
    values (settings, capacity), never a request's text; a leader's reason,
    the one free text an entry holds, is `reason`, encrypted. Names are kept as
    they were (`actor_name`, `subject_name`), so an entry still reads right
    after an account is gone. The app never edits or deletes one."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_name = models.CharField(max_length=320, blank=True)
    action = models.CharField(max_length=40, choices=AuditAction.choices)
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    subject_name = models.CharField(max_length=320, blank=True)
    details = models.JSONField(default=dict, blank=True)
    # A leader's own words for a change about one request (why its text is
    # kept longer, or erased on someone's behalf): it may name the person
    # who phoned, so it is encrypted at rest like the request's text.
    reason = EncryptedTextField(blank=True)

    class Meta:
        verbose_name = _("audit log entry")
        verbose_name_plural = _("audit log entries")
        constraints = [_choices_check("action", AuditAction, "audit_action_valid")]
        indexes = [models.Index(fields=["-created_at", "-id"], name="audit_newest_first")]

    def __str__(self) -> str:
        return f"Audit #{self.pk}: {self.action}"


def _default_category_order() -> list[str]:
    return list(Category.values)


class ChurchSettings(models.Model):
    """The church's own settings, edited by leaders (one row, pk 1; read
    through `requests_app.church.current()`, which caches it). A new church
    starts from the environment's values (settings.py), so an empty
    database behaves as before."""

    name = models.CharField(_("church name"), max_length=100)
    contact = models.CharField(_("contact line"), max_length=200, blank=True)
    welcome_text = models.TextField(_("welcome text"), max_length=2000, blank=True)
    accent_colour = models.CharField(_("accent colour"), max_length=7, default="#4a2c6d")
    # For visitors whose browser asks for none of the shipped languages,
    # and for team members who have not chosen one.
    default_language = models.CharField(
        _("default language"), max_length=10, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE
    )
    coverage_days = models.PositiveSmallIntegerField(
        _("days without prayer before a coverage gap"), validators=[MinValueValidator(1), MaxValueValidator(90)]
    )
    reminder_prayer_gap_days = models.PositiveSmallIntegerField(
        _("days without prayer before an intercessor is reminded"),
        validators=[MinValueValidator(1), MaxValueValidator(90)],
    )
    reminder_waiting_hours = models.PositiveSmallIntegerField(
        _("hours a request may wait for assignment before the leaders' summary counts it"),
        validators=[MinValueValidator(1), MaxValueValidator(720)],
    )
    reminder_breakthrough_days = models.PositiveSmallIntegerField(
        _("days awaiting manifestation before the summary suggests checking in"),
        validators=[MinValueValidator(1), MaxValueValidator(365)],
    )
    confidential_by_default = models.BooleanField(_("new requests are confidential by default"), default=True)
    form_open = models.BooleanField(_("the public form takes requests"), default=True)
    form_paused_message = models.TextField(_("message while the form is paused"), max_length=1000, blank=True)
    category_order = models.JSONField(_("order of the categories"), default=_default_category_order)
    retention_days = models.PositiveSmallIntegerField(
        _("days a manifested or closed request keeps its text"),
        default=180,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
    )
    asks_consent = models.BooleanField(_("the public form asks about consent"), default=True)
    privacy_notice = models.TextField(_("privacy notice"), max_length=4000, blank=True)
    # Origins (https://www.example.org) of the church's own sites, which may
    # show the request form in a frame (/embed/ask/): its frame-ancestors.
    embed_origins = models.JSONField(_("sites that may show the request form"), default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("church settings")
        verbose_name_plural = _("church settings")
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="church_settings_single_row")]

    def __str__(self) -> str:
        return self.name


class ApiToken(models.Model):
    """A team member's personal key to the JSON API (`requests_app.api`):
    named by its owner, shown once when made, kept here only as the SHA-256
    of its secret (a dump of this table opens nothing), optionally for
    reading only. Revoked by its owner, by a leader, or when its owner is
    deactivated; a revoked token is kept, so that its owner's settings can
    still tell when it was last used. `requests_app.team.api_tokens` makes
    and revokes them."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=60)
    key_hash = models.CharField(max_length=64, unique=True)
    # The secret's first characters, to tell one token from another.
    prefix = models.CharField(max_length=12)
    read_only = models.BooleanField(_("for reading only"), default=False)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "-created_at"], name="api_token_by_user")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class WebhookEvent(models.TextChoices):
    """What a webhook can be told (`requests_app.hooks`): the value is the
    `type` of the event's JSON."""

    SUBMITTED = "request.submitted", _("A request is submitted")
    URGENT_SUBMITTED = "request.urgent_submitted", _("An urgent request is submitted")
    NEEDS_ASSIGNMENT = "request.needs_assignment", _("A request has waited for assignment too long")
    MANIFESTED = "request.manifested", _("A request is manifested")


# The event a leader sends to try a webhook; not one to choose.
WEBHOOK_PING = "ping"


class Webhook(models.Model):
    """An address of another tool (a chat, an automation) that the leaders
    registered to be told of events (`WebhookEvent`), as signed JSON. An
    event carries ids, the category, the urgency and the status, never a
    request's words or anyone's name. The signing secret is shown once, when
    made, and kept encrypted (it must be read to sign); so is the address,
    which for many chat tools is itself a key to post in the church's room
    (pages show only its host). `failing_since` is the first failure since
    the last delivery that went through."""

    name = models.CharField(_("name"), max_length=60)
    url = EncryptedCharField(_("address"), max_length=500)
    events = models.JSONField(_("events"), default=list)
    secret = EncryptedCharField(max_length=100)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_delivered_at = models.DateTimeField(null=True, blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    # What went wrong, as the worker saw it: an HTTP status or an error's class.
    last_error = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("webhook")
        verbose_name_plural = _("webhooks")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return f"Webhook #{self.pk}"

    @property
    def host(self) -> str:
        """Where it posts, without the path (which may be a key)."""
        try:
            return urlsplit(self.url).netloc
        except ValueError:
            return ""


class WebhookDeliveryQuerySet(models.QuerySet):
    def due(self, now, max_attempts: int) -> "WebhookDeliveryQuerySet":
        """Undelivered events whose time has come, not given up: those of
        active hooks, and a leader's test event whatever its hook's state."""
        return self.filter(
            Q(webhook__is_active=True) | Q(event=WEBHOOK_PING),
            delivered_at__isnull=True,
            next_attempt_at__lte=now,
            attempts__lt=max_attempts,
        )

    def given_up(self, max_attempts: int) -> "WebhookDeliveryQuerySet":
        return self.filter(delivered_at__isnull=True, attempts__gte=max_attempts)


class WebhookDelivery(models.Model):
    """One event for one webhook, written in the transaction of the change
    that caused it and sent afterwards by the outbox worker, with the
    outbox's retry and back-off (`requests_app.hooks.delivery`). `event_id`
    is the event's `id`, the same at every attempt, so a receiver can tell a
    repeat; `dedupe_key` makes an event that a scan finds (a request waiting
    too long) one per request and hook. `payload` is the JSON as sent: ids,
    category, urgency and status only."""

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    event = models.CharField(max_length=40)
    payload = models.JSONField()
    dedupe_key = models.CharField(max_length=100, blank=True)
    # The request it is about, if any (the waiting scan asks which it told of).
    prayer_request = models.ForeignKey(
        PrayerRequest, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=200, blank=True)

    objects = WebhookDeliveryQuerySet.as_manager()

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["webhook", "dedupe_key"], condition=~Q(dedupe_key=""), name="webhook_delivery_once"
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"], condition=Q(delivered_at__isnull=True), name="webhook_delivery_due"
            ),
            models.Index(fields=["webhook", "-created_at"], name="webhook_delivery_newest"),
        ]

    def __str__(self) -> str:
        return f"Webhook delivery #{self.pk} ({self.event})"
