"""
Fill an empty database with a believable intercession team, for `make run`.

Everything is done through `requests_app.services`, so the demo obeys the
same rules as real use: capacity, who may make which move, who may see and
write what. Only the dates are moved back afterwards (with `.update()`, which
no rule watches), so that lists and charts show ten weeks of life, including
requests nobody has prayed for lately. A seeded random generator makes every
run the same, relative to today.

`make run` calls this every time, so on a database that already has data it
only prints the logins and changes nothing. Either way the logins are the
last lines it prints, just above the server's own.

The story writes e-mails, as real use would (new requests to the leaders,
assignments to the intercessors, follow-up links to the requesters). None is
sent: they go to made-up addresses, and under `make run` the console backend
would print every one of them over the logins. They are counted and dropped
before the story is saved, so nothing is delivered after it, and nothing
waits in the outbox for `send_outbox`; the e-mails of later use are sent as
usual.
"""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from requests_app import roles, services
from requests_app.models import (
    Assignment,
    Category,
    IntercessorProfile,
    OutboxMessage,
    PrayerLog,
    PrayerRequest,
    Status,
    StatusUpdate,
    Visibility,
)
from requests_app.rules import Requester

PASSWORD = "intercede-together"  # noqa: S105 - published on purpose: demo accounts only
SEED = 7
# Esther stepped back this many days ago: she keeps what she carries, but
# takes nothing new.
STEPPED_BACK_DAYS = 21
# Requests marked `gap` have had nobody praying for them for this long.
GAP_DAYS = (9.0, 16.0)

C, S = Category, Status
INTERCESSOR, LEADER, REQUESTER = "intercessor", "leader", "requester"


@dataclass(frozen=True)
class Member:
    username: str
    first_name: str
    last_name: str
    capacity: int
    preferred: tuple[str, ...]
    available: bool = True
    leads: bool = False

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def role(self) -> str:
        carries = f"carries up to {self.capacity}"
        if self.leads:
            return f"leader, also intercedes ({carries})"
        if not self.available:
            return f"intercessor ({carries}), unavailable for now"
        return f"intercessor ({carries})"


# Capacities chosen so that the story ends with room on the team: Ruth, Samuel
# and David can each take two more (tests/test_seed_demo.py pins at least
# three people with room), so a leader trying the demo can assign two people
# at once, more than once; Grace, Miriam and Joseph end full and Esther
# unavailable, so the assign page shows those cases too.
TEAM = (
    Member("leader", "Grace", "Adeyemi", 3, (C.CHURCH, C.NATION), leads=True),
    Member("ruth", "Ruth", "Okafor", 6, (C.HEALTH, C.FAMILY)),
    Member("samuel", "Samuel", "Brandt", 6, (C.NATION, C.CHURCH, C.SALVATION)),
    Member("miriam", "Miriam", "Castillo", 2, (C.MARRIAGE, C.FAMILY)),
    Member("david", "David", "Kimura", 6, (C.WORK, C.FINANCES)),
    Member("esther", "Esther", "Lindqvist", 3, (C.HEALTH, C.SALVATION), available=False),
    Member("joseph", "Joseph", "Mensah", 3, (C.SALVATION, C.OTHER)),
)
ADMIN_USERNAME = "admin"
DEMO_USERNAMES = (*(member.username for member in TEAM), ADMIN_USERNAME)


@dataclass(frozen=True)
class Demo:
    """One request and how its life went. `path` lists the moves after the
    first assignment: (status, who made it, note)."""

    for_whom: str
    category: str
    title: str
    details: str
    days_ago: float
    status: str
    path: tuple[tuple[str, str, str], ...] = ()
    team: int = 1  # intercessors assigned at first; 0: never assigned
    urgent: bool = False
    confidential: bool = False
    requester: str = ""
    email: str = ""
    gap: bool = False  # nobody has prayed for it for over a week
    handover: str = ""  # an intercessor hands it back, with this note to the leader
    requester_note: str = ""
    # Never assigned, yet a leader shared it with the team: on the board.
    shared: bool = False


