"""Browser tests: Playwright drives the Chromium that Debian's `chromium` package installs.

Never `playwright install` (it downloads a browser build; there is no internet here). Without
/usr/bin/chromium the tests are skipped with a loud reason, and tests/conftest.py turns that skip
into a failure under CI=true. Every test in this folder gets the `browser` marker.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("STAGEBUREAU_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
HERE = Path(__file__).resolve().parent
NO_CHROMIUM = (
    f"BROWSER TESTS NOT RUN: {CHROMIUM} is missing. Install it with "
    "`apt-get install -y chromium` (never `playwright install`). Under CI=true this is a failure."
)


def _require_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.skip(NO_CHROMIUM)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(autouse=True)
def _chromium_present():
    _require_chromium()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    _require_chromium()
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": [*browser_type_launch_args.get("args", []), *CHROMIUM_ARGS],
    }


@pytest.fixture(scope="session", autouse=True)
def _allow_async_unsafe():
    """Playwright's sync API runs an event loop in the test thread; Django then refuses ORM calls
    from that thread (SynchronousOnlyOperation) unless DJANGO_ALLOW_ASYNC_UNSAFE is set."""
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="session")
def base_url(live_server, _allow_async_unsafe) -> str:
    """page.goto("/login/") goes to the live server (pytest-django's, in a thread)."""
    return live_server.url


@pytest.fixture
def live_url(live_server, transactional_db, _allow_async_unsafe):
    """The live server's address, with a database the server thread can see.

    Browser tests use this (or mark themselves django_db(transaction=True)): data made in the
    test must be committed for the server thread to see it.
    """

    def url(path: str = "/") -> str:
        return f"{live_server.url}{path}"

    return url
