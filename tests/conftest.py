import os

import pytest

from tests.journeys import Crew, make_crew


@pytest.fixture(autouse=True)
def _dutch(settings):
    settings.LANGUAGE_CODE = "nl"


@pytest.fixture
def crew() -> Crew:
    """Everyone around one placement, each in one role (tests/journeys.py)."""
    return make_crew()


def pytest_collection_modifyitems(config, items):
    """Under CI=true a skipped test is a failure: mark skips so the run fails loudly."""
    config._ci_strict = os.environ.get("CI", "").lower() == "true"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if getattr(item.config, "_ci_strict", False) and report.skipped:
        report.outcome = "failed"
        report.longrepr = f"Skipped under CI=true (a skip is a failure in CI): {report.longrepr}"
