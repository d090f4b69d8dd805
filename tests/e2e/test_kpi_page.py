"""A clinic admin reads the quality indicators: the run chart drawn under the CSP, another period,
and the patients behind a number."""

from __future__ import annotations

import datetime as dt
import re

from django.utils import timezone
from playwright.sync_api import expect

from quality.kpis import Period
from quality.reports import default_period
from tests.e2e.conftest import check_accessibility, screenshot
from tests.quality.conftest import dxa_scan, fls_episode, fls_patient

CANVAS_HAS_INK = """() => {
  const canvas = document.querySelector("canvas[data-kpi-run-chart]");
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  return data.some((value, i) => i % 4 === 3 && value > 0);
}"""


def _in(period, month: int, day: int) -> dt.date:
    """A day of the period's `month`-th month (1 = its first)."""
    index = period.start.year * 12 + period.start.month - 1 + month - 1
    return dt.date(index // 12, index % 12 + 1, day)


def test_admin_reads_the_chart_changes_the_period_and_follows_a_drill_down(
    page_for, watch, demo_clinic
):
    clinic, people = demo_clinic
    period = default_period(timezone.localdate())
    for name, month, site, assessed in [
        ("Ann Assessed", 2, "wrist", True),
        ("Bea Backlog", 5, "vertebral", False),
        ("Cai Hip", 8, "hip", True),
    ]:
        patient = fls_patient(clinic, name=name)
        fracture = _in(period, month, 10)
        fls_episode(
            patient,
            fracture_date=fracture,
            site=site,
            assessed_on=fracture + dt.timedelta(days=14) if assessed else None,
        )
        dxa_scan(patient, fracture + dt.timedelta(days=30))
    earlier = period.start - dt.timedelta(days=200)
    before = Period(start=earlier - dt.timedelta(days=30), end=earlier + dt.timedelta(days=30))
    fls_episode(fls_patient(clinic, name="Eve Earlier"), fracture_date=earlier, site="vertebral")

    page = page_for(people["clinicadmin"])
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Quality").click()
    expect(
        page.get_by_role("heading", name="Quality indicators · Hillside Bone Clinic")
    ).to_be_visible()
    expect(page.get_by_test_id("episode-count")).to_have_text("3")
    canvas = page.locator("canvas[data-kpi-run-chart]")
    canvas.wait_for()
    expect(canvas).to_have_attribute("data-drawn", "1")
    page.wait_for_timeout(200)
    assert page.evaluate(CANVAS_HAS_INK)
    page.get_by_label("Indicator drawn").select_option("iof-3")
    expect(canvas).to_have_attribute("data-kpi", "iof-3")
    page.locator("summary", has_text="as a table").click()
    expect(page.get_by_test_id("run-chart-table")).to_be_visible()
    assert check_accessibility(page) == []
    screenshot(page, "admin-quality-indicators")

    # Another period, before the default one, with Eve's spine fracture alone.
    page.get_by_label("From", exact=True).fill(f"{before.start:%Y-%m-%d}")
    page.get_by_label("To", exact=True).fill(f"{before.end:%Y-%m-%d}")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(
        re.compile(rf"\?from={before.start:%Y-%m-%d}&to={before.end:%Y-%m-%d}$")
    )
    expect(page.get_by_test_id("episode-count")).to_have_text("1")
    spine = page.locator('tr[data-kpi="iof-2"]')
    expect(spine.locator('[data-cell="percent"]')).to_have_text("100.0 %")
    expect(spine.locator('[data-cell="level"]')).to_have_text("Green")
    page.wait_for_timeout(200)
    assert page.evaluate(CANVAS_HAS_INK)

    spine.get_by_role("link", name="numerator").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Spine")
    expect(page.get_by_test_id("patient-count")).to_have_text("1")
    listed = page.get_by_test_id("drill-down")
    expect(listed).to_contain_text("Eve Earlier")
    expect(listed).not_to_contain_text("Bea Backlog")
    assert check_accessibility(page) == []

    listed.get_by_role("link", name="Eve Earlier").click()
    expect(page.get_by_role("heading", name="Eve Earlier")).to_be_visible()
    assert not watch.unexpected()
