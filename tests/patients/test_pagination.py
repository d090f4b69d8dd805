"""Lists page without counting every row (issue 14): one query of a page plus one row, next and
previous links that still work at both ends, and capped counts on the worklist's status tabs."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from monitoring import reminder_presenters, reminder_selectors, reminder_views
from monitoring.models import Reminder
from patients.models import Patient
from patients.pagination import page_number, page_of, page_of_known_ids
from tests import factories


def patients(clinic, count: int) -> None:
    factories.PatientFactory.create_batch(count, clinic=clinic)


def sql_of(client, url: str, params: dict | None = None) -> tuple[object, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return response, [q["sql"] for q in captured.captured_queries]


def test_a_plain_view_of_the_patient_list_runs_no_count_query(clinic, clinician, client_for):
    patients(clinic, 30)

    response, sql = sql_of(client_for(clinician), reverse("patients:list"))

    assert not [s for s in sql if "COUNT(" in s.upper()]
    assert len(response.context["rows"]) == 25
    assert response.context["page"].has_next


def test_a_search_of_the_patient_list_runs_no_count_query(clinic, clinician, client_for):
    patients(clinic, 3)
    Patient.objects.filter(pk=Patient.objects.order_by("pk").first().pk).update(name="Ada Novak")

    response, sql = sql_of(client_for(clinician), reverse("patients:list"), {"q": "novak"})

    assert not [s for s in sql if "COUNT(" in s.upper()]
    assert [p.name for p, _ in response.context["rows"]] == ["Ada Novak"]


def test_next_and_previous_lead_through_the_patient_list_to_its_end(clinic, clinician, client_for):
    patients(clinic, 60)
    client = client_for(clinician)

    first = client.get(reverse("patients:list"))
    last = client.get(reverse("patients:list"), {"page": 3})

    first_html, last_html = first.content.decode(), last.content.decode()
    assert 'rel="next"' in first_html and 'rel="prev"' not in first_html
    assert "Patients 1–25 of more" in first_html
    assert len(last.context["rows"]) == 10
    assert 'rel="prev"' in last_html and "page=2" in last_html
    assert 'rel="next"' not in last_html
    assert "Patients 51–60 of 60" in last_html
    seen = [
        p.pk
        for page in (1, 2, 3)
        for p, _ in client.get(reverse("patients:list"), {"page": page}).context["rows"]
    ]
    assert sorted(seen) == sorted(Patient.objects.values_list("pk", flat=True))


def test_a_list_that_fits_one_page_says_how_many_and_offers_no_pages(clinic, clinician, client_for):
    patients(clinic, 3)

    html = client_for(clinician).get(reverse("patients:list")).content.decode()

    assert "3 patients" in html
    assert 'rel="next"' not in html and 'rel="prev"' not in html


def test_a_page_number_past_the_end_shows_the_last_page(clinic, clinician, client_for):
    patients(clinic, 30)

    response = client_for(clinician).get(reverse("patients:list"), {"page": 9})

    assert response.context["page"].number == 2
    assert len(response.context["rows"]) == 5


@pytest.mark.parametrize("value", ["", "abc", "0", "-3", None])
def test_a_page_number_that_is_not_a_positive_number_is_page_one(value):
    assert page_number(value) == 1


def test_a_page_is_read_with_one_query_of_one_row_more_than_it_shows(
    clinic, django_assert_num_queries
):
    patients(clinic, 7)

    with django_assert_num_queries(1) as captured:
        page = page_of(Patient.objects.order_by("pk"), "2", per_page=3)

    assert "LIMIT 4" in captured.captured_queries[0]["sql"]
    assert len(page.object_list) == 3 and page.has_next and page.has_previous()
    assert page.total is None


def test_a_page_of_known_ids_reads_only_its_own_rows_by_id(clinic, django_assert_num_queries):
    patients(clinic, 7)
    ids = list(Patient.objects.order_by("-pk").values_list("pk", flat=True))

    with django_assert_num_queries(1) as captured:
        page = page_of_known_ids(
            Patient.objects.order_by("-pk"), "2", per_page=3, ids=ids, complete=True
        )

    assert [p.pk for p in page] == ids[3:6]
    assert page.has_next and page.has_previous()
    sql = captured.captured_queries[0]["sql"]
    assert "LIMIT" not in sql and "OFFSET" not in sql
    assert sql.count(",", sql.index(" IN (")) == 2  # three ids


def test_known_ids_of_the_whole_list_lead_to_its_last_page_even_past_the_end(clinic):
    patients(clinic, 7)
    ids = list(Patient.objects.order_by("pk").values_list("pk", flat=True))
    rows = Patient.objects.order_by("pk")

    last = page_of_known_ids(rows, "3", per_page=3, ids=ids, complete=True)
    past = page_of_known_ids(rows, "9", per_page=3, ids=ids, complete=True)
    empty = page_of_known_ids(rows.none(), "2", per_page=3, ids=[], complete=True)

    assert [p.pk for p in last] == [p.pk for p in past] == ids[6:]
    assert (last.number, last.has_next, last.total) == (past.number, False, 7)
    assert (empty.number, list(empty), empty.has_next) == (1, [], False)


def test_a_page_past_the_ids_known_of_a_longer_list_is_left_to_page_of(clinic):
    patients(clinic, 7)
    ids = list(Patient.objects.order_by("pk").values_list("pk", flat=True))[:5]
    rows = Patient.objects.order_by("pk")

    first = page_of_known_ids(rows, "1", per_page=3, ids=ids, complete=False)

    assert first is not None and [p.pk for p in first] == ids[:3] and first.has_next
    # Page 2 would show ids 4-6: the sixth, and whether a seventh follows, are not known.
    assert page_of_known_ids(rows, "2", per_page=3, ids=ids, complete=False) is None


# --- the worklist -------------------------------------------------------------------------------


def reminders(patient, count: int, kind: str = "NEXT_DOSE", **fields) -> None:
    Reminder.objects.bulk_create(
        Reminder(
            patient=patient,
            kind=kind,
            drug=f"d{n}",
            due=dt.date(2026, 1, 1) + dt.timedelta(days=n),
            **fields,
        )
        for n in range(count)
    )


def test_the_worklist_never_counts_more_rows_than_its_cap(patient, clinic_admin, client_for):
    reminders(patient, 60)

    response, sql = sql_of(client_for(clinic_admin), reverse("reminders:list"))

    counts = [s for s in sql if "COUNT(" in s.upper()]
    assert len(counts) == 1  # the status tabs, in one query
    # every COUNT reads a LIMITed subquery: COUNT_CAP + 1 rows at most
    assert len(re.findall(r"COUNT\(", counts[0], re.I)) == len(
        re.findall(rf"LIMIT {reminder_selectors.COUNT_CAP + 1}\b", counts[0])
    )
    assert len(response.context["rows"]) == 50


def test_next_and_previous_lead_through_the_worklist_to_its_end(patient, clinic_admin, client_for):
    reminders(patient, 60)
    client = client_for(clinic_admin)

    last = client.get(reverse("reminders:list"), {"page": 2})

    html = last.content.decode()
    assert len(last.context["rows"]) == 10
    assert 'rel="prev"' in html and 'rel="next"' not in html
    assert "Reminders 51–60 of 60" in html
    assert "Select all 60 reminders matching these filters" in html


def test_the_status_tabs_say_more_than_the_cap_instead_of_counting_on(
    patient, clinic_admin, client_for, monkeypatch
):
    monkeypatch.setattr(reminder_selectors, "COUNT_CAP", 4)
    monkeypatch.setattr(reminder_views, "COUNT_CAP", 4)
    monkeypatch.setattr(reminder_presenters, "COUNT_CAP", 4)
    reminders(patient, 6)
    reminders(patient, 2, status="dismissed", close_reason="moved away", kind="DXA_FOLLOW_UP")

    client = client_for(clinic_admin)
    html = client.get(reverse("reminders:list")).content.decode()
    # The other tabs are counted by the request the page makes once shown (htmx).
    counts = client.get(
        reverse("reminders:list"), {"counts": "all"}, headers={"HX-Request": "true"}
    ).content.decode()

    assert 'Active <span class="badge text-bg-light">4+</span>' in html
    assert 'Active <span class="badge text-bg-light">4+</span>' in counts
    assert 'Dismissed <span class="badge text-bg-light">2</span>' in counts
    assert 'All <span class="badge text-bg-light">4+</span>' in counts
