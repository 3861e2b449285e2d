"""The case state machine as a table: its graph, what each transition declares (labels, who
is told, its page), who may take each transition, and the states in which each is refused.

A change to the machine must be a deliberate diff here. Taking the transitions (guards, the
timeline, refusals in words) is tested in tests/cases/test_transitions.py.
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.functional import Promise

from cases import models as m
from cases.models import (
    CLOSED_STATES,
    OPEN_STATES,
    RECORD_LABELS,
    Case,
    CaseEvent,
    GuardFailed,
    NotPermitted,
    Role,
    State,
)
from cases.services import ROLE_LABELS, check_transition
from tests.cases.factories import CaseFactory
from tests.journeys import (
    ANY_ALLOWED,
    DEFAULT_TARGET,
    TRANSITIONS,
    act,
    arrange,
    case_in,
    transition_events,
)


@pytest.fixture(autouse=True)
def _english_messages():
    """These tests read refusal messages as English msgids (the Dutch catalogue is tested in
    tests/test_translations.py); lazy messages are rendered after the override ends, too."""
    with translation.override("en"):
        yield


pytestmark = pytest.mark.django_db

S = State

# --------------------------------------------------------------------------------------------
# The whole graph, written out: a change to the machine must be a deliberate diff here.
# --------------------------------------------------------------------------------------------

EXPECTED_GRAPH: set[tuple[str, str, frozenset[str]]] = (
    {
        (S.SIGNALLED, "plan_conversation", frozenset({S.CONVERSATION_PLANNED})),
        (S.CONVERSATION_PLANNED, "record_conversation", frozenset({S.IMPROVING})),
        (S.IMPROVING, "resolve", frozenset({S.CLOSED_RESOLVED})),
        (S.IMPROVING, "request_change", frozenset({S.CHANGE_REQUESTED})),
        (S.CHANGE_REQUESTED, "inform_office", frozenset({S.OFFICE_INFORMED})),
        (S.OFFICE_INFORMED, "plan_change_conversation", frozenset({S.CHANGE_CONVERSATION_PLANNED})),
        (
            S.CHANGE_CONVERSATION_INCOMPLETE,
            "plan_change_conversation",
            frozenset({S.CHANGE_CONVERSATION_PLANNED}),
        ),
        (
            S.CHANGE_CONVERSATION_PLANNED,
            "record_change_conversation",
            frozenset({S.OUTCOME_PENDING, S.CHANGE_CONVERSATION_INCOMPLETE}),
        ),
        (
            S.CHANGE_CONVERSATION_INCOMPLETE,
            "accept_change_conversation",
            frozenset({S.OUTCOME_PENDING}),
        ),
        (
            S.OUTCOME_PENDING,
            "report_outcome",
            frozenset({S.TRANSFER_REQUESTED, S.IMPROVING, S.ISOP_ADVICE}),
        ),
        (S.ISOP_ADVICE, "give_advice", frozenset({S.DECISION_PENDING})),
        (S.DECISION_PENDING, "decide", frozenset({S.TRANSFER_REQUESTED, S.IMPROVING})),
        (S.TRANSFER_REQUESTED, "place_student", frozenset({S.HANDOVER, S.CLOSED_TRANSFERRED})),
        (S.TRANSFER_REQUESTED, "stop_internship", frozenset({S.STOPPED, S.CLOSED_STOPPED})),
        (S.HANDOVER, "confirm_handover", frozenset({S.CLOSED_TRANSFERRED, S.CLOSED_RESUMED})),
        (S.STOPPED, "resume", frozenset({S.CLOSED_RESUMED, S.HANDOVER})),
        (S.STOPPED, "make_definitive", frozenset({S.CLOSED_STOPPED})),
    }
    | {(state, "withdraw", frozenset({S.CLOSED_WITHDRAWN})) for state in OPEN_STATES}
    | {
        (state, "abandon_change", frozenset({S.IMPROVING}))
        for state in (
            S.CHANGE_REQUESTED,
            S.OFFICE_INFORMED,
            S.CHANGE_CONVERSATION_PLANNED,
            S.CHANGE_CONVERSATION_INCOMPLETE,
            S.TRANSFER_REQUESTED,
        )
    }
    | {
        (state, "stop_now", frozenset({S.STOPPED, S.CLOSED_STOPPED}))
        for state in OPEN_STATES
        if state not in (S.STOPPED, S.HANDOVER)
    }
    | {(state, "reopen", frozenset({S.IMPROVING})) for state in CLOSED_STATES}
)

# Who may take each transition, among the roles a person can have on a case (the case of
# `arrange`, signalled by the school trainer; tests below cover the signaller and requester).
ALLOWED: dict[str, set[str]] = {
    "plan_conversation": {"school_trainer", "study_coach", "mentor", "office"},
    "record_conversation": {"school_trainer", "study_coach", "mentor", "office"},
    "resolve": {"school_trainer", "study_coach", "office"},
    "request_change": {"student", "school_trainer", "study_coach", "office"},
    "abandon_change": {"school_trainer", "office"},
    "inform_office": {"school_trainer", "office"},
    "plan_change_conversation": {"school_trainer", "study_coach", "office"},
    "record_change_conversation": {"school_trainer", "study_coach", "office"},
    "accept_change_conversation": {"office"},
    "report_outcome": {"school_trainer", "office"},
    "give_advice": {"isop_owner", "office"},
    "decide": {"office"},
    "place_student": {"office"},
    "stop_internship": {"office"},
    "stop_now": {"student", "office"},
    "make_definitive": {"office"},
    "confirm_handover": {"old_study_coach", "office"},
    "resume": {"office"},
    "withdraw": {"school_trainer", "office"},
    "reopen": {"office"},
}

ROLES = (
    "student",
    "mentor",
    "school_trainer",
    "coordinating_trainer",
    "study_coach",
    "office",
    "isop_owner",
    "unrelated",
)


def machine_graph() -> set[tuple[str, str, frozenset[str]]]:
    graph = set()
    for t in Case._meta.get_field("state").get_all_transitions(Case):
        target = t.target
        targets = frozenset(getattr(target, "allowed_states", None) or [target])
        graph.add((t.source, t.name, frozenset(str(s) for s in targets)))
    return graph


def sources(name: str) -> set[str]:
    return {src for src, n, _t in EXPECTED_GRAPH if n == name}


# --------------------------------------------------------------------------------------------
# The graph
# --------------------------------------------------------------------------------------------


class TestGraph:
    def test_it_matches_the_expected_table(self):
        assert machine_graph() == EXPECTED_GRAPH

    def test_every_transition_has_a_permission_table_entry(self):
        names = set(m.transition_names())
        assert names == set(ALLOWED) == set(DEFAULT_TARGET) == set(ANY_ALLOWED)
        assert all(ANY_ALLOWED[name] in ALLOWED[name] for name in names)

    def test_every_state_is_reachable_from_signalled(self):
        edges: dict[str, set[str]] = {}
        for source, _name, targets in machine_graph():
            edges.setdefault(source, set()).update(targets)
        seen, todo = {S.SIGNALLED}, [S.SIGNALLED]
        while todo:
            for nxt in edges.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        assert seen == set(State.values)

    @pytest.mark.parametrize("state", OPEN_STATES)
    def test_every_open_state_can_be_withdrawn(self, state):
        assert (state, "withdraw", frozenset({S.CLOSED_WITHDRAWN})) in machine_graph()

    @pytest.mark.parametrize("state", CLOSED_STATES)
    def test_a_closed_state_only_reopens(self, state):
        assert [t for t in machine_graph() if t[0] == state] == [
            (state, "reopen", frozenset({S.IMPROVING}))
        ]

    def test_every_closed_state_is_a_target(self):
        targets = set().union(*(t for _s, _n, t in machine_graph()))
        assert set(CLOSED_STATES) <= targets

    def test_the_state_field_is_protected(self):
        case = CaseFactory()
        with pytest.raises(AttributeError):
            case.state = S.CLOSED_RESOLVED


# --------------------------------------------------------------------------------------------
# What each transition declares: its button ("label"), its timeline entry ("done"), who is
# told ("tell") and its page ("url"), once, with the transition.
# --------------------------------------------------------------------------------------------


def in_language(text, language: str) -> str:
    with translation.override(language):
        return str(text)


class TestDeclarations:
    @pytest.mark.parametrize("name", TRANSITIONS)
    def test_every_transition_declares_its_step_once(self, name):
        declared = m.step_declaration(name)
        assert {"label", "done", "tell", "url"} <= set(declared)
        # One declaration, whichever source state the transition is taken from.
        for t in m.transition_meta(name).transitions.values():
            assert t.custom == declared
        # The timeline's label of the step is the one declared with it.
        for language in ("en", "nl"):
            assert in_language(m.event_label(name), language) == in_language(
                declared["done"], language
            )

    @pytest.mark.parametrize("name", TRANSITIONS)
    @pytest.mark.parametrize("key", ["label", "done"])
    def test_its_words_are_translated_and_its_own(self, name, key):
        text = m.step_declaration(name)[key]
        assert isinstance(text, Promise), "marked for translation, rendered per language"
        english, dutch = in_language(text, "en"), in_language(text, "nl")
        assert english.strip() and english != name
        assert dutch.strip() and dutch != english, f"no Dutch translation of {english!r}"

    @pytest.mark.parametrize("language", ["en", "nl"])
    @pytest.mark.parametrize("key", ["label", "done"])
    def test_no_two_steps_share_words(self, key, language):
        words = [in_language(m.step_declaration(name)[key], language) for name in TRANSITIONS]
        assert len(set(words)) == len(words), sorted(words)

    @pytest.mark.parametrize("language", ["en", "nl"])
    def test_the_timeline_tells_every_event_apart(self, language):
        done = {in_language(m.step_declaration(name)["done"], language) for name in TRANSITIONS}
        records = {in_language(label, language) for label in RECORD_LABELS.values()}
        assert len(records) == len(RECORD_LABELS)
        assert not done & records

    @pytest.mark.parametrize("name", TRANSITIONS)
    def test_the_button_is_not_the_timeline_entry(self, name):
        declared = m.step_declaration(name)
        assert in_language(declared["label"], "en") != in_language(declared["done"], "en")

    @pytest.mark.parametrize("name", TRANSITIONS)
    def test_who_is_told_is_a_set_of_roles(self, name):
        tell = m.step_declaration(name)["tell"]
        assert tell, "every step tells someone"
        assert set(tell) <= set(Role.values)
        assert len(set(tell)) == len(tell)

    @pytest.mark.parametrize("name", TRANSITIONS)
    def test_its_page_exists(self, name):
        assert reverse(m.step_declaration(name)["url"], args=[1]).endswith("/")


# --------------------------------------------------------------------------------------------
# Permission: allowed for the right roles, refused with the roles named for all others
# --------------------------------------------------------------------------------------------


def role_matrix():
    return list(_role_matrix())


def _role_matrix():
    for name in TRANSITIONS:
        roles = ROLES + (("old_study_coach",) if name == "confirm_handover" else ())
        for role in roles:
            yield pytest.param(name, role, role in ALLOWED[name], id=f"{name}-{role}")


@pytest.mark.parametrize(("name", "role", "allowed"), role_matrix())
def test_permission(crew, name, role, allowed):
    case = arrange(name, crew)
    user = crew.get(role)
    version = Case.objects.get(pk=case.pk).version
    if allowed:
        act(name, case, user)
        case.refresh_from_db()
        assert case.state == DEFAULT_TARGET[name]
        assert case.version == version + 1
        return
    with translation.override("en"), pytest.raises(NotPermitted) as refused:
        act(name, case, user)
    message = str(refused.value.message)
    assert message.startswith("Only the ")
    for allowed_role in ALLOWED[name]:
        assert str(ROLE_LABELS[allowed_role]) in message
    case.refresh_from_db()
    assert case.state in sources(name)
    assert case.version == version
    assert not transition_events(case).exists()


def test_the_signaller_may_withdraw_before_the_change_path(crew):
    case = CaseFactory(placement=crew.placement, signalled_by=crew.mentor, improving=True)
    act("withdraw", case, crew.mentor)
    case.refresh_from_db()
    assert case.state == S.CLOSED_WITHDRAWN


def test_a_student_who_signalled_may_withdraw(crew):
    case = CaseFactory(placement=crew.placement, signalled_by=crew.student)
    act("withdraw", case, crew.student)
    assert Case.objects.get(pk=case.pk).state == S.CLOSED_WITHDRAWN


def test_the_new_study_coach_may_not_confirm_the_handover(crew):
    case = arrange("confirm_handover", crew)
    with pytest.raises(NotPermitted):
        act("confirm_handover", case, crew.study_coach)


def test_an_inactive_office_account_still_needs_the_group(crew):
    case = arrange("place_student", crew)
    crew.office.groups.clear()
    office = m.User.objects.get(pk=crew.office.pk)  # global_roles is cached per instance
    with pytest.raises(NotPermitted):
        act("place_student", case, office)


# --------------------------------------------------------------------------------------------
# Wrong states: every transition is refused (GuardFailed, state named) outside its sources
# --------------------------------------------------------------------------------------------

# Transitions that share one service, which picks the transition by the case's state.
SHARED_SERVICE = {
    "plan_conversation": "plan_change_conversation",
    "plan_change_conversation": "plan_conversation",
    "record_conversation": "record_change_conversation",
    "record_change_conversation": "record_conversation",
}


def wrong_states():
    return list(_wrong_states())


def _wrong_states():
    for name in TRANSITIONS:
        for state in State:
            if state not in sources(name):
                yield pytest.param(name, state, id=f"{name}-{state}")


@pytest.mark.parametrize(("name", "state"), wrong_states())
def test_refused_in_every_other_state(crew, name, state):
    case = case_in(crew, state)
    user = crew.get(ANY_ALLOWED[name])
    with translation.override("en"), pytest.raises(GuardFailed) as refused:
        if state in sources(SHARED_SERVICE.get(name, "")):
            # The service takes the sibling transition here; ask the machine about this one.
            check_transition(case, name, user)
        else:
            act(name, case, user)
    message = str(refused.value.message)
    assert message
    assert str(State(state).label) in message
    case.refresh_from_db()
    assert case.state == state
    assert case.version == 1
    assert not CaseEvent.objects.filter(case=case).exists()


# --------------------------------------------------------------------------------------------
# No stuck state (issue #12): every open state has a way out, an owner, a deadline and an
# office override.
# --------------------------------------------------------------------------------------------

# The emergency exits: present everywhere, so they prove nothing about the process itself.
EXITS = {"withdraw", "stop_now"}


def reachable(start: str, *, leave_out=frozenset()) -> set[str]:
    edges: dict[str, set[str]] = {}
    for source, name, targets in machine_graph():
        if name not in leave_out:
            edges.setdefault(source, set()).update(targets)
    seen, todo = {start}, [start]
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


class TestNoStuckState:
    @pytest.mark.parametrize("state", OPEN_STATES)
    def test_every_open_state_reaches_a_closed_state(self, state):
        assert reachable(state) & set(CLOSED_STATES)

    @pytest.mark.parametrize("state", OPEN_STATES)
    def test_also_without_withdrawing_or_an_acute_stop(self, state):
        assert reachable(state, leave_out=EXITS) & set(CLOSED_STATES), state

    @pytest.mark.parametrize("state", CLOSED_STATES)
    def test_a_closed_case_can_be_reopened(self, state):
        assert S.IMPROVING in reachable(state)

    @pytest.mark.parametrize("state", OPEN_STATES)
    def test_every_open_state_has_a_deadline_rule(self, state):
        from deadlines.api import RULES

        watching = [rule for rule in RULES.values() if state in rule.watched_states]
        assert watching, f"no deadline rule watches {state}"
        office_only = {Role.OFFICE}
        for rule in watching:
            assert rule.remind_after is not None or rule.escalate_after is not None, rule.key
        # A step that is not the office's own is reminded to its owner and escalated.
        if any(set(rule.remind_roles) - office_only for rule in watching):
            assert any(
                rule.remind_after is not None
                and rule.escalate_after is not None
                and set(rule.remind_roles) - office_only
                for rule in watching
            ), state

    @pytest.mark.parametrize("state", OPEN_STATES)
    def test_every_open_state_has_a_role_who_may_act(self, crew, state):
        case = case_in(crew, state)
        actors = {
            role
            for role in (*ROLES, "old_study_coach")
            for _s, name, _t in machine_graph()
            if _s == state
            and name not in EXITS
            and m.transition_meta(name).get_transition(state).has_perm(case, crew.get(role))
        }
        assert actors - {"unrelated"}, state

    @pytest.mark.parametrize("state", OPEN_STATES)
    def test_every_open_state_has_an_office_override(self, crew, state):
        case = case_in(crew, state)
        overrides = [
            name
            for source, name, _t in machine_graph()
            if source == state
            and name not in EXITS
            and m.transition_meta(name).get_transition(state).has_perm(case, crew.office)
        ]
        assert overrides, f"the office cannot move a case in {state}"


def test_a_signaller_may_not_withdraw_once_the_change_path_began(crew):
    case = CaseFactory(placement=crew.placement, signalled_by=crew.mentor, change_requested=True)
    with pytest.raises(NotPermitted) as refused:
        act("withdraw", case, crew.mentor)
    assert "before a change or a stop is requested" in str(refused.value.message)
    assert Case.objects.get(pk=case.pk).state == S.CHANGE_REQUESTED


def test_a_study_coach_who_did_not_signal_may_not_withdraw(crew):
    case = case_in(crew, S.IMPROVING)
    with pytest.raises(NotPermitted):
        act("withdraw", case, crew.study_coach)


@pytest.mark.parametrize("role", ["student", "study_coach"])
def test_the_student_or_coach_may_drop_the_request_until_the_office_is_informed(crew, role):
    from tests.transfers.factories import ChangeRequestFactory

    case = case_in(crew, S.CHANGE_REQUESTED)
    ChangeRequestFactory(case=case, requested_by=crew.student)
    act("abandon_change", case, crew.get(role))
    assert Case.objects.get(pk=case.pk).state == S.IMPROVING


def test_the_mentor_may_not_drop_the_request(crew):
    from tests.transfers.factories import ChangeRequestFactory

    case = case_in(crew, S.CHANGE_REQUESTED)
    ChangeRequestFactory(case=case)
    with pytest.raises(NotPermitted):
        act("abandon_change", case, crew.mentor)


@pytest.mark.parametrize("role", ["student", "study_coach"])
def test_not_once_the_office_is_informed(crew, role):
    case = arrange("abandon_change", crew)  # office informed, requested by the student
    with pytest.raises(NotPermitted):
        act("abandon_change", case, crew.get(role))
