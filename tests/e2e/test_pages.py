"""Every main page, for every role, at desktop and tablet width: accessible, no sideways scroll."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import check_accessibility, screenshot

#: The main pages of each role (tests/e2e/test_layout.py walks their actions at 768 px too).
PAGES = {
    "clinician": [
        "/",
        "/patients/",
        "/patients/{pk}/",
        "/patients/{pk}/summary/",
        "/patients/{pk}/decision/",
        "/patients/{pk}/risk-factors/",
    ],
    "nurse": [
        "/",
        "/patients/",
        "/patients/{pk}/",
        "/patients/{pk}/dxa/add/",
        "/patients/{pk}/lab/add/",
        "/dxa-imports/",
    ],
    "clinicadmin": [
        "/",
        "/patients/",
        "/patients/{pk}/",
        "/reminders/",
        "/clinics/hillside/staff/",
    ],
}

#: Elements (outside scroll boxes) that stick out to the right, to say what overflows.
WIDER_THAN_THE_PAGE = """
[...document.querySelectorAll('body *')]
  .filter(e => !e.closest('.table-responsive')
          && e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
  .slice(0, 5).map(e => e.tagName + '.' + e.className)
"""


@pytest.mark.parametrize("width", [1280, 768])
@pytest.mark.parametrize("role", list(PAGES))
def test_main_pages_are_accessible_and_fit_the_screen(
    page_for, demo_clinic, demo_patient, role, width
):
    _, people = demo_clinic
    page = page_for(people[role], width=width)
    for template in PAGES[role]:
        path = template.format(pk=demo_patient.pk)
        response = page.goto(path)
        assert response is not None and response.status == 200, path
        assert page.locator("h1").count() == 1, f"{path}: one h1"
        assert page.locator("main").count() == 1, f"{path}: a main landmark"
        assert check_accessibility(page) == [], path
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        wide = page.evaluate(WIDER_THAN_THE_PAGE)
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at {width}px: {wide}"
        if width == 1280:
            name = path.strip("/").replace("/", "-").replace(str(demo_patient.pk), "id")
            name = name or "dashboard"
            screenshot(page, f"{role}-{name}")
