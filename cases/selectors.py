"""Reads for the case pages: which cases and placements a user sees, and the case with its
records loaded in a fixed number of queries (the page must not grow with the case's history)."""

from __future__ import annotations

from django.db.models import (
    Exists,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    prefetch_related_objects,
)
from django.http import Http404

from .models import (
    PLACEMENT_ROLE_FIELDS,
    Case,
    CaseCategory,
    CaseEvent,
    Category,
    Placement,
    Role,
    User,
)


def cases_for_user(user: User, *, include_closed: bool = False) -> QuerySet[Case]:
    """The cases on "my cases": exactly the ones the user is related to (the office: all)."""
    qs = Case.objects.related_to(user)
    if not include_closed:
        qs = qs.open()
    return qs.select_related(
        "placement__student", "placement__school", "signalled_by"
    ).prefetch_related("categories")


def case_for_user(user: User, pk: int, *, detail: bool = False) -> Case:
    """The case if the user is related to it; 404 otherwise (no hint that it exists).

    With `detail`, the case page's records too, in a fixed number of queries: the case's query
    also tells which kinds of record the case has (and its categories), so that only those are
    fetched; see `load_case_records`.
    """
    qs = Case.objects.related_to(user).select_related(
        "placement__student",
        "placement__school__board",
        "placement__mentor",
        "placement__school_trainer",
        "placement__study_coach",
        "placement__coordinating_trainer",
        "signalled_by",
    )
    if detail:
        qs = qs.annotate(**_detail_annotations())
    try:
        case = qs.get(pk=pk)
    except Case.DoesNotExist as exc:
        raise Http404("No such case.") from exc
    if detail:
        load_case_records(case)
    return case


# The to-many records of the case page that the case's own query checks for (Exists) before
# they are fetched: most cases never reach the change path, and a case that does either
# transfers or stops.
RECORD_KINDS = (
    "conversations",
    "actions",
    "change_requests",
    "outcome_reports",
    "isop_requests",
    "wrap_ups",
    "transfers",
    "stops",
)
_HAS = "_has_{}"
_CATEGORY = "_category_{}"
_BARE_CONVERSATIONS = "_has_bare_conversations"
_BARE_REPORTS = "_has_bare_reports"


def _detail_annotations() -> dict:
    annotations = {}
    for name in RECORD_KINDS:
        related = Case._meta.get_field(name).related_model
        annotations[_HAS.format(name)] = Exists(related.objects.filter(case=OuterRef("pk")))
    from conversations.models import Conversation
    from transfers.models import OutcomeReport

    # Conversations without invitations and reports without positions are rare: when there
    # are none, each comes with its children in one query (see load_case_records).
    annotations[_BARE_CONVERSATIONS] = Exists(
        Conversation.objects.filter(case=OuterRef("pk"), invitations__isnull=True)
    )
    annotations[_BARE_REPORTS] = Exists(
        OutcomeReport.objects.filter(case=OuterRef("pk"), positions__isnull=True)
    )
    # One column per category: the pk of the case's row for it (or NULL), so the categories
    # come with the case, in the order of their rows.
    for value in Category.values:
        annotations[_CATEGORY.format(value)] = Subquery(
            CaseCategory.objects.filter(case=OuterRef("pk"), category=value).values("pk")[:1]
        )
    return annotations


def _set_prefetched(case: Case, name: str, objects: list) -> None:
    manager = getattr(case, name)
    qs = manager.get_queryset() if objects else manager.none()
    qs._result_cache = list(objects)
    qs._prefetch_done = True
    case._prefetched_objects_cache[name] = qs