REQUESTS = (
    # --- health ---
    Demo(
        "Margaret Ellis",
        C.HEALTH,
        "Healing after hip surgery",
        "My mother (82) had her hip replaced and is struggling with the pain and the physiotherapy. Please pray "
        "for strength, for the wound to heal cleanly and for her to be home before her birthday.",
        64,
        S.ANSWERED,
        path=(
            (
                S.BREAKTHROUGH,
                INTERCESSOR,
                "Real peace while praying for Margaret this morning. I believe we have "
                "broken through in the spirit; now we wait to see it.",
            ),
            (S.ANSWERED, REQUESTER, "Mum came home on Friday, walking with one stick. Thank you all so much!"),
        ),
        requester="Helen Ellis",
        email="helen.ellis@example.org",
    ),
    Demo(
        "J. T.",
        C.HEALTH,
        "Waiting for a biopsy result",
        "A scan found a shadow on the lung and the results come next week. The family is frightened. Pray for "
        "peace while they wait and for a clear report.",
        20,
        S.BREAKTHROUGH,
        path=(
            (
                S.BREAKTHROUGH,
                INTERCESSOR,
                "Sensed a release while praying this morning. Breakthrough in the spirit; "
                "we keep standing until the report comes.",
            ),
        ),
        urgent=True,
        confidential=True,
        requester="Tom",
        requester_note="The appointment for the results is on Monday. Thank you for carrying us.",
    ),
    Demo(
        "unspoken",
        C.HEALTH,
        "A health burden I cannot share yet",
        "Please stand in the gap for me. I am not ready to say more.",
        27,
        S.INTERCEDING,
        confidential=True,
        gap=True,
    ),
    Demo(
        "Baby Noah",
        C.HEALTH,
        "Noah, born at 31 weeks",
        "Noah arrived early and is in the neonatal unit, breathing with help. Pray for his lungs to grow strong "
        "and for his parents, who are exhausted.",
        4,
        S.INTERCEDING,
        team=2,
        urgent=True,
        requester="Kofi Asante",
        email="kofi.asante@example.org",
    ),
    # --- family ---
    Demo(
        "the Brennan family",
        C.FAMILY,
        "Peace in a home under strain",
        "Since the father lost his job there are arguments every night and the children are withdrawing. Pray "
        "for peace in the house and for soft hearts.",
        30,
        S.INTERCEDING,
        confidential=True,
    ),
    Demo(
        "my son Caleb (17)",
        C.FAMILY,
        "Caleb has stopped talking to us",
        "He stays in his room, will not eat with us or come to church. Pray for a door to open between us.",
        41,
        S.BREAKTHROUGH,
        path=(
            (S.BREAKTHROUGH, INTERCESSOR, "Breakthrough in the spirit: I saw a door standing open."),
            (S.INTERCEDING, INTERCESSOR, "More is still needed: his mother says he has gone quiet again."),
            (
                S.BREAKTHROUGH,
                INTERCESSOR,
                "He came down for dinner on Sunday and talked for an hour. Awaiting the full manifestation.",
            ),
        ),
        confidential=True,
        requester="Sarah",
        email="sarah.w@example.org",
    ),
    Demo(
        "Rose and her sister",
        C.FAMILY,
        "Reconciliation between two sisters",
        "Rose and her sister have not spoken in eleven years. Rose is 79 and wants to make peace while there is "
        "still time.",
        58,
        S.ANSWERED,
        path=((S.ANSWERED, REQUESTER, "They met for tea last week and cried together. Praise God!"),),
        requester="Daniel Price",
        email="daniel.price@example.org",
    ),
    Demo(
        "A. and P.",
        C.FAMILY,
        "A child for a first foster placement",
        "A. and P. have been approved as foster carers and are waiting for their first placement. Pray for the "
        "right child at the right time.",
        2,
        S.NEW,
        team=0,
        shared=True,
    ),
    # --- salvation ---
    Demo(
        "my brother Daniel",
        C.SALVATION,
        "For Daniel to come home to the Lord",
        "Daniel grew up in church and walked away at university. Lately he is open to talking. Pray that the "
        "seed sown long ago comes alive.",
        67,
        S.INTERCEDING,
        requester="Anna Kowalski",
        email="anna.k@example.org",
    ),
    Demo(
        "the men on my night shift",
        C.SALVATION,
        "The men I work with at the depot",
        "Several of them have started asking me about faith. Pray for wisdom in what I say and for open hearts.",
        35,
        S.ANSWERED,
        path=((S.ANSWERED, LEADER, "Two of them came to the Alpha course on Tuesday and want to come back."),),
        requester="Marcus",
    ),
    Demo(
        "Mr Halvorsen, next door",
        C.SALVATION,
        "Our neighbour in hospice care",
        "He has always said he does not believe, but last week he let me read a psalm to him. Pray for his "
        "comfort and that he meets the Lord.",
        15,
        S.BREAKTHROUGH,
        path=((S.BREAKTHROUGH, INTERCESSOR, "He asked for the psalm again today. Breakthrough in the spirit."),),
        urgent=True,
        requester="Ingrid",
        email="ingrid.b@example.org",
    ),
    Demo(
        "unspoken",
        C.SALVATION,
        "Salvation for someone I love",
        "",
        1,
        S.NEW,
        team=0,
        confidential=True,
    ),
    # --- marriage ---
    Demo(
        "T. and L.",
        C.MARRIAGE,
        "A marriage close to separation",
        "They have agreed to pray together for the first time in years. Pray for humility on both sides and for "
        "a counsellor they can both trust.",
        9,
        S.INTERCEDING,
        team=2,
        urgent=True,
        confidential=True,
    ),
    Demo(
        "unspoken",
        C.MARRIAGE,
        "My marriage",
        "Please pray. I cannot write it here.",
        45,
        S.CLOSED,
        path=((S.CLOSED, REQUESTER, "I would like to withdraw this for now. Thank you."),),
        team=0,
        confidential=True,
    ),
    Demo(
        "Kwame and Abena",
        C.MARRIAGE,
        "Expecting after six years of waiting",
        "After six years of praying for a child, Abena is pregnant. Pray for a safe pregnancy and for peace in "
        "their hearts.",
        50,
        S.BREAKTHROUGH,
        path=(
            (
                S.BREAKTHROUGH,
                INTERCESSOR,
                "The twenty-week scan was good. Received in the spirit; awaiting a safe delivery.",
            ),
        ),
        requester="Abena Owusu",
        email="abena.owusu@example.org",
    ),
    Demo(
        "R. M.",
        C.MARRIAGE,
        "Restoration after betrayal",
        "Trust was broken last year. Both want to rebuild. Pray for forgiveness that is real, and for patience.",
        70,
        S.ANSWERED,
        path=(
            (S.BREAKTHROUGH, INTERCESSOR, "Breakthrough in the spirit: a deep sense that forgiveness has begun."),
            (S.ANSWERED, LEADER, "They renewed their vows privately with the pastor. Manifested."),
        ),
        confidential=True,
    ),
    # --- finances ---
    Demo(
        "the Dube household",
        C.FINANCES,
        "Rent arrears and a letter from the court",
        "They are three months behind with the rent and have a court date. Pray for favour with the landlord "
        "and for their benefits claim to be decided.",
        38,
        S.ANSWERED,
        path=((S.ANSWERED, LEADER, "An anonymous gift cleared the arrears the day before the hearing."),),
        urgent=True,
        requester="Nomsa Dube",
        email="nomsa.dube@example.org",
    ),
    Demo(
        "D. S.",
        C.FINANCES,
        "Debt that keeps growing",
        "Pray for wisdom, for discipline and for a way out of the debt that does not mean losing the house.",
        33,
        S.INTERCEDING,
        confidential=True,
        gap=True,
    ),
    Demo(
        "our food bank",
        C.FINANCES,
        "Shelves empty before winter",
        "Donations have halved since September while more families come each week. Pray for provision and for "
        "volunteers.",
        18,
        S.INTERCEDING,
        requester="Bev at the food bank",
    ),
    Demo(
        "unspoken",
        C.FINANCES,
        "A financial need",
        "",
        31,
        S.CLOSED,
        path=((S.CLOSED, LEADER, "A duplicate of an earlier request from the same person; we carry it there."),),
        team=0,
        confidential=True,
    ),
    # --- work ---
    Demo(
        "Peter Novak",
        C.WORK,
        "Peter's job interview on Thursday",
        "Peter has been out of work for eight months and finally has an interview for a warehouse supervisor post.",
        27,
        S.ANSWERED,
        path=((S.ANSWERED, REQUESTER, "He got the job! He starts on the first of the month."),),
        urgent=True,
        requester="Jana Novak",
        email="jana.novak@example.org",
    ),
    Demo(
        "my daughter Leah",
        C.WORK,
        "A manager who belittles her",
        "Leah's new manager humiliates her in front of the team and she dreads every Monday. Pray for protection "
        "and for wisdom about whether to stay.",
        22,
        S.INTERCEDING,
        confidential=True,
        handover="I am carrying too much this month; please give Leah to someone who can pray daily.",
    ),
    Demo(
        "K. B.",
        C.WORK,
        "Redundancy consultation",
        "The whole department is under consultation; forty people may lose their jobs in March.",
        36,
        S.BREAKTHROUGH,
        path=(
            (
                S.BREAKTHROUGH,
                INTERCESSOR,
                "Standing on Psalm 37. Breakthrough in the spirit; awaiting the outcome in March.",
            ),
        ),
    ),
    Demo(
        "Femi",
        C.WORK,
        "Opening a small bakery",
        "Femi opens his bakery on the high street next month after two years of saving. Pray for customers, "
        "good staff and rest.",
        3,
        S.NEW,
        team=0,
        requester="Femi Adebayo",
        email="femi@example.org",
    ),
    # --- church ---
    Demo(
        "Pastor Andrew and his family",
        C.CHURCH,
        "Rest for our pastor",
        "Pastor Andrew has not had a proper break since Easter. Pray for rest, for protection over his family "
        "and for fresh vision.",
        55,
        S.INTERCEDING,
        team=2,
    ),
    Demo(
        "our youth group",
        C.CHURCH,
        "The youth weekend away",
        "Thirty young people go to the coast on the 14th. Pray for safe travel, for friendships and for real "
        "encounters with God.",
        48,
        S.ANSWERED,
        path=((S.ANSWERED, LEADER, "Everyone home safe; four young people gave their lives to Jesus."),),
    ),
    Demo(
        "the worship team",
        C.CHURCH,
        "Unity in the worship team",
        "There has been tension since the rota changed. Pray for honest conversations and humble hearts.",
        62,
        S.CLOSED,
        path=((S.CLOSED, REQUESTER, "We have talked it through as a team. Please release this; thank you."),),
        requester="Chris (worship leader)",
    ),
    Demo(
        "the church building project",
        C.CHURCH,
        "Planning permission for the community hall",
        "The council decides on the application for the new community hall at its next meeting.",
        6,
        S.NEW,
        team=0,
        shared=True,
    ),
    # --- nation ---
    Demo(
        "our nation",
        C.NATION,
        "For those who govern us",
        "Pray for wisdom, integrity and humility for those in government, and for peace in our streets "
        "(1 Timothy 2:1-2).",
        69,
        S.INTERCEDING,
    ),
    Demo(
        "families in the valley towns",
        C.NATION,
        "After the floods",
        "Hundreds of homes were flooded at the weekend. Pray for displaced families, for the rescue crews and for "
        "the churches opening their halls.",
        8,
        S.INTERCEDING,
        urgent=True,
    ),
    Demo(
        "the persecuted church",
        C.NATION,
        "Believers imprisoned for their faith",
        "Pray for courage, for their families, and for their release.",
        52,
        S.INTERCEDING,
        gap=True,
        handover="I need to step back from this one; it weighs on me at night. Thank you for understanding.",
    ),
    Demo(
        "young people in our town",
        C.NATION,
        "Knife crime among teenagers",
        "Two stabbings near the station this month. Pray for protection over the young people, for the police "
        "and youth workers, and for peace.",
        1,
        S.NEW,
        team=0,
        shared=True,
        urgent=True,
    ),
    # --- other ---
    Demo(
        "unspoken",
        C.OTHER,
        "Guidance for a big decision",
        "I have to decide by the end of the month. Pray for clarity and peace.",
        44,
        S.ANSWERED,
        path=((S.ANSWERED, REQUESTER, "The way became clear and I have peace about it. Thank you."),),
        confidential=True,
    ),
    Demo(
        "E. W.",
        C.OTHER,
        "Freedom from addiction",
        "E. has been sober for forty days. Pray for strength in the evenings, when it is hardest.",
        28,
        S.INTERCEDING,
        path=(
            (S.ANSWERED, INTERCESSOR, "Sixty days sober and back at work. Manifested!"),
            (S.INTERCEDING, LEADER, "Reopened: E. asked us to keep praying; the cravings came back this week."),
        ),
        confidential=True,
    ),
    Demo(
        "Hannah (Year 11)",
        C.OTHER,
        "Exams and anxiety",
        "Hannah panics before exams and has her GCSEs in May. Pray for peace of mind and a clear head.",
        0.2,
        S.NEW,
        team=0,
        requester="Hannah's mum",
    ),
    Demo(
        "L. P.",
        C.OTHER,
        "A decision on her visa",
        "L. has waited fourteen months for a decision on her application to stay and may not work meanwhile.",
        60,
        S.CLOSED,
        path=(
            (
                S.CLOSED,
                LEADER,
                "Released to rest: L. has moved to another city and joined a church there, "
                "who carry this with her now.",
            ),
        ),
        confidential=True,
    ),
)

