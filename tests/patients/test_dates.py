"""One date convention everywhere (issue 11, L7): forms, their text fallbacks and the DXA CSV
import accept exactly YYYY-MM-DD and refuse anything else with one message."""

from __future__ import annotations

import datetime as dt

import pytest

from monitoring.dxa_import import _date
from monitoring.forms import LabPanelForm
from patients.forms import PatientForm, PatientStatusForm
from patients.validators import DATE_INPUT_MESSAGE, parse_date_text
from therapy.forms import DoseGivenForm

REFUSED = ["31/12/2024", "12/31/2024", "20241231", "2024-1-5", "2024-02-30", "Dec 31 2024"]


@pytest.mark.parametrize("text", REFUSED)
def test_only_iso_dates_are_read(text):
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        parse_date_text(text)


def test_an_iso_date_is_read():
    assert parse_date_text(" 2024-12-31 ") == dt.date(2024, 12, 31)


def _forms(date_text: str):
    yield PatientForm({"birth_date": date_text}), "birth_date"
    yield PatientStatusForm({"status": "deceased", "status_date": date_text}), "status_date"
    yield DoseGivenForm({"date": date_text}), "date"
    yield LabPanelForm({"date": date_text}, units={}, initial_date=dt.date(2024, 1, 1)), "date"


@pytest.mark.parametrize("text", ["31/12/2024", "12/31/2024", "2024-1-5"])
def test_forms_and_the_csv_refuse_the_same_dates_with_the_same_message(db, text):
    for form, name in _forms(text):
        form.is_valid()
        assert form.errors.get(name) == [DATE_INPUT_MESSAGE], type(form).__name__
    problems: list[str] = []
    assert _date(text, problems) is None
    assert problems == [f"date: “{text}”: {DATE_INPUT_MESSAGE}"]


def test_forms_and_the_csv_accept_the_same_iso_date(db):
    for form, name in _forms("2024-12-31"):
        form.is_valid()
        assert name not in form.errors, type(form).__name__
    assert _date("2024-12-31", []) == dt.date(2024, 12, 31)
