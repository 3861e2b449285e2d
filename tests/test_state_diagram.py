"""The README's state diagram is generated from the code and must stay up to date."""

import django_fsm as fsm
from django.core.management import call_command

from cases.management.commands import state_diagram
from cases.models import Case, State


def test_it_lists_every_state_and_every_transition():
    diagram = state_diagram.mermaid()
    assert diagram.startswith("stateDiagram-v2\n")
    for state in State:
        assert f" {state.value} " in diagram or f" {state.value}:" in diagram, state
    names = {t.name for t in Case._meta.get_field("state").get_all_transitions(Case)}
    for name in names:
        assert f": {name}\n" in diagram, name


def test_it_expands_return_value_targets():
    edges = set(state_diagram.transitions())
    for transition in Case._meta.get_field("state").get_all_transitions(Case):
        if isinstance(transition.target, fsm.RETURN_VALUE):
            for target in transition.target.allowed_states:
                assert (transition.source, target, transition.name) in edges


def test_the_readme_holds_the_current_diagram():
    readme = state_diagram.readme_path().read_text(encoding="utf-8")
    assert state_diagram.readme_block() in readme, (
        "README.md's state diagram is out of date: run `python manage.py state_diagram "
        "--write-readme` and commit README.md."
    )


def test_the_command_prints_the_diagram(capsys):
    call_command("state_diagram")
    assert capsys.readouterr().out == state_diagram.mermaid()


def test_write_readme_replaces_only_the_block(tmp_path, monkeypatch):
    readme = tmp_path / "README.md"
    readme.write_text(
        "# Title\n\n<!-- state-diagram:start -->\nold\n<!-- state-diagram:end -->\n\nRest.\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(state_diagram, "readme_path", lambda: readme)
    call_command("state_diagram", "--write-readme")
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("# Title\n\n")
    assert text.endswith("\n\nRest.\n")
    assert state_diagram.readme_block() in text
    assert "old" not in text