TEAM_NOTES = (
    "Still standing in the gap. Nothing visible yet, but I have peace about it.",
    "Prayed with two others after the evening service; we sensed we should pray for sleep and rest.",
    "I keep being drawn to Isaiah 43 for this one.",
    "Please keep covering this: the pressure seems to have increased this week.",
    "I will fast on Wednesday for this request; anyone is welcome to join me.",
)
JOURNAL_NOTES = (
    "Lord, teach me to wait without growing weary.",
    "Felt their grief strongly tonight. Give it to Him; do not carry it alone.",
    "I was impatient in prayer today. Start again tomorrow with thanksgiving.",
    "What was shown to me stays between me and the Lord.",
)
LEADER_NOTES = (
    "We are holding this before the Lord every day; you are not alone.",
    "Two of our intercessors are standing with you in prayer this week.",
    "Thank you for letting us carry this with you. Tell us if anything changes.",
)
PRAYER_NOTES = (
    "Prayed Psalm 91 over them.",
    "Stood in the gap during the early morning watch.",
    "A weight lifted while I prayed.",
    "Hard to pray today, but I held on.",
    "Prayed in the car before my shift.",
    "Led to pray for peace rather than for answers.",
    "Thanked God in advance for the answer.",
    "Prayed through Isaiah 43:1-3.",
    "Prayed for this at the Tuesday prayer meeting.",
)
MINUTES = (None, 5, 10, 15, 15, 20, 30, 30, 45, 60, 90)
_STAGE_FIELDS = {S.BREAKTHROUGH: "breakthrough_at", S.ANSWERED: "answered_at", S.CLOSED: "closed_at"}


