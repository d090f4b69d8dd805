"""The patient list's status, reminder and sort controls: read from the stored reminders (open
or snoozed), never by running the engine again; patients who left are hidden by default."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from monitoring.models import Reminder, ReminderStatus
from patients.models import Clinic, Membership, Patient, PatientStatus, Role
from patients.pagination import page_of
from patients.selectors import (
    REMINDER_KIND_CODES,
    PatientFilters,
    patient_list_page,
    patient_search,
)
from tests import factories

# -1 in issue 14: a page is one query of 26 rows, no COUNT of the whole list; -1 more: the kind
# filter's choices are every kind, no query; -2: the clinic filter and "New patient" read the
# memberships the navigation reads (patients.access.clinics_of)
LIST_FILTERED = 15
# Sorted by next due date (issue 14): whether the list is long, the open and the snoozed reminders
# in due order, the sort of their patients, and, when they are fewer than a page, those with none.
LIST_BY_NEXT_DUE = LIST_FILTERED + 5
#: How a walk of the active reminders in due order (`patients.selectors._first_by_next_due`) starts.
WALK = 'SELECT "monitoring_reminder"."due" AS "due", "monitoring_reminder"."patient_id"'


def listed(response) -> list[str]:
    return [p.name for p in response.context["page"].object_list]


def _reminder(patient, kind, due, **fields):
    return Reminder.objects.create(patient=patient, kind=kind, due=due, **fields)


@pytest.fixture
def people(clinic):
    """Four patients: two with reminders, one without, one deceased with an old reminder."""
    ann = factories.PatientFactory(clinic=clinic, given_name="Ann", family_name="Zeller", name="")
    bea = factories.PatientFactory(clinic=clinic, given_name="Bea", family_name="Young", name="")
    cy = factories.PatientFactory(clinic=clinic, given_name="Cy", family_name="Adams", name="")
    dot = factories.PatientFactory(
        clinic=clinic,
        given_name="Dot",
        family_name="Baker",
        name="",
        status=PatientStatus.DECEASED,
        status_date=dt.date(2026, 6, 1),
    )
    _reminder(ann, "DENOSUMAB_OVERDUE", dt.date(2026, 12, 20), severity="critical")
    _reminder(ann, "NEXT_DOSE", dt.date(2026, 12, 10), drug="denosumab")
    _reminder(bea, "DXA_FOLLOW_UP", dt.date(2026, 12, 5))
    # Closed reminders count for nothing: Cy's is done, so Cy has no next due date.
    _reminder(cy, "MARKER_CHECK", dt.date(2026, 11, 1), status=ReminderStatus.DONE)
    _reminder(dot, "NEXT_DOSE", dt.date(2026, 12, 1), drug="denosumab")
    return ann, bea, cy, dot


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ({}, ["Cy Adams", "Bea Young", "Ann Zeller"]),
        ({"status": "all"}, ["Cy Adams", "Dot Baker", "Bea Young", "Ann Zeller"]),
        ({"status": "deceased"}, ["Dot Baker"]),
        ({"status": "transferred"}, []),
        ({"severity": "critical"}, ["Ann Zeller"]),
        ({"severity": "routine"}, ["Bea Young", "Ann Zeller"]),
        ({"kind": "DXA_FOLLOW_UP"}, ["Bea Young"]),
        ({"kind": "MARKER_CHECK"}, []),  # only a closed one: nobody has it active
        ({"kind": "NEXT_DOSE", "status": "all"}, ["Dot Baker", "Ann Zeller"]),
        ({"sort": "due"}, ["Bea Young", "Ann Zeller", "Cy Adams"]),
        ({"sort": "due", "status": "all"}, ["Dot Baker", "Bea Young", "Ann Zeller", "Cy Adams"]),
    ],
    ids=[
        "active-by-default-sorted-by-family-name",
        "all",
        "deceased",
        "transferred",
        "critical",
        "routine",
        "kind",
        "only-closed-kind",
        "kind-among-all",
        "due-nulls-last",
        "due-among-all",
    ],
)
def test_the_list_filters_and_sorts(query, names, people, nurse, client_for):
    response = client_for(nurse).get(reverse("patients:list"), query)

    assert listed(response) == names


def test_a_filter_that_cannot_be_read_is_said_and_what_was_typed_is_kept(people, nurse, client_for):
    """An unknown value (a hand-edited or stale link) lists everyone, as before, but says so
    beside the list, and the search box keeps what was typed."""
    response = client_for(nurse).get(reverse("patients:list"), {"q": "Zeller", "sex": "X"})

    assert listed(response) == ["Cy Adams", "Bea Young", "Ann Zeller"]
    page = response.content.decode()
    assert "shown without its filters" in page
    assert "Select a valid choice. X is not one of the available choices." in page
    assert 'value="Zeller"' in page


def test_the_kind_filter_offers_every_kind_in_words_not_codes(people, nurse, client_for):
    response = client_for(nurse).get(reverse("patients:list"))

    choices = response.context["form"].fields["kind"].choices
    kinds = dict(choices)
    assert [words for _, words in choices[1:]] == sorted(kinds[k] for k in kinds if k)  # by words
    # Every kind a reminder may have, stored or not: the choices cost no query.
    assert set(kinds) == {"", *REMINDER_KIND_CODES}
    assert {"DENOSUMAB_OVERDUE", "NEXT_DOSE", "DXA_FOLLOW_UP", "FOLLOW_UP_16W"} <= set(kinds)
    html = response.content.decode()
    assert ">DXA_FOLLOW_UP<" not in html
    assert f">{kinds['DXA_FOLLOW_UP']}<" in html
    assert kinds["DXA_FOLLOW_UP"] != "DXA_FOLLOW_UP"


def test_the_list_shows_the_next_due_date_and_the_status_of_one_who_left(people, nurse, client_for):
    html = client_for(nurse).get(reverse("patients:list"), {"status": "all"}).content.decode()

    assert '<time datetime="2026-12-10">2026-12-10</time>' in html  # Ann's earliest active
    assert "Deceased 2026-06-01" in html


def test_another_clinics_reminder_kinds_are_not_offered(people, other_clinic, nurse, client_for):
    stranger = factories.PatientFactory(clinic=other_clinic)
    _reminder(stranger, "ROMOSOZUMAB_COURSE_END", dt.date(2026, 12, 1))

    response = client_for(nurse).get(reverse("patients:list"))

    assert "ROMOSOZUMAB_COURSE_END" not in dict(response.context["form"].fields["kind"].choices)


def test_the_next_page_link_keeps_the_filters(clinic, clinician, client_for):
    for n in range(30):
        patient = factories.PatientFactory(clinic=clinic)
        _reminder(patient, "NEXT_DOSE", dt.date(2026, 12, 1) + dt.timedelta(days=n))

    response = client_for(clinician).get(
        reverse("patients:list"), {"severity": "routine", "sort": "due"}
    )

    assert 'href="?severity=routine&amp;sort=due&amp;page=2"' in response.content.decode()
    second = client_for(clinician).get(
        reverse("patients:list"), {"severity": "routine", "sort": "due", "page": 2}
    )
    dues = [p.next_due for p in second.context["page"].object_list]
    assert dues == sorted(dues) and len(dues) == 5


@pytest.mark.parametrize("count", [6, 60])
def test_the_filtered_and_sorted_list_costs_the_same_queries_for_6_or_60_patients(
    count, clinic, clinician, client_for, django_assert_num_queries
):
    for n in range(count):
        patient = factories.PatientFactory(clinic=clinic)
        factories.add_long_history(patient, years=1)
        _reminder(patient, "NEXT_DOSE", dt.date(2026, 12, 1) + dt.timedelta(days=n))
        _reminder(patient, "DENOSUMAB_OVERDUE", dt.date(2026, 12, 1), severity="critical")
    client = client_for(clinician)

    with django_assert_num_queries(LIST_FILTERED):  # narrowed to a kind: sorted as it is
        response = client.get(
            "/patients/", {"severity": "critical", "kind": "DENOSUMAB_OVERDUE", "sort": "due"}
        )

    assert len(response.context["page"].object_list) == min(count, 25)


@pytest.mark.parametrize("count", [6, 60])
def test_the_list_by_next_due_date_costs_a_few_queries_more_for_6_or_60_patients(
    count, clinic, clinician, client_for, django_assert_max_num_queries, monkeypatch
):
    monkeypatch.setattr("patients.selectors.DUE_WALK_MIN_PATIENTS", 5)  # a long list, here
    for n in range(count):
        patient = factories.PatientFactory(clinic=clinic)
        _reminder(patient, "NEXT_DOSE", dt.date(2026, 12, 1) + dt.timedelta(days=n % 7))
        _reminder(patient, "DENOSUMAB_OVERDUE", dt.date(2026, 12, 1), severity="critical")
    client = client_for(clinician)
    # A page first. The session is stored on neither page
    # (config.session.SessionIdleMiddleware renews it at most once a minute).
    client.get("/patients/")

    with django_assert_max_num_queries(LIST_BY_NEXT_DUE) as captured:
        response = client.get("/patients/", {"sort": "due"})

    dues = [patient.next_due for patient in response.context["page"].object_list]
    assert len(dues) == min(count, 25) and dues == sorted(dues)
    walks = [q["sql"] for q in captured if q["sql"].startswith(WALK)]
    assert len(walks) == 2  # the open, then the snoozed reminders in due order


# --- a search narrowed to its few matches first (issue 14) ---------------------------------------


@pytest.fixture
def namesakes(clinic):
    """Thirty patients: eight Kowalskis among others, names out of alphabetical creation order."""
    made = []
    for n in range(30):
        family = "Kowalski" if n % 4 == 0 else ["Adams", "Young", "Baker"][n % 3]
        made.append(
            factories.PatientFactory(
                clinic=clinic,
                given_name=f"P{29 - n:02d}",
                family_name=family,
                name=f"P{29 - n:02d} {family}",
                mrn=f"KOW{n:03d}" if n == 7 else f"X{n:04d}",
            )
        )
    return made


def _search(client, **query):
    pages, page = [], 1
    while True:
        response = client.get(reverse("patients:list"), {**query, "page": page})
        pages += listed(response)
        if not response.context["page"].has_next:
            return pages
        page += 1


def _queries(client, **query):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("patients:list"), query)
    return response, [q["sql"] for q in captured.captured_queries]


def _expected(patients, term):
    term = term.upper()
    found = [p for p in patients if term in p.name.upper() or p.mrn.upper().startswith(term)]
    return [p.name for p in sorted(found, key=lambda p: (p.family_name, p.given_name, p.pk))]


@pytest.mark.parametrize("few_matches", [2000, 3], ids=["narrowed", "too-many-to-narrow"])
@pytest.mark.parametrize("term", ["kowal", "KOW", "p0", "zzz"])
def test_a_search_lists_every_match_in_name_order_narrowed_or_not(
    term, few_matches, namesakes, nurse, client_for, monkeypatch
):
    monkeypatch.setattr("patients.selectors.FEW_MATCHES", few_matches)

    names = _search(client_for(nurse), q=term)

    assert names == _expected(namesakes, term)
    assert len(names) == len(set(names))


@pytest.mark.parametrize("few_matches", [2000, 5, 3])
@pytest.mark.parametrize("sort", ["", "due"])
def test_a_search_pages_from_its_first_ids_then_walks_on_past_them(
    few_matches, sort, namesakes, nurse, client_for, monkeypatch
):
    """Pages of two: with 5 ids known (of 10 matches), pages 1-2 come from them, 3-5 from the
    walk; with 3, only page 1."""
    monkeypatch.setattr("patients.selectors.FEW_MATCHES", few_matches)
    monkeypatch.setattr("patients.views.PAGE_SIZE", 2)
    for n, p in enumerate(namesakes):
        Reminder.objects.create(patient=p, kind="NEXT_DOSE", due=dt.date(2025, 1, 1 + n % 3))
    client = client_for(nurse)

    names = _search(client, q="p0", sort=sort)

    expected = _expected(namesakes, "p0")
    if sort:
        expected = [
            p.name
            for p in sorted(
                (p for p in namesakes if p.name in expected),
                key=lambda p: (namesakes.index(p) % 3, p.family_name, p.given_name, p.pk),
            )
        ]
    assert names == expected


def test_a_search_reads_its_page_by_the_page_s_ids_not_every_match_s(clinic, nurse, client_for):
    for n in range(40):
        factories.PatientFactory(clinic=clinic, family_name="Kowalski", name=f"P{n:02d} Kowalski")

    response, queries = _queries(client_for(nurse), q="kowal", page=2)

    assert len(listed(response)) == 15
    lists = [re.findall(r'"patients_patient"\."id" IN \(([^)]*)\)', q) for q in queries]
    assert [len(ids.split(",")) for found in lists for ids in found] == [15]  # no other list


def test_a_search_of_three_characters_or_more_costs_one_query_more(
    namesakes, nurse, client_for, django_assert_num_queries
):
    client = client_for(nurse)
    # A page first. The session is stored on none of these pages
    # (config.session.SessionIdleMiddleware renews it at most once a minute).
    client.get(reverse("patients:list"))

    with django_assert_num_queries(LIST_FILTERED):
        client.get(reverse("patients:list"), {"q": "ko"})  # too short for the trigram index
    with django_assert_num_queries(LIST_FILTERED + 1):  # the matches' ids first
        response = client.get(reverse("patients:list"), {"q": "kowal"})

    assert listed(response) == _expected(namesakes, "kowal")


# --- what the list offers, from the request's memberships (clinics_of) ---------------------------


@pytest.mark.parametrize(
    ("role", "offers_add"), [("clinician", True), ("nurse", False), ("clinic_admin", False)]
)
def test_only_a_role_that_edits_demographics_is_offered_add_a_patient(
    role, offers_add, clinic, request, client_for
):
    factories.PatientFactory(clinic=clinic)
    response = client_for(request.getfixturevalue(role)).get(reverse("patients:list"))

    assert response.status_code == 200
    assert (reverse("patients:create") in response.content.decode()) is offers_add


def test_the_clinic_filter_offers_the_users_clinics_by_name(
    clinic, other_clinic, clinician, client_for
):
    aardvark = Clinic.objects.create(name="Aardvark Clinic", slug="zz-aardvark")  # made last
    Membership.objects.create(user=clinician, clinic=aardvark, role=Role.NURSE)

    response = client_for(clinician).get(reverse("patients:list"))

    offered = [name for value, name in response.context["form"].fields["clinic"].choices if value]
    assert offered == ["Aardvark Clinic", "Hillside Bone Clinic"]  # not Riverside: not theirs


# --- sorted by next due date, from the reminders in due order (issue 14) -------------------------


@pytest.fixture
def due_mix(clinic, other_clinic):
    """Patients whose next due dates tie, come from open or snoozed reminders, or are missing
    (only closed reminders, or none); some not active, some of another clinic."""
    statuses = [ReminderStatus.OPEN, ReminderStatus.SNOOZED, ReminderStatus.DONE]
    for n in range(40):
        patient = factories.PatientFactory(
            clinic=other_clinic if n % 11 == 10 else clinic,
            family_name=["Young", "Adams", "Baker", "Kowalski"][n % 4],
            given_name=f"P{39 - n:02d}",
            status=PatientStatus.DECEASED if n % 9 == 8 else PatientStatus.ACTIVE,
            status_date=dt.date(2025, 1, 1) if n % 9 == 8 else None,
        )
        for k in range(n % 4):  # 0 to 3 reminders, their dues often on one day
            status = statuses[(n + k) % 3]
            Reminder.objects.create(
                patient=patient,
                kind=["NEXT_DOSE", "DXA_DUE", "REASSESSMENT_DUE"][k],
                due=dt.date(2025, 3, 1 + (n * 7 + k * 3) % 3),
                status=status,
                snoozed_until=dt.date(2025, 4, 1) if status == ReminderStatus.SNOOZED else None,
                severity="critical" if n % 5 == 0 else "",
            )


@pytest.mark.parametrize("walk", [(8, 500), (1, 1)], ids=["one-walk", "walks-doubling"])
@pytest.mark.parametrize("per_page", [1, 2, 5, 25])
@pytest.mark.parametrize("filters", [{}, {"status": "all"}, {"severity": "critical"}])
def test_the_list_by_next_due_date_pages_as_the_sorted_list_does(
    walk, per_page, filters, clinic, due_mix, monkeypatch
):
    """Every page read from the reminders in due order holds the patients, in the order, that
    the list sorted by its next due date gives (`page_of`), up to a page past the end."""
    monkeypatch.setattr("patients.selectors.WALK_ROWS_PER_PATIENT", walk[0])
    monkeypatch.setattr("patients.selectors.FIRST_WALK_ROWS", walk[1])
    monkeypatch.setattr("patients.selectors.DUE_WALK_MIN_PATIENTS", 1)
    queryset = patient_search(
        Patient.objects.filter(clinic=clinic), PatientFilters(sort="due", **filters)
    )
    pages = -(-queryset.count() // per_page)

    for number in range(1, pages + 2):
        fast = patient_list_page(
            queryset, number, per_page=per_page, filters=PatientFilters(sort="due")
        )
        sorted_list = page_of(queryset, number, per_page=per_page)
        assert [p.pk for p in fast] == [p.pk for p in sorted_list], number
        assert (fast.number, fast.has_next) == (sorted_list.number, sorted_list.has_next)


def test_a_short_list_by_next_due_date_is_sorted_as_it_is(clinic, clinician, client_for):
    """Fewer patients than `DUE_WALK_MIN_PATIENTS`: no walk through every clinic's reminders."""
    for n in range(3):
        _reminder(factories.PatientFactory(clinic=clinic), "NEXT_DOSE", dt.date(2026, 12, 1 + n))
    client = client_for(clinician)

    with CaptureQueriesContext(connection) as captured:
        response = client.get("/patients/", {"sort": "due"})

    assert not [q for q in captured.captured_queries if q["sql"].startswith(WALK)]
    dues = [patient.next_due for patient in response.context["page"].object_list]
    assert dues == [dt.date(2026, 12, 1 + n) for n in range(3)]
