"""What the API takes and gives. Only what the request page shows its
reader: never the requester's name or address, never a note the reader may
not read (`access.note_is_shown`)."""

from rest_framework import serializers

from requests_app.models import Category, Consent, PrayerLog, PrayerRequest, Status, UpdateKind, Visibility


def _max_length(model, name: str) -> int:
    return model._meta.get_field(name).max_length


class Problem(serializers.Serializer):
    """Every refusal: what went wrong, in words; and, for bad input, what
    was wrong with each field."""

    detail = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)


class RequestSummary(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    for_whom = serializers.CharField()
    category = serializers.ChoiceField(choices=Category.choices)
    status = serializers.ChoiceField(choices=Status.choices)
    is_urgent = serializers.BooleanField()
    is_confidential = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    last_prayed_at = serializers.DateTimeField(allow_null=True)


class RequestPage(serializers.Serializer):
    """One page of a list, by keyset: `next` and `previous` are the
    addresses of the pages beside it (null at either end)."""

    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = RequestSummary(many=True)


class StoryEntry(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=UpdateKind.choices)
    from_status = serializers.CharField(allow_blank=True)
    to_status = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
    author = serializers.CharField(allow_null=True, help_text="Who wrote it; null for the requester.")
    intercessor = serializers.CharField(allow_null=True, help_text="Whom an assignment entry is about.")
    note = serializers.CharField(allow_null=True, help_text="Null where this reader may not read the note.")
    visibility = serializers.ChoiceField(choices=Visibility.choices, allow_null=True)


class RequestDetail(RequestSummary):
    details = serializers.CharField(allow_blank=True)
    story = StoryEntry(many=True)
    moves = serializers.ListField(
        child=serializers.ChoiceField(choices=Status.choices), help_text="The statuses this reader may move it to."
    )
    may_pray = serializers.BooleanField()
    may_post_update = serializers.BooleanField()


class AskInput(serializers.Serializer):
    """A new request, as the public form takes it (and checks it)."""

    for_whom = serializers.CharField(max_length=_max_length(PrayerRequest, "for_whom"))
    category = serializers.ChoiceField(choices=Category.choices)
    title = serializers.CharField(max_length=_max_length(PrayerRequest, "title"))
    details = serializers.CharField(max_length=_max_length(PrayerRequest, "details"), required=False, allow_blank=True)
    is_urgent = serializers.BooleanField(required=False, default=False)
    is_confidential = serializers.BooleanField(
        required=False, help_text="Left out: as the church's settings say (confidential, unless it changed that)."
    )
    requester_name = serializers.CharField(
        max_length=_max_length(PrayerRequest, "requester_name"), required=False, allow_blank=True
    )
    requester_email = serializers.EmailField(required=False, allow_blank=True)
    wants_updates = serializers.BooleanField(required=False, default=False)
    consent = serializers.ChoiceField(
        choices=[*Consent.choices, ("not_aware", "For someone else, who does not know")],
        required=False,
        help_text="Whom the prayer is for, where the church asks (its settings): required then.",
    )


class AskSent(serializers.Serializer):
    id = serializers.IntegerField()
    followup_url = serializers.URLField(help_text="The requester's private link: shown this once, never again.")


class PrayerInput(serializers.Serializer):
    minutes = serializers.IntegerField(min_value=0, max_value=24 * 60, required=False, allow_null=True)
    fasted = serializers.BooleanField(required=False, default=False)
    note = serializers.CharField(max_length=_max_length(PrayerLog, "note"), required=False, allow_blank=True)
    submission_key = serializers.CharField(
        max_length=64, required=False, allow_blank=True, help_text="The same key twice logs one prayer."
    )


class PrayerLogged(serializers.Serializer):
    id = serializers.IntegerField()
    prayed_at = serializers.DateTimeField()


class UpdateInput(serializers.Serializer):
    note = serializers.CharField(max_length=4000)
    visibility = serializers.ChoiceField(choices=Visibility.choices, default=Visibility.TEAM)


class MoveInput(serializers.Serializer):
    to_status = serializers.ChoiceField(choices=Status.choices)
    note = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")
    visibility = serializers.ChoiceField(choices=Visibility.choices, default=Visibility.TEAM)


class EntryMade(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Status.choices)