class Command(BaseCommand):
    help = "Fill an empty database with a demo intercession team and ten weeks of prayer requests."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run even with DEBUG off. The demo accounts share a published password.",
        )
        parser.add_argument(
            "--check-demo",
            action="store_true",
            help="Change nothing; fail unless the database holds the demo or nothing at all. "
            "`make reset-demo` asks this before it deletes the database.",
        )

    def handle(self, *args, force: bool = False, check_demo: bool = False, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "seed_demo creates accounts that share a published password, so it only runs with DEBUG on "
                "(DJANGO_DEBUG=1). Add --force to run it anyway."
            )
        if check_demo:
            self._check_demo()
            return
        if PrayerRequest.objects.exists() or User.objects.filter(username__in=DEMO_USERNAMES).exists():
            self.stdout.write(
                "Demo data is already there (the database has prayer requests or demo accounts); nothing changed."
            )
            self._print_logins()
            return
        with transaction.atomic():
            last_before = OutboxMessage.objects.aggregate(last=Max("pk"))["last"] or 0
            _Seeder(random.Random(SEED), timezone.now()).run()
            # Dropped inside the transaction: the deliveries it asked for
            # after commit find nothing to send.
            e_mails, _by_kind = OutboxMessage.objects.filter(pk__gt=last_before).delete()
        by_status = ", ".join(
            f"{PrayerRequest.objects.filter(status=status).count()} {status.label.lower()}" for status in Status
        )
        self.stdout.write(self.style.SUCCESS("Demo data created."))
        self.stdout.write(f"  {PrayerRequest.objects.count()} prayer requests: {by_status}")
        self.stdout.write(
            f"  {PrayerLog.objects.count()} prayers logged, {StatusUpdate.objects.count()} entries in the stories"
        )
        self.stdout.write(f"  Seeding wrote {e_mails} e-mails; none was sent (the demo's addresses are made up).")
        self._print_logins()

    def _check_demo(self) -> None:
        """Deleting this database would lose nothing but the demo: it has no
        tables yet, or no account and no request, or its leader still has
        the demo's published password. A church running on SQLite at the
        default place keeps its data if someone types `make reset-demo`."""
        tables = connection.introspection.table_names()
        if User._meta.db_table not in tables:
            return
        demo_leader = User.objects.filter(username=next(member.username for member in TEAM if member.leads)).first()
        if demo_leader is not None and demo_leader.check_password(PASSWORD):
            return
        has_requests = PrayerRequest._meta.db_table in tables and PrayerRequest.objects.exists()
        if User.objects.exists() or has_requests:
            raise CommandError(
                "This database is not the demo's: it has accounts or prayer requests, and no demo leader with the "
                "demo's password. Nothing was deleted."
            )

    def _print_logins(self) -> None:
        rows = [(member.username, member.name, member.role) for member in TEAM]
        rows.insert(1, (ADMIN_USERNAME, "Site Admin", "site administrator: no sight of any request"))
        widths = [max(len(row[column]) for row in [("Login", "Name", "Role"), *rows]) for column in range(2)]
        self.stdout.write("")
        for login, name, role in [("Login", "Name", "Role"), *rows]:
            self.stdout.write(f"  {login.ljust(widths[0])}  {name.ljust(widths[1])}  {role}")
        self.stdout.write(f"\nPassword for every account: {PASSWORD}")


