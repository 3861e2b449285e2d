"""Print the case's state machine as a Mermaid state diagram, built from the code.

    manage.py state_diagram                 # print it
    manage.py state_diagram --write-readme  # replace the diagram in README.md

tests/test_state_diagram.py fails when README.md holds another diagram than the code makes.
"""

from __future__ import annotations

from pathlib import Path

import django_fsm as fsm
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from cases.models import CLOSED_STATES, Case, State

START_MARKER = "<!-- state-diagram:start -->"
END_MARKER = "<!-- state-diagram:end -->"


def transitions() -> list[tuple[str, str, str]]:
    """Every (source, target, transition name) of the machine, RETURN_VALUE targets expanded."""
    order = {state.value: index for index, state in enumerate(State)}
    edges = set()
    for transition in Case._meta.get_field("state").get_all_transitions(Case):
        target = transition.target
        if isinstance(target, fsm.RETURN_VALUE):
            targets = list(target.allowed_states or ())
        else:
            targets = [target]
        for to_state in targets:
            edges.add((str(transition.source), str(to_state), transition.name))
    return sorted(edges, key=lambda e: (order.get(e[0], 99), order.get(e[1], 99), e[2]))


def mermaid() -> str:
    lines = ["stateDiagram-v2", f"    [*] --> {State.SIGNALLED.value}: signal"]
    for source, target, name in transitions():
        lines.append(f"    {source} --> {target}: {name}")
    for state in CLOSED_STATES:
        lines.append(f"    {state.value} --> [*]")
    return "\n".join(lines) + "\n"


def readme_block() -> str:
    return f"{START_MARKER}\n```mermaid\n{mermaid()}```\n{END_MARKER}"


def readme_path() -> Path:
    return Path(settings.BASE_DIR) / "README.md"


def replace_block(text: str) -> str:
    start = text.find(START_MARKER)
    end = text.find(END_MARKER)
    if start == -1 or end == -1 or end < start:
        raise ValueError(f"README.md has no {START_MARKER} ... {END_MARKER} block.")
    return text[:start] + readme_block() + text[end + len(END_MARKER) :]


class Command(BaseCommand):
    help = "Print the case state machine as a Mermaid diagram (or update README.md with it)."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--write-readme",
            action="store_true",
            help=f"Replace the block between {START_MARKER} and {END_MARKER} in README.md.",
        )

    def handle(self, *args, write_readme: bool = False, **options) -> None:
        if not write_readme:
            self.stdout.write(mermaid(), ending="")
            return
        path = readme_path()
        try:
            old = path.read_text(encoding="utf-8")
            new = replace_block(old)
        except (OSError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        if new == old:
            self.stdout.write("README.md: the state diagram is up to date.")
            return
        path.write_text(new, encoding="utf-8")
        self.stdout.write("README.md: state diagram updated.")