def load_case_records(case: Case) -> None:
    """Fill the case's related managers for the case page (one query per kind it has)."""
    from django.core.exceptions import ObjectDoesNotExist

    case._prefetched_objects_cache = getattr(case, "_prefetched_objects_cache", {})
    categories = sorted(
        (pk, value)
        for value in Category.values
        if (pk := getattr(case, _CATEGORY.format(value))) is not None
    )
    _set_prefetched(
        case,
        "categories",
        [CaseCategory(pk=pk, case_id=case.pk, category=value) for pk, value in categories],
    )
    lookups = []
    for lookup in case_detail_prefetches():
        name = lookup if isinstance(lookup, str) else lookup.prefetch_through
        if name in RECORD_KINDS and not getattr(case, _HAS.format(name)):
            _set_prefetched(case, name, [])
        elif name == "conversations" and not getattr(case, _BARE_CONVERSATIONS):
            _load_through_children(case, "conversations", _invitations_with_conversations(case))
        elif name == "outcome_reports" and not getattr(case, _BARE_REPORTS):
            _load_through_children(case, "outcome_reports", _positions_with_reports(case))
        elif name == "change_requests":
            lookups.append(Prefetch("change_requests", queryset=_change_requests(told=False)))
        else:
            lookups.append(lookup)
    prefetch_related_objects([case], *lookups)
    if getattr(case, _HAS.format("change_requests")):
        _load_told(case)
    # The handovers come with their transfer (one to one), and the open one from them.
    handovers = []
    for transfer in case.transfers.all():
        try:
            handover = transfer.handover
        except ObjectDoesNotExist:
            continue
        if handover.case_id == case.pk:
            handover.case = case
            handovers.append(handover)
    handovers.sort(key=lambda h: h.pk)
    _set_prefetched(case, "handovers", handovers)
    case.__dict__["open_handover"] = next(
        (h for h in reversed(handovers) if h.confirmed_at is None), None
    )


def _load_through_children(case: Case, name: str, children) -> None:
    """Fill `case.<name>` and each parent's children from ONE query on the children, each
    joined to its parent (every parent has at least one child: the caller checked)."""
    parents: dict[int, object] = {}
    kids: dict[int, list] = {}
    child_name = ""
    for child in children:
        parent = getattr(child, children.parent_field)
        parent = parents.setdefault(parent.pk, parent)
        setattr(child, children.parent_field, parent)
        kids.setdefault(parent.pk, []).append(child)
        child_name = children.child_name
    for pk, parent in parents.items():
        parent.case = case  # as a prefetch through case.<name> would have set it
        parent._prefetched_objects_cache = {}
        _set_prefetched(parent, child_name, kids[pk])
    _set_prefetched(case, name, list(parents.values()))


class _Children:
    """A children query, with the field that leads to the parent and the parent's name for the
    children (so `_load_through_children` knows where to put them)."""

    def __init__(self, qs, parent_field: str, child_name: str) -> None:
        self.qs, self.parent_field, self.child_name = qs, parent_field, child_name

    def __iter__(self):
        return iter(self.qs)


def _invitations_with_conversations(case: Case) -> _Children:
    from conversations.models import Invitation

    qs = (
        Invitation.objects.filter(conversation__case=case)
        .select_related(
            "person",
            "briefed_by",
            "conversation__planned_by",
            "conversation__recorded_by",
            "conversation__student_note",
        )
        .order_by("conversation__starts_at", "conversation__pk", "pk")
    )
    return _Children(qs, "conversation", "invitations")


def _positions_with_reports(case: Case) -> _Children:
    from transfers.models import OutcomeReport, Position

    order = [f"report__{f}" for f in OutcomeReport._meta.ordering]
    qs = (
        Position.objects.filter(report__case=case)
        .select_related("person", "report__reported_by")
        .order_by(*order, "report__pk", *(Position._meta.ordering or ["pk"]))
    )
    return _Children(qs, "report", "positions")


def _load_told(case: Case) -> None:
    """Who each change request was made known to, and their notification, in ONE query: the
    same rows as transfers.selectors.told_of_requests, kept where the told_of tag reads them
    (and the requests' made_known_to filled from them)."""
    import datetime as dt

    from django.db.models import DateTimeField, Value
    from django.db.models.functions import Coalesce

    from notifications.models import Notification
    from transfers.models import ChangeRequest
    from transfers.selectors import Told

    requests = list(case.change_requests.all())
    through = ChangeRequest.made_known_to.through
    later = ChangeRequest.objects.filter(case_id=OuterRef("changerequest__case_id")).filter(
        Q(created_at__gt=OuterRef("changerequest__created_at"))
        | Q(created_at=OuterRef("changerequest__created_at"), pk__gt=OuterRef("changerequest_id"))
    )
    far = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)
    told = Notification.objects.filter(
        case_id=OuterRef("changerequest__case_id"),
        event="request_change",
        recipient_id=OuterRef("user_id"),
        created_at__gte=OuterRef("changerequest__created_at"),
        created_at__lt=OuterRef("m_until"),
    ).order_by("created_at", "pk")
    user_order = [f"user__{f}" for f in User._meta.ordering]
    rows = (
        through.objects.filter(changerequest__case=case)
        .select_related("user")
        .annotate(
            m_until=Coalesce(
                Subquery(later.order_by("created_at", "pk").values("created_at")[:1]),
                Value(far, output_field=DateTimeField()),
            ),
        )
        .annotate(
            m_at=Subquery(told.values("created_at")[:1]),
            m_sent_at=Subquery(told.values("sent_at")[:1]),
            m_read_at=Subquery(told.values("read_at")[:1]),
        )
        .order_by("changerequest_id", *user_order, "user__pk")
    )
    by_request: dict[int, list] = {r.pk: [] for r in requests}
    people: dict[int, list] = {r.pk: [] for r in requests}
    for row in rows:
        people[row.changerequest_id].append(row.user)
        by_request[row.changerequest_id].append(
            Told(person=row.user, at=row.m_at, sent_at=row.m_sent_at, read_at=row.m_read_at)
        )
    for request in requests:
        request._prefetched_objects_cache = getattr(request, "_prefetched_objects_cache", {})
        _set_prefetched(request, "made_known_to", people[request.pk])
    case._told_of_requests = by_request