class _Seeder:
    def __init__(self, rng: random.Random, now: datetime):
        self.rng = rng
        # The services date what they write with the real time, which is
        # after `now`: whatever is dated after it has not been moved back yet.
        self.now = now
        self.users: dict[str, User] = {}
        self.profiles: dict[str, IntercessorProfile] = {}

    def run(self) -> None:
        self._create_accounts()
        stepped_back = False
        for demo in sorted(REQUESTS, key=lambda demo: -demo.days_ago):
            if not stepped_back and demo.days_ago < STEPPED_BACK_DAYS:
                self._step_back_the_unavailable()
                stepped_back = True
            _Story(self, demo).act_out()

    def _create_accounts(self) -> None:
        # One Argon2 hash for all: the password is the same, and hashing is
        # slow on purpose.
        password = make_password(PASSWORD)
        leaders = Group.objects.get_or_create(name=roles.LEADERS)[0]
        intercessors = Group.objects.get_or_create(name=roles.INTERCESSORS)[0]
        for member in TEAM:
            user = User.objects.create(
                username=member.username,
                first_name=member.first_name,
                last_name=member.last_name,
                email=f"{member.username}@example.org",
                password=password,
            )
            user.groups.add(*([leaders, intercessors] if member.leads else [intercessors]))
            self.users[member.username] = user
            # Everyone starts available; see _step_back_the_unavailable.
            self.profiles[member.username] = IntercessorProfile.objects.create(
                user=user, max_active_assignments=member.capacity, preferred_categories=list(member.preferred)
            )
        User.objects.create(
            username=ADMIN_USERNAME,
            first_name="Site",
            last_name="Admin",
            email="admin@example.org",
            password=password,
            is_staff=True,
            is_superuser=True,
        )

    def _step_back_the_unavailable(self) -> None:
        for member in TEAM:
            if not member.available:
                profile = self.profiles[member.username]
                profile.is_available = False
                profile.save(update_fields=["is_available"])

    @property
    def leader(self) -> User:
        return self.users[next(member.username for member in TEAM if member.leads)]

    def pick(self, category: str, count: int, exclude: list[User]) -> list[User]:
        """Whom the leader would choose: available, with room, drawn to the
        category, least loaded first."""
        candidates = []
        for member in TEAM:
            user, profile = self.users[member.username], self.profiles[member.username]
            load = services.load_of(user)
            if user in exclude or not profile.is_available or load >= profile.max_active_assignments:
                continue
            candidates.append((category not in member.preferred, load, self.rng.random(), user))
        chosen = [user for *_order, user in sorted(candidates, key=lambda candidate: candidate[:3])[:count]]
        if not chosen:
            raise CommandError("The demo team has no room left for another request; give it more capacity.")
        return chosen

    def team_board_members(self, exclude: list[User]) -> list[User]:
        return [self.users[member.username] for member in TEAM if self.users[member.username] not in exclude]


