"""The Content-Security-Policy in a real browser: the pages run under it without a violation
(every journey checks that, tests/e2e/conftest.py), and a violation is caught, not ignored."""

from __future__ import annotations

import datetime as dt

from monitoring.models import DxaScan
from tests import factories


def test_an_inline_script_is_refused_and_the_violation_fails_the_page(page_for, watch, clinician):
    page = page_for(clinician)

    page.evaluate(
        """() => {
        const script = document.createElement("script");
        script.textContent = "window.inlineRan = true";
        document.body.append(script);
        }"""
    )
    page.wait_for_timeout(200)

    assert page.evaluate("() => window.inlineRan === undefined")
    assert any("CSP violation: script-src" in e for e in watch.errors), watch.errors
    watch.expected.append("CSP violation: script-src")
    watch.expected.append("Content Security Policy")


def test_the_bmd_chart_draws_under_the_policy(page_for, watch, clinician, clinic):
    patient = factories.PatientFactory(clinic=clinic)
    for year, t, bmd in ((2019, -2.9, 0.70), (2021, -2.6, 0.74), (2023, -2.4, 0.77)):
        DxaScan.objects.create(
            patient=patient,
            date=dt.date(year, 1, 10),
            lumbar_spine_t_score=t,
            lumbar_spine_bmd_g_cm2=bmd,
        )
    page = page_for(clinician)

    page.goto(f"/patients/{patient.pk}/")
    page.locator("canvas[data-drawn]").wait_for()
    page.wait_for_timeout(300)

    drawn = page.evaluate(
        """() => {
        const canvas = document.querySelector("canvas");
        const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
        return data.some((value, i) => i % 4 === 3 && value > 0);
        }"""
    )
    assert drawn
    assert not [e for e in watch.errors if "CSP" in e or "Content Security Policy" in e]
