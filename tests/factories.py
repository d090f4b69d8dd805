"""factory_boy builders for users, patients and long histories."""

from __future__ import annotations

import datetime as dt

import factory
from django.contrib.auth import get_user_model

from monitoring.models import DxaScan, LabResult, Reassessment
from patients.models import Fracture, Patient, RiskProfile
from therapy.models import Dose, TherapyCourse


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"User{n}")
    password = factory.django.Password("correct-horse-battery-9")


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient
        skip_postgeneration_save = True

    mrn = factory.Sequence(lambda n: f"MRN{n:06d}")
    name = factory.Sequence(lambda n: f"Patient Number{n}")
    birth_date = dt.date(1948, 4, 2)
    sex = "female"
    risk_profile = factory.RelatedFactory(
        "tests.factories.RiskProfileFactory", factory_related_name="patient"
    )


class RiskProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RiskProfile


def add_long_history(
    patient: Patient, *, years: int = 20, start: dt.date = dt.date(2000, 1, 10)
) -> None:
    """A long, realistic-shaped history: yearly DXA, labs every 6 months, a course per 2 years
    with doses every 6 months, a fracture every 5 years, yearly reassessments."""
    for year in range(years):
        day = start.replace(year=start.year + year)
        DxaScan.objects.create(
            patient=patient,
            date=day,
            lumbar_spine_bmd_g_cm2=0.80 - year * 0.002,
            lumbar_spine_t_score=-2.8,
            total_hip_bmd_g_cm2=0.70,
            total_hip_t_score=-2.3,
        )
        LabResult.objects.create(patient=patient, date=day, test="ctx", value=0.4, unit="ng/mL")
        LabResult.objects.create(
            patient=patient, date=day + dt.timedelta(days=180), test="p1np", value=40, unit="µg/L"
        )
        Reassessment.objects.create(patient=patient, date=day + dt.timedelta(days=10))
        if year % 5 == 0:
            Fracture.objects.create(patient=patient, date=day + dt.timedelta(days=20), site="wrist")
        if year % 2 == 0:
            course = TherapyCourse.objects.create(
                patient=patient,
                drug="denosumab" if year % 4 == 0 else "zoledronic_acid",
                start=day,
                end=day + dt.timedelta(days=700),
            )
            for k in range(4):
                Dose.objects.create(course=course, date=day + dt.timedelta(days=k * 175))
