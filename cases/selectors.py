"""Reads for the case pages: which cases and placements a user sees. (The case page's records
of the other apps are loaded by `portal.selectors`.)"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from .models import PLACEMENT_ROLE_FIELDS, Case, Placement, Role, User


def cases_for_user(user: User, *, include_closed: bool = False) -> QuerySet[Case]:
    """The cases on "my cases": exactly the ones the user is related to (the office: all)."""
    qs = Case.objects.related_to(user)
    if not include_closed:
        qs = qs.open()
    return qs.select_related(
        "placement__student", "placement__school", "signalled_by"
    ).prefetch_related("categories")


# What comes with a case in its own query: its placements and schools. The people on them
# come in one more query (attach_people): seven joins of the user table, each with its
# indexes, made planning the case page's largest cost, up to 30 ms for a student whose
# visibility is a subquery of ORs (#17).
CASE_RELATED = ("placement__school__board", "new_placement__school")
PLACEMENT_PEOPLE = tuple(PLACEMENT_ROLE_FIELDS.values())


def attach_people(cases: list[Case]) -> None:
    """Read the people on these cases' placements (and who signalled) in ONE query, and set
    them on the objects as select_related would."""
    slots: list[tuple[object, str]] = []
    for case in cases:
        slots.append((case, "signalled_by"))
        slots += [(case.placement, field) for field in PLACEMENT_PEOPLE]
        if case.new_placement_id is not None:
            slots += [(case.new_placement, field) for field in PLACEMENT_PEOPLE]
    ids = {pk for obj, field in slots if (pk := getattr(obj, f"{field}_id")) is not None}
    people = User.objects.in_bulk(ids) if ids else {}
    for obj, field in slots:
        pk = getattr(obj, f"{field}_id")
        if pk in people:
            setattr(obj, field, people[pk])


def case_for_user(user: User, pk: int, **annotations) -> Case:
    """The case if the user is related to it, with its placements, schools and people (and the
    annotations asked for); 404 otherwise (no hint that it exists). Two queries."""
    qs = Case.objects.filter(pk=pk)
    if not (user.is_authenticated and user.is_office):
        # Who sees it as a subquery on this one case: planned in a millisecond, where the
        # same ORs joined to the people took tens.
        qs = qs.filter(pk__in=Case.objects.related_to(user).values("pk"))
    try:
        case = qs.select_related(*CASE_RELATED).annotate(**annotations).get()
    except Case.DoesNotExist as exc:
        raise Http404("No such case.") from exc
    attach_people([case])
    return case


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


def people_for_role(
    *, placement: Placement, role: str, search: str = "", limit: int = 200
) -> QuerySet[User]:
    """Who may be picked for `role` on this placement: the people who hold that role on
    placements at a school of the same board (the usual pool), or, with a search, any active
    person whose name or e-mail matches. Never the student of the placement."""
    field = PLACEMENT_ROLE_FIELDS[role]
    board_placements = Placement.objects.filter(school__board_id=placement.school.board_id)
    pool = Q(pk__in=board_placements.values(f"{field}_id"))
    words = search.split()[:4]
    if words:
        match = Q()
        for word in words:
            match &= (
                Q(first_name__icontains=word)
                | Q(last_name__icontains=word)
                | Q(email__icontains=word)
            )
        pool = match
    ids = (
        User.objects.filter(pool, is_active=True)
        .exclude(pk=placement.student_id)
        .order_by("last_name", "first_name", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    return User.objects.filter(pk__in=list(ids)).order_by("last_name", "first_name", "pk")


def person_label(user: User) -> str:
    """A person in a picker: the name, and the e-mail address to tell namesakes apart."""
    name = user.get_full_name() or user.email or _("(no name)")
    return f"{name} <{user.email}>" if user.email and name != user.email else str(name)


def name_matches(user: User, search: str) -> bool:
    """Every word of the search is in the person's first name, last name or e-mail address."""
    words = [w.casefold() for w in search.split()[:4]]
    haystack = f"{user.first_name} {user.last_name} {user.email}".casefold()
    return bool(words) and all(w in haystack for w in words)


def picker_choices(roles: list[str], *, board=None, search: str = "") -> dict[str, list]:
    """Grouped <select> choices per role (two queries for all roles together): first the
    people who hold the role on placements at the board's schools, then those who hold it
    elsewhere, then (only with a search by name or e-mail) the other people who match, never
    a list of everyone. Students of placements are left out; nobody is shown by username."""
    board_id = getattr(board, "pk", board)
    fields = [PLACEMENT_ROLE_FIELDS[role] for role in roles]
    rows = (
        Placement.objects.order_by()
        .values_list("school__board_id", "student_id", *(f"{f}_id" for f in fields))
        .distinct()
    )
    students: set[int] = set()
    here: dict[str, set[int]] = {role: set() for role in roles}
    there: dict[str, set[int]] = {role: set() for role in roles}
    for board_of_row, student_id, *people in rows:
        students.add(student_id)
        for role, person_id in zip(roles, people, strict=True):
            if person_id:
                (here if board_of_row == board_id else there)[role].add(person_id)
    users = [u for u in active_users() if u.pk not in students]
    choices = {}
    for role in roles:
        label = Role(role).label
        at_board = [(u.pk, person_label(u)) for u in users if u.pk in here[role]]
        elsewhere = [
            (u.pk, person_label(u)) for u in users if u.pk in there[role] and u.pk not in here[role]
        ]
        others = [
            (u.pk, person_label(u))
            for u in users
            if u.pk not in here[role] and u.pk not in there[role] and name_matches(u, search)
        ]
        groups: list = [("", "---------")]
        if at_board:
            groups.append((_("%(role)s at %(board)s") % {"role": label, "board": board}, at_board))
        if elsewhere:
            groups.append((_("%(role)s at other boards") % {"role": label}, elsewhere))
        if others:
            groups.append((_("Other people found by name"), others))
        choices[role] = groups
    return choices


def placements_without_mentor(user: User):
    """Active placements whose mentor is still to be assigned and whose school trainer is
    this user (who fills it in; the office may too, from the same page)."""
    return (
        Placement.objects.filter(
            mentor__isnull=True, status=Placement.Status.ACTIVE, school_trainer=user
        )
        .select_related("student", "school")
        .order_by("start_date", "pk")
    )
