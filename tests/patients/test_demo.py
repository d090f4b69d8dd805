"""The demo clinic's patients: names in two parts, contact details and GP, and two who left."""

from __future__ import annotations

import datetime as dt

from patients.demo import seed_demo
from patients.models import Patient

TODAY = dt.date(2026, 11, 30)


def test_demo_patients_have_names_in_two_parts_contact_details_and_a_gp(db):
    seed_demo(patients=16, password="demo-password-123", today=TODAY)

    patients = list(Patient.objects.filter(clinic__slug="demo"))
    assert len(patients) == 16
    for p in patients:
        p.full_clean()  # the e-mail addresses and phone numbers pass the forms' rules
        assert p.given_name and p.family_name
        assert p.name == f"{p.given_name} {p.family_name}"
        assert p.phone and p.address and p.gp_name and p.gp_practice and p.preferred_contact
    assert len({p.family_name for p in patients}) > 5


def test_the_demo_has_one_deceased_and_one_transferred_patient_audited(db):
    seed_demo(patients=16, password="demo-password-123", today=TODAY)

    left = dict(Patient.objects.exclude(status="active").values_list("status", "status_date"))
    assert left == {
        "deceased": dt.date(2026, 11, 25),
        "transferred": dt.date(2026, 10, 31),
    }
    deceased = Patient.objects.get(status="deceased")
    assert Patient.history.filter(id=deceased.pk, status="deceased").exists()


def test_seeding_again_changes_nobody(db):
    seed_demo(patients=16, password="demo-password-123", today=TODAY)
    before = list(Patient.objects.order_by("mrn").values())

    seed_demo(patients=16, password=None, today=TODAY)

    assert list(Patient.objects.order_by("mrn").values()) == before
