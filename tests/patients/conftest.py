"""A patient of the Hillside clinic with one record of every kind, and small HTML helpers."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pytest
from django.utils.html import escape

from monitoring.models import DxaScan, LabResult, Reassessment
from patients.models import (
    CardiovascularEvent,
    Fracture,
    GlucocorticoidExposure,
    Immunosuppressant,
    Patient,
)
from therapy.models import Dose, TherapyCourse


@dataclass
class World:
    """One Hillside patient with one row of each record kind (the rows edit/delete URLs name)."""

    patient: Patient
    cardiovascular_event: CardiovascularEvent
    immunosuppressant: Immunosuppressant
    glucocorticoid: GlucocorticoidExposure
    fracture: Fracture
    course: TherapyCourse
    dose: Dose
    dxa: DxaScan
    lab: LabResult
    reassessment: Reassessment


@pytest.fixture
def world(patient) -> World:
    course = TherapyCourse.objects.create(
        patient=patient, drug="denosumab", start=dt.date(2020, 1, 1)
    )
    return World(
        patient=patient,
        cardiovascular_event=CardiovascularEvent.objects.create(
            patient=patient, kind="stroke", date=dt.date(2015, 3, 1)
        ),
        immunosuppressant=Immunosuppressant.objects.create(patient=patient, name="tacrolimus"),
        glucocorticoid=GlucocorticoidExposure.objects.create(
            patient=patient, prednisone_mg_per_day=7.5, start=dt.date(2016, 1, 1)
        ),
        fracture=Fracture.objects.create(patient=patient, date=dt.date(2019, 6, 1), site="wrist"),
        course=course,
        dose=Dose.objects.create(course=course, date=dt.date(2020, 7, 1)),
        dxa=DxaScan.objects.create(
            patient=patient, date=dt.date(2019, 1, 15), lumbar_spine_t_score=-2.7
        ),
        lab=LabResult.objects.create(
            patient=patient, date=dt.date(2019, 2, 1), test="ctx", value=0.5, unit="ng/mL"
        ),
        reassessment=Reassessment.objects.create(patient=patient, date=dt.date(2021, 1, 20)),
    )


def input_tag(html: str, name: str) -> str:
    """The rendered <input> (or <textarea>/<select>) whose name is `name`."""
    match = re.search(rf'<(input|textarea|select)\b[^>]*\bname="{re.escape(name)}"[^>]*>', html)
    assert match, f"no form field named {name!r} in the page"
    if match.group(1) == "input":
        return match.group(0)
    end = html.index(f"</{match.group(1)}>", match.end())
    return html[match.start() : end]


def field_error_html(html: str, name: str) -> str:
    """The text of the `invalid-feedback` block crispy renders right under field `name`."""
    match = re.search(
        rf'<div id="id_{re.escape(name)}_error" class="invalid-feedback">(.*?)</div>', html, re.S
    )
    assert match, f"no error shown beside the field {name!r}"
    return match.group(1)


def shows(html: str, text: str) -> bool:
    return escape(text) in html or text in html
