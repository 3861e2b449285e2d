"""Issue #13 in real Chromium: the office changes the mentor of a case (found by name, never a
username); the new mentor signs in, sees the case and adds an improvement plan to it; the old
mentor gets 404 on the case and on the file."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from playwright.sync_api import Browser, Page, expect

from attachments.models import Attachment
from cases import services as case_services
from cases.models import Category
from tests.attachments import files
from tests.cases.factories import PlacementFactory, UserFactory

pytestmark = pytest.mark.browser

PASSWORD = "password"  # UserFactory's


def log_in(browser: Browser, live_url, user) -> Page:
    page = browser.new_context(locale="nl-NL").new_page()
    page.goto(live_url(reverse("login")))
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("main form button[type=submit]")
    expect(page).not_to_have_url(re.compile(re.escape(reverse("login"))))
    return page


def test_the_office_reassigns_the_mentor_and_only_the_new_one_sees_the_case(
    browser: Browser, live_url, tmp_path
):
    placement = PlacementFactory(
        mentor=UserFactory(username="oude-mentor", first_name="Oud", last_name="Mentor")
    )
    case = case_services.case_signal(
        placement=placement,
        by=placement.student,
        categories=[Category.CLASSROOM],
        description="Geen feedback meer na de lessen.",
    )
    old_mentor = placement.mentor
    new_mentor = UserFactory(username="nieuwe-mentor", first_name="Noor", last_name="Vervanger")
    office = UserFactory(username="bureau", office=True)

    page = log_in(browser, live_url, office)
    page.goto(live_url(case.get_absolute_url()))
    page.click(f'a[href="{reverse("cases:reassign", args=[case.pk])}"]')
    # The new mentor holds no role at this board yet: the office finds her by name.
    expect(page.locator("#id_person")).not_to_contain_text("Vervanger")
    page.select_option("#search-role", "mentor")
    page.fill("#search-q", "vervanger")
    page.click("form[role=search] button[type=submit]")
    expect(page.locator("#id_person")).to_contain_text("Noor Vervanger")
    # By name and e-mail address, never by username alone.
    expect(page.locator("#id_person")).not_to_contain_text("(nieuwe-mentor)")
    page.select_option("#id_role", "mentor")
    page.select_option("#id_person", str(new_mentor.pk))
    page.fill("#id_reason", "Mentor ziek tot de voorjaarsvakantie.")
    page.click("form.step-form button[type=submit]")
    expect(page).to_have_url(re.compile(re.escape(case.get_absolute_url())))
    expect(page.locator("main")).to_contain_text("Noor Vervanger")
    page.context.close()
    placement.refresh_from_db()
    assert placement.mentor == new_mentor

    # The new mentor sees the case and adds an improvement plan.
    page = log_in(browser, live_url, new_mentor)
    response = page.goto(live_url(case.get_absolute_url()))
    assert response.status == 200
    expect(page.locator("main")).to_contain_text("Geen feedback meer na de lessen.")
    page.click(f'a[href="{reverse("attachments:add", args=[case.pk])}"]')
    page.select_option("#id_kind", "improvement_plan")
    plan = tmp_path / "verbeterplan.pdf"
    plan.write_bytes(files.pdf("Verbeterplan van Noor"))
    page.set_input_files("#id_file", str(plan))
    page.click("form.step-form button[type=submit]")
    expect(page).to_have_url(re.compile(re.escape(case.get_absolute_url())))
    expect(page.locator(".attachments")).to_contain_text("verbeterplan.pdf")
    attachment = Attachment.objects.get()
    download_url = reverse("attachments:download", args=[attachment.pk])
    with page.expect_download() as download:
        page.click(f'.attachments a[href="{download_url}"]')
    assert download.value.suggested_filename == "verbeterplan.pdf"
    page.context.close()

    # The old mentor no longer does: 404 on the case and on its file.
    page = log_in(browser, live_url, old_mentor)
    assert page.goto(live_url(case.get_absolute_url())).status == 404
    assert page.request.get(live_url(download_url)).status == 404
    page.context.close()
