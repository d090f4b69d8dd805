"""Every main page, for every role, at desktop and tablet width: accessible, no sideways scroll."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.utils import timezone

from monitoring.scan import reminders_scan
from tests.e2e.conftest import check_accessibility, screenshot
from therapy.case_records import patient_import_case
from therapy.engine import parse_case

CASES = Path(__file__).resolve().parents[1] / "cases"

PAGES = {
    "clinician": ["/", "/patients/", "/patients/{pk}/", "/patients/{pk}/summary/"],
    "nurse": ["/", "/patients/", "/patients/{pk}/", "/patients/{pk}/dxa/add/", "/dxa-imports/"],
    "clinicadmin": ["/", "/patients/", "/patients/{pk}/", "/reminders/"],
}

#: Elements (outside scroll boxes) that stick out to the right, to say what overflows.
WIDER_THAN_THE_PAGE = """
[...document.querySelectorAll('body *')]
  .filter(e => !e.closest('.table-responsive')
          && e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
  .slice(0, 5).map(e => e.tagName + '.' + e.className)
"""


@pytest.fixture
def patient(demo_clinic):
    clinic, _ = demo_clinic
    for name in ("v03_vertebral_fracture_on_alendronate.json", "v08_denosumab_overdue.json"):
        data = json.loads((CASES / name).read_text())["case"]
        data["patient"].update(name=f"Demo {name[:3]}", mrn=name[:3].upper())
        imported = patient_import_case(clinic=clinic, case=parse_case(data))
    reminders_scan(as_of=timezone.localdate(), now=timezone.now())
    return imported


@pytest.mark.parametrize("width", [1280, 768])
@pytest.mark.parametrize("role", list(PAGES))
def test_main_pages_are_accessible_and_fit_the_screen(page_for, demo_clinic, patient, role, width):
    _, people = demo_clinic
    page = page_for(people[role], width=width)
    for template in PAGES[role]:
        path = template.format(pk=patient.pk)
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
            name = path.strip("/").replace("/", "-").replace(str(patient.pk), "id") or "dashboard"
            screenshot(page, f"{role}-{name}")
