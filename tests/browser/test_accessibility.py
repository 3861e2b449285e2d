"""WCAG 2.1 AA (issue 8): axe-core, vendored from the npm registry (tests/browser/vendor/
axe.min.js, `npm pack axe-core@4`), runs in real Chromium on every main page, each visited by
the person who uses it, on the demo data of `seed_demo` (a case in every state, made through the
real services). No page may have a serious or critical violation of the WCAG 2.0/2.1 A and AA
rules. The results per page are printed and written to test-artifacts/axe-results.json."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Browser, BrowserContext, Page, expect

from cases.models import Case, State, User
from conversations.models import Conversation, ImprovementAction, Invitation
from demo.management.commands.seed_demo import PASSWORD
from transfers import services as transfer_services
from transfers.models import Handover

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = {"serious", "critical"}


def run_axe(page: Page) -> list[dict]:
    """axe-core's violations on the page as it is now (WCAG 2.x A and AA rules)."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        """async (tags) => {
            const r = await axe.run(document, {runOnly: {type: "tag", values: tags}});
            return r.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 60).map(
                    n => n.target.join(" ") + " :: " + (n.any[0] ? n.any[0].message : "")
                ),
                count: v.nodes.length,
            }));
        }""",
        WCAG_TAGS,
    )
    return result


@dataclass
class Visit:
    name: str
    user: Callable[[], User | None]
    url: Callable[[], str]


def case_in(state: str) -> Case:
    return Case.objects.filter(state=state).select_related("placement").order_by("pk").first()


def office() -> User:
    return User.objects.get(username="stagebureau")


def trainer_of(state: str) -> Callable[[], User]:
    return lambda: case_in(state).placement.school_trainer


def case_url(state: str) -> Callable[[], str]:
    return lambda: case_in(state).get_absolute_url()


def step_url(url_name: str, state: str) -> Callable[[], str]:
    return lambda: reverse(url_name, args=[case_in(state).pk])


def held_conversation() -> Conversation:
    return (
        Conversation.objects.filter(
            status=Conversation.Status.HELD,
            case__state=State.IMPROVING,
            case__placement__student__username="student",
        )
        .order_by("pk")
        .first()
    )


def planned_conversation() -> Conversation:
    return Conversation.objects.filter(case=case_in(State.CONVERSATION_PLANNED)).get()


def confirmed_handover() -> Handover:
    """The demo's open handover, recorded by the old coach (so the new coach can confirm it)."""
    handover = Handover.objects.filter(received_at__isnull=True).order_by("pk").first()
    if handover.confirmed_at is None:
        transfer_services.confirm_handover(
            case_id=handover.case_id,
            by=handover.old_coach,
            contact_made_on=timezone.localdate(),
            what_helped="Vaste afspraken op maandag.",
            student_needs="Een vast aanspreekpunt.",
        )
        handover.refresh_from_db()
    return handover


def absent_invitation() -> Invitation:
    return Invitation.objects.filter(attended=False).order_by("pk").first()


def open_action() -> ImprovementAction:
    return ImprovementAction.objects.filter(case=case_in(State.IMPROVING)).order_by("pk").first()