def case_detail_prefetches() -> list:
    # Imported here: cases never imports the other apps at module level (see style.md).
    from conversations.models import Conversation, ImprovementAction, Invitation
    from transfers.models import OutcomeReport, Position, Transfer

    return [
        Prefetch(
            "conversations",
            queryset=Conversation.objects.select_related(
                "planned_by", "recorded_by", "student_note"
            )
            .prefetch_related(
                Prefetch(
                    "invitations",
                    queryset=Invitation.objects.select_related("person", "briefed_by").order_by(
                        "pk"
                    ),
                )
            )
            .order_by("starts_at", "pk"),
        ),
        Prefetch(
            "actions",
            queryset=ImprovementAction.objects.select_related("owner").order_by("due_date", "pk"),
        ),
        Prefetch("change_requests", queryset=_change_requests()),
        Prefetch(
            "outcome_reports",
            queryset=OutcomeReport.objects.select_related("reported_by").prefetch_related(
                Prefetch("positions", queryset=Position.objects.select_related("person"))
            ),
        ),
        Prefetch("isop_requests", queryset=_isop_requests()),
        Prefetch("wrap_ups", queryset=_wrap_ups()),
        Prefetch(
            "transfers",
            queryset=Transfer.objects.select_related(
                "from_placement__school",
                "to_placement__school",
                "to_placement__mentor",
                "to_placement__school_trainer",
                "to_placement__study_coach",
                "recorded_by",
                "handover__old_coach",
                "handover__new_coach",
            ),
        ),
        "stops",
        Prefetch(
            "events",
            queryset=CaseEvent.objects.select_related("actor", "on_behalf_of").order_by("at", "pk"),
        ),
    ]


def _change_requests(*, told: bool = True):
    from transfers.models import ChangeRequest

    qs = ChangeRequest.objects.select_related("requested_by", "office_informed_by")
    return qs.prefetch_related("made_known_to") if told else qs


def _isop_requests():
    from transfers.models import IsopAdvice

    return IsopAdvice.objects.select_related("given_by")


def _wrap_ups():
    from transfers.models import WrapUp

    return WrapUp.objects.select_related("recorded_by")


def placements_for_signal(user: User) -> QuerySet[Placement]:
    """Placements on which the user may signal a problem.

    The student: their active placements; mentors, trainers and coaches: active placements on
    which they hold a role; the office: every active placement.
    """
    qs = Placement.objects.filter(status=Placement.Status.ACTIVE).select_related(
        "student", "school"
    )
    if user.is_office:
        return qs.order_by("student__last_name", "student__first_name", "-start_date")
    q = Q()
    for field in PLACEMENT_ROLE_FIELDS.values():
        q |= Q(**{field: user})
    return qs.filter(q).order_by("student__last_name", "student__first_name", "-start_date")


def placement_people(placement: Placement) -> list[tuple[str, User]]:
    """(role label, person) for everyone on the placement, in the order of process.md."""
    rows = []
    for role, field in PLACEMENT_ROLE_FIELDS.items():
        person = getattr(placement, field)
        if person is not None:
            rows.append((Role(role).label, person))
    return rows


def active_users() -> QuerySet[User]:
    return User.objects.filter(is_active=True).order_by("last_name", "first_name", "username")