class _Story:
    """One request's life, acted out through the services in time order, each
    step dated as it is written."""

    def __init__(self, seeder: _Seeder, demo: Demo):
        self.seeder, self.demo, self.rng = seeder, demo, seeder.rng
        self.created = seeder.now - timedelta(days=demo.days_ago, minutes=self.rng.randint(5, 240))
        self.last_event = self.created
        self.people: list[User] = []
        self.request: PrayerRequest | None = None

    def act_out(self) -> None:
        demo, rng = self.demo, self.rng
        self.request, _token = services.submit_request(
            for_whom=demo.for_whom,
            title=demo.title,
            category=demo.category,
            details=demo.details,
            is_urgent=demo.urgent,
            is_confidential=demo.confidential,
            requester_name=demo.requester,
            requester_email=demo.email,
            wants_updates=bool(demo.email),
        )
        self._dated(self.created)
        life = self.seeder.now - self.created
        step_times = sorted(self.created + life * rng.uniform(0.35, 0.95) for _step in demo.path)

        if demo.shared:
            shared_at = self.created + timedelta(hours=rng.uniform(0.5, 4) if demo.urgent else rng.uniform(3, 20))
            self._share(min(shared_at, self.created + life * 0.5))
        if demo.team:
            delay = timedelta(hours=rng.uniform(0.5, 4) if demo.urgent else rng.uniform(3, 40))
            assigned_at = min(self.created + delay, self.created + life * 0.2)
            # Whoever hands a request back writes to the leader, so is not the leader.
            self._assign(assigned_at, demo.team, exclude=[self.seeder.leader] if demo.handover else [])
            first_stop = step_times[0] if step_times else self.seeder.now
            if demo.requester_note:
                note_at = assigned_at + (first_stop - assigned_at) * 0.1
                self._note(Requester(self.request.pk), demo.requester_note, Visibility.REQUESTER, note_at)
            if rng.random() < 0.5:
                note_at = assigned_at + (first_stop - assigned_at) * 0.3
                self._note(self.seeder.leader, rng.choice(LEADER_NOTES), Visibility.REQUESTER, note_at)
            since = assigned_at
            if demo.handover:
                since = self._hand_over(since, since + (first_stop - since) * 0.4, first_stop)
        else:
            since = self.created

        for when, (to_status, by, note) in zip(step_times, demo.path, strict=True):
            if self.request.is_open:
                self._pray(since, when)
            self._move(to_status, by, note, when)
            since = when
        if self.request.is_open and self.people:
            gap = timedelta(days=rng.uniform(*GAP_DAYS) if demo.gap else rng.uniform(0.05, 1.0))
            self._pray(since, self.seeder.now - gap)
        if self.request.status != demo.status:
            raise CommandError(f"The demo story of {demo.title!r} ends {self.request.status}, not {demo.status}.")
        PrayerRequest.objects.filter(pk=self.request.pk).update(created_at=self.created, updated_at=self.last_event)

    def _dated(self, when: datetime) -> None:
        """Move the story entries just written back to `when`, and the
        request's entry into intercession with them if that was one."""
        StatusUpdate.objects.filter(prayer_request=self.request, created_at__gte=self.seeder.now).update(
            created_at=when
        )
        PrayerRequest.objects.filter(pk=self.request.pk, entered_intercession_at__gte=self.seeder.now).update(
            entered_intercession_at=when
        )
        self.last_event = max(self.last_event, when)

    def _share(self, when: datetime) -> None:
        """A leader shares the request with the team before anyone is assigned."""
        services.share_with_team(self.request, by=self.seeder.leader)
        PrayerRequest.objects.filter(pk=self.request.pk).update(shared_with_team_at=when)
        self._dated(when)

    def _assign(self, when: datetime, count: int, exclude: list[User]) -> None:
        chosen = self.seeder.pick(self.demo.category, count, exclude=[*self.people, *exclude])
        assignments = services.assign(self.request, chosen, by=self.seeder.leader)
        Assignment.objects.filter(pk__in=[assignment.pk for assignment in assignments]).update(assigned_at=when)
        self.people += chosen
        self._dated(when)

    def _hand_over(self, since: datetime, when: datetime, stop: datetime) -> datetime:
        """The first intercessor hands the request back; the leader gives it
        to someone else a few hours later."""
        leaving = self.people[0]
        self._pray(since, when)
        assignment = Assignment.objects.active().get(prayer_request=self.request, intercessor=leaving)
        services.release(assignment, by=leaving, note=self.demo.handover)
        Assignment.objects.filter(pk=assignment.pk).update(released_at=when)
        self.people.remove(leaving)
        self._dated(when)
        reassigned_at = min(when + timedelta(hours=self.rng.uniform(2, 20)), when + (stop - when) / 2)
        self._assign(reassigned_at, 1, exclude=[leaving])
        return reassigned_at

    def _move(self, to_status: str, by: str, note: str, when: datetime) -> None:
        actor = {
            INTERCESSOR: lambda: self.rng.choice(self.people),
            LEADER: lambda: self.seeder.leader,
            REQUESTER: lambda: Requester(self.request.pk),
        }[by]()
        visibility = Visibility.TEAM if by == INTERCESSOR and to_status != S.ANSWERED else Visibility.REQUESTER
        services.move(self.request, to_status, actor=actor, note=note, visibility=visibility)
        if to_status in _STAGE_FIELDS:
            PrayerRequest.objects.filter(pk=self.request.pk).update(**{_STAGE_FIELDS[to_status]: when})
        self._dated(when)

    def _note(self, actor, note: str, visibility: str, when: datetime) -> None:
        services.post_update(self.request, actor=actor, note=note, visibility=visibility)
        self._dated(when)

    def _pray(self, since: datetime, until: datetime) -> None:
        """The assigned intercessors pray every few days, from `since` to
        `until`; others on the team join now and then from the team board;
        a team note and a journal entry here and there."""
        rng = self.rng
        if until <= since:
            return
        for person in self.people:
            when = since + timedelta(days=rng.uniform(0.1, 1.5))
            while when < until:
                self._log(person, when)
                when += timedelta(days=rng.uniform(1.5, 5))
        if not self.request.is_confidential:
            for person in rng.sample(self.seeder.team_board_members(self.people), k=rng.randint(0, 1)):
                self._log(person, since + (until - since) * rng.uniform(0.1, 1.0))
        if self.people and until - since > timedelta(days=3):
            if rng.random() < 0.5:
                note = rng.choice(TEAM_NOTES)
                self._note(rng.choice(self.people), note, Visibility.TEAM, self._between(since, until))
            if rng.random() < 0.35:
                journal = rng.choice(JOURNAL_NOTES)
                self._note(rng.choice(self.people), journal, Visibility.PRIVATE, self._between(since, until))

    def _between(self, since: datetime, until: datetime) -> datetime:
        return since + (until - since) * self.rng.uniform(0.2, 0.9)

    def _log(self, person: User, when: datetime) -> None:
        rng = self.rng
        services.log_prayer(
            self.request,
            intercessor=person,
            minutes=rng.choice(MINUTES),
            fasted=rng.random() < 0.12,
            note=rng.choice(PRAYER_NOTES) if rng.random() < 0.3 else "",
            prayed_at=when,
        )
        self.last_event = max(self.last_event, when)