VISITS = [
    Visit("login", lambda: None, lambda: reverse("login")),
    Visit(
        "home (student)",
        lambda: User.objects.get(username="student"),
        lambda: reverse("portal:home"),
    ),
    Visit(
        "home (school trainer)",
        lambda: User.objects.get(username="schoolopleider"),
        lambda: reverse("portal:home"),
    ),
    Visit(
        "my cases", lambda: User.objects.get(username="student"), lambda: reverse("cases:my_cases")
    ),
    Visit(
        "signal form", lambda: User.objects.get(username="mentor"), lambda: reverse("cases:signal")
    ),
    Visit(
        "inbox",
        lambda: User.objects.get(username="schoolopleider"),
        lambda: reverse("notifications:inbox"),
    ),
    # The case page in several states, as the school trainer (or the office when it is theirs).
    Visit("case: signalled", trainer_of(State.SIGNALLED), case_url(State.SIGNALLED)),
    Visit(
        "case: conversation planned",
        trainer_of(State.CONVERSATION_PLANNED),
        case_url(State.CONVERSATION_PLANNED),
    ),
    Visit("case: improving", trainer_of(State.IMPROVING), case_url(State.IMPROVING)),
    Visit(
        "case: improving (student)",
        lambda: User.objects.get(username="student"),
        case_url(State.IMPROVING),
    ),
    Visit("case: isop advice", trainer_of(State.ISOP_ADVICE), case_url(State.ISOP_ADVICE)),
    Visit("case: transfer requested", office, case_url(State.TRANSFER_REQUESTED)),
    Visit(
        "case: handover",
        lambda: Handover.objects.get(case=case_in(State.HANDOVER)).old_coach,
        case_url(State.HANDOVER),
    ),
    Visit("case: stopped", office, case_url(State.STOPPED)),
    Visit("case: closed transferred", office, case_url(State.CLOSED_TRANSFERRED)),
    # Every step form.
    Visit(
        "step: plan conversation",
        trainer_of(State.SIGNALLED),
        step_url("conversations:plan", State.SIGNALLED),
    ),
    Visit(
        "step: record conversation",
        trainer_of(State.CONVERSATION_PLANNED),
        step_url("conversations:record", State.CONVERSATION_PLANNED),
    ),
    Visit(
        "step: reschedule",
        trainer_of(State.CONVERSATION_PLANNED),
        lambda: reverse("conversations:reschedule", args=[planned_conversation().pk]),
    ),
    Visit(
        "step: cancel conversation",
        trainer_of(State.CONVERSATION_PLANNED),
        lambda: reverse("conversations:cancel", args=[planned_conversation().pk]),
    ),
    Visit(
        "step: record change conversation",
        trainer_of(State.CHANGE_CONVERSATION_PLANNED),
        step_url("conversations:record", State.CHANGE_CONVERSATION_PLANNED),
    ),
    Visit(
        "step: add action",
        trainer_of(State.IMPROVING),
        step_url("conversations:add_action", State.IMPROVING),
    ),
    Visit(
        "step: evaluate action",
        trainer_of(State.IMPROVING),
        lambda: reverse("conversations:evaluate_action", args=[open_action().pk]),
    ),
    Visit("step: resolve", trainer_of(State.IMPROVING), step_url("cases:resolve", State.IMPROVING)),
    Visit(
        "step: withdraw", trainer_of(State.IMPROVING), step_url("cases:withdraw", State.IMPROVING)
    ),
    Visit(
        "step: request change",
        trainer_of(State.IMPROVING),
        step_url("transfers:request", State.IMPROVING),
    ),
    Visit(
        "step: inform office",
        trainer_of(State.CHANGE_REQUESTED),
        step_url("transfers:inform", State.CHANGE_REQUESTED),
    ),
    Visit(
        "step: outcome",
        trainer_of(State.OUTCOME_PENDING),
        step_url("transfers:outcome", State.OUTCOME_PENDING),
    ),
    Visit(
        "step: ISOP advice",
        lambda: User.objects.get(username="isop"),
        step_url("transfers:advice", State.ISOP_ADVICE),
    ),
    Visit("step: wrap-up", office, step_url("transfers:wrap_up", State.TRANSFER_REQUESTED)),
    Visit("step: place student", office, step_url("transfers:place", State.TRANSFER_REQUESTED)),
    Visit("step: stop", office, step_url("transfers:stop", State.TRANSFER_REQUESTED)),
    Visit("step: resume", office, step_url("transfers:resume", State.STOPPED)),
    Visit(
        "step: warm handover",
        lambda: Handover.objects.get(case=case_in(State.HANDOVER)).old_coach,
        step_url("transfers:handover", State.HANDOVER),
    ),
    Visit(
        "student note",
        lambda: User.objects.get(username="student"),
        lambda: reverse("conversations:note", args=[held_conversation().pk]),
    ),
    # The office's pages and the ISOP owner's queue.
    Visit("dashboard", office, lambda: reverse("office:dashboard")),
    Visit("office case list", office, lambda: reverse("office:office_list")),
    Visit("office pictures", office, lambda: reverse("office:report")),
    Visit("change worklist", office, lambda: reverse("office:worklist")),
    Visit(
        "ISOP queue",
        lambda: User.objects.get(username="isop"),
        lambda: reverse("office:isop_queue"),
    ),
    Visit(
        "access log (privacy officer)",
        lambda: User.objects.get(username="privacy"),
        lambda: reverse("privacy:access_log"),
    ),
    # Last: the old coach's handover is recorded first, then the new coach confirms receipt.
    Visit(
        "handover received",
        lambda: confirmed_handover().new_coach,
        lambda: reverse("transfers:handover_received", args=[confirmed_handover().pk]),
    ),
]


@pytest.fixture
def demo(live_url):
    # A test with serialized_rollback before this one flushes without post_migrate: the
    # content types it cached in this process are gone from the database.
    ContentType.objects.clear_cache()
    call_command("seed_demo", stdout=StringIO())
    return live_url


class Sessions:
    """One logged-in browser context per person, reused across their pages."""

    def __init__(self, browser: Browser, live_url):
        self.browser, self.live_url = browser, live_url
        self.contexts: dict[str, BrowserContext] = {}

    def page_for(self, user: User | None) -> Page:
        key = user.username if user else ""
        if key not in self.contexts:
            # bypass_csp: axe is injected as a script of its own; the app's CSP forbids that.
            context = self.browser.new_context(
                locale="nl-NL", viewport={"width": 1280, "height": 900}, bypass_csp=True
            )
            context.set_default_timeout(60_000)
            self.contexts[key] = context
            if user is not None:
                page = context.new_page()
                page.goto(self.live_url(reverse("login")))
                page.fill("#id_username", user.username)
                page.fill("#id_password", PASSWORD)
                page.click("main form button[type=submit]")
                expect(page).not_to_have_url(re.compile(re.escape(reverse("login"))))
                page.close()
        return self.contexts[key].new_page()

    def close(self) -> None:
        for context in self.contexts.values():
            context.close()


@pytest.mark.django_db(transaction=True)
def test_no_serious_or_critical_wcag_violations_on_any_main_page(browser: Browser, demo):
    sessions = Sessions(browser, demo)
    report: dict[str, dict] = {}
    try:
        for visit in VISITS:
            user = visit.user()
            path = visit.url()
            page = sessions.page_for(user)
            response = page.goto(demo(path))
            assert response is not None and response.status == 200, (visit.name, path)
            expect(page.locator("main")).to_be_visible()
            violations = run_axe(page)
            report[visit.name] = {
                "path": path,
                "user": user.username if user else None,
                "violations": violations,
            }
            page.close()
    finally:
        sessions.close()

    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "axe-results.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(f"\naxe-core {WCAG_TAGS}: violations per page (impact: rule × nodes)")
    for name, entry in report.items():
        found = ", ".join(f"{v['impact']}: {v['id']}×{v['count']}" for v in entry["violations"])
        print(f"  {name:<36} {entry['user'] or '-':<16} {found or '0 violations'}")
    blocking = {
        name: [v for v in entry["violations"] if v["impact"] in BLOCKING]
        for name, entry in report.items()
    }
    blocking = {name: found for name, found in blocking.items() if found}
    assert not blocking, json.dumps(blocking, indent=2)
    assert len(report) == len(VISITS)
