"""The one mapping between records and the engine's `Case` (`therapy.case_records`): its
column tables, reading (one patient and a batch) and writing (`patient_import_case`)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from monitoring.models import DxaScan, LabResult, ScanRun
from patients.exceptions import CaseImportError
from patients.models import (
    CardiovascularEvent,
    Fracture,
    GlucocorticoidExposure,
    Immunosuppressant,
    Patient,
    RiskProfile,
)
from patients.selectors import patient_with_records
from tests import factories
from therapy import case_records
from therapy.case_records import (
    case_for_loaded_patient,
    case_for_patient,
    cases_for_patients,
    patient_import_case,
)
from therapy.engine import case as c
from therapy.models import Dose, TherapyCourse

AS_OF = dt.date(2026, 11, 25)


# --- the column tables --------------------------------------------------------------------------

TABLES = [
    pytest.param(case_records.PATIENT_COLUMNS, c.Patient, Patient, (), id="patient"),
    pytest.param(
        case_records.RISK_FACTOR_COLUMNS,
        c.RiskFactors,
        RiskProfile,
        ("cardiovascular_events", "immunosuppressants", "glucocorticoids"),
        id="risk-factors",
    ),
    pytest.param(
        case_records.CARDIOVASCULAR_EVENT_COLUMNS,
        c.CardiovascularEvent,
        CardiovascularEvent,
        (),
        id="cardiovascular-event",
    ),
    pytest.param(
        case_records.GLUCOCORTICOID_COLUMNS,
        c.GlucocorticoidExposure,
        GlucocorticoidExposure,
        (),
        id="glucocorticoid",
    ),
    pytest.param(case_records.FRACTURE_COLUMNS, c.Fracture, Fracture, (), id="fracture"),
    pytest.param(
        case_records.THERAPY_COURSE_COLUMNS,
        c.TherapyCourse,
        TherapyCourse,
        ("doses",),
        id="therapy-course",
    ),
    pytest.param(case_records.DXA_SCAN_COLUMNS, c.DxaScan, DxaScan, ("sites",), id="dxa-scan"),
    pytest.param(case_records.LAB_COLUMNS, c.LabResult, LabResult, (), id="lab"),
]


@pytest.mark.parametrize(("columns", "engine_type", "model", "stored_elsewhere"), TABLES)
def test_each_column_table_names_every_field_of_its_engine_record_in_order_and_real_columns(
    columns, engine_type, model, stored_elsewhere
):
    fields = [f.name for f in dataclasses.fields(engine_type) if f.name not in stored_elsewhere]

    assert list(columns) == fields  # the reader builds engine records positionally
    for column in columns.values():
        model._meta.get_field(column)  # raises FieldDoesNotExist


def test_every_risk_profile_column_is_a_risk_factor_of_the_engine():
    bookkeeping = {"patient", "updated_at"}
    stored = {f.name for f in RiskProfile._meta.concrete_fields if f.name not in bookkeeping}

    assert stored == set(case_records.RISK_FACTOR_COLUMNS.values())


def test_the_dxa_measures_are_the_fields_of_a_site_reading_and_real_columns():
    assert tuple(f.name for f in dataclasses.fields(c.SiteReading)) == case_records.DXA_MEASURES
    assert list(case_records.DXA_READING_COLUMNS) == [
        (site, measure) for site in c.DxaSite for measure in case_records.DXA_MEASURES
    ]
    for column in case_records.DXA_READING_COLUMNS.values():
        DxaScan._meta.get_field(column)


# --- reading --------------------------------------------------------------------------------------


def _varied(clinic) -> Patient:
    """A patient with a row of every kind, some recorded out of order, some text left blank."""
    varied = factories.PatientFactory(clinic=clinic, sex="male", birth_date=dt.date(1951, 2, 3))
    RiskProfile.objects.filter(patient=varied).update(
        has_oral_bisphosphonate_intolerance=True,
        creatinine_clearance_ml_min=28.5,
        is_organ_transplant_recipient=True,
        has_hypocalcemia=True,
        frax_hip_pct=4.2,
        alcohol_drinks_per_day=3,
    )
    CardiovascularEvent.objects.create(patient=varied, kind="stroke", date=dt.date(2025, 4, 1))
    CardiovascularEvent.objects.create(
        patient=varied, kind="myocardial_infarction", date=dt.date(2024, 4, 1)
    )
    Immunosuppressant.objects.create(patient=varied, name="tacrolimus")
    Immunosuppressant.objects.create(patient=varied, name="mycophenolate")
    GlucocorticoidExposure.objects.create(
        patient=varied,
        prednisone_mg_per_day=7.5,
        start=dt.date(2024, 1, 1),
        end=dt.date(2024, 6, 1),
    )
    Fracture.objects.create(
        patient=varied, date=dt.date(2025, 5, 1), site="hip", is_fragility=False
    )
    course = TherapyCourse.objects.create(
        patient=varied,
        drug="romosozumab",
        start=dt.date(2025, 1, 1),
        end=dt.date(2025, 6, 1),
        stop_reason="intolerance",
    )
    for month in (3, 1, 2):  # recorded out of order
        Dose.objects.create(course=course, date=dt.date(2025, month, 1))
    TherapyCourse.objects.create(patient=varied, drug="denosumab", start=dt.date(2025, 6, 2))
    DxaScan.objects.create(
        patient=varied, date=dt.date(2025, 2, 1), total_hip_t_score=-2.9, total_hip_lsc_pct=4.1
    )
    DxaScan.objects.create(
        patient=varied,
        date=dt.date(2024, 2, 1),
        scanner="Hologic Horizon A",
        femoral_neck_bmd_g_cm2=0.61,
        lumbar_spine_bmd_g_cm2=0.79,
        lumbar_spine_t_score=-2.7,
    )
    LabResult.objects.create(patient=varied, date=dt.date(2025, 3, 1), test="p1np", value=41)
    LabResult.objects.create(
        patient=varied, date=dt.date(2025, 3, 1), test="ctx", value=0.3, unit="ng/mL"
    )
    return varied


def test_a_patient_with_every_kind_of_record_reads_as_the_case_written_by_hand(clinic):
    varied = _varied(clinic)

    assert case_for_patient(varied.pk, as_of=AS_OF) == c.Case(
        as_of=AS_OF,
        patient=c.Patient(
            sex=c.Sex.MALE, birth_date=dt.date(1951, 2, 3), name=varied.name, mrn=varied.mrn
        ),
        risk_factors=c.RiskFactors(
            oral_bisphosphonate_intolerance=True,
            creatinine_clearance_ml_min=28.5,
            cardiovascular_events=(
                c.CardiovascularEvent(
                    c.CardiovascularEventKind.MYOCARDIAL_INFARCTION, dt.date(2024, 4, 1)
                ),
                c.CardiovascularEvent(c.CardiovascularEventKind.STROKE, dt.date(2025, 4, 1)),
            ),
            immunosuppressants=("mycophenolate", "tacrolimus"),
            organ_transplant=True,
            glucocorticoids=(
                c.GlucocorticoidExposure(7.5, dt.date(2024, 1, 1), dt.date(2024, 6, 1)),
            ),
            hypocalcemia=True,
            frax_hip_pct=4.2,
            alcohol_drinks_per_day=3,
        ),
        fractures=(c.Fracture(dt.date(2025, 5, 1), c.FractureSite.HIP, fragility=False),),
        therapies=(
            c.TherapyCourse(
                c.Drug.ROMOSOZUMAB,
                start=dt.date(2025, 1, 1),
                end=dt.date(2025, 6, 1),
                stop_reason=c.StopReason.INTOLERANCE,
                doses=(dt.date(2025, 1, 1), dt.date(2025, 2, 1), dt.date(2025, 3, 1)),
            ),
            c.TherapyCourse(c.Drug.DENOSUMAB, start=dt.date(2025, 6, 2)),
        ),
        dxa=(
            c.DxaScan(
                dt.date(2024, 2, 1),
                sites=(
                    (c.DxaSite.LUMBAR_SPINE, c.SiteReading(bmd_g_cm2=0.79, t_score=-2.7)),
                    (c.DxaSite.FEMORAL_NECK, c.SiteReading(bmd_g_cm2=0.61)),
                ),
                scanner="Hologic Horizon A",
            ),
            c.DxaScan(
                dt.date(2025, 2, 1),
                sites=((c.DxaSite.TOTAL_HIP, c.SiteReading(t_score=-2.9, lsc_pct=4.1)),),
            ),
        ),
        labs=(
            c.LabResult(dt.date(2025, 3, 1), c.LabTest.CTX, 0.3, unit="ng/mL"),
            c.LabResult(dt.date(2025, 3, 1), c.LabTest.P1NP, 41),
        ),
    )


def _without_risk_profile(clinic) -> Patient:
    """A patient saved without the risk profile row that `patient_create` adds."""
    return Patient.objects.create(
        clinic=clinic,
        mrn="NO-PROFILE",
        name="No Profile",
        birth_date=dt.date(1940, 1, 1),
        sex="female",
    )


def test_a_patient_without_a_risk_profile_row_reads_with_every_default(clinic):
    bare = _without_risk_profile(clinic)

    assert case_for_patient(bare.pk, as_of=AS_OF).risk_factors == c.RiskFactors()


def test_reading_an_unknown_patient_raises_does_not_exist(db):
    with pytest.raises(Patient.DoesNotExist):
        case_for_patient(999_999, as_of=AS_OF)


def _every_kind_of_history(clinic) -> None:
    """A long history, one with a row of every kind, one without a risk profile, one bare."""
    factories.add_long_history(
        factories.PatientFactory(clinic=clinic), years=12, start=dt.date(2012, 3, 5)
    )
    _varied(clinic)
    _without_risk_profile(clinic)
    factories.PatientFactory(clinic=clinic)


def test_a_batch_reads_the_same_cases_as_reading_each_patient_alone(clinic, other_clinic):
    _every_kind_of_history(clinic)
    _every_kind_of_history(other_clinic)
    alone = {
        pk: (clinic_id, case_for_patient(pk, as_of=AS_OF))
        for pk, clinic_id in Patient.objects.values_list("pk", "clinic_id")
    }
    ids = sorted(alone)

    batch = cases_for_patients(ids, as_of=AS_OF)  # consecutive: read as a range

    assert [pk for pk, _, _ in batch] == ids
    assert {pk: (clinic_id, case) for pk, clinic_id, case in batch} == alone
    some = [ids[-1], ids[0]]  # far apart: read by id, not as a range
    assert cases_for_patients(some, as_of=AS_OF) == [(pk, *alone[pk]) for pk in sorted(some)]


@pytest.mark.django_db
def test_a_query_compiled_once_reads_each_later_set_of_patients_of_its_shape(clinic):
    """The reader compiles each query once per shape (a range, or a list of n ids) and runs it
    again with the new ids: every set of patients still reads as each patient alone does."""
    patients = [factories.PatientFactory(clinic=clinic) for _ in range(8)]
    for years, patient in enumerate(patients, start=1):
        factories.add_long_history(patient, years=years)
    alone = {p.pk: case_for_patient(p.pk, as_of=AS_OF) for p in patients}
    ids = sorted(alone)
    case_records._COMPILED.clear()

    for some in ([ids[0], ids[5]], [ids[1], ids[7]], ids[:3], ids[4:7], ids):  # list, range
        read = cases_for_patients(some, as_of=AS_OF)
        assert {pk: case for pk, _, case in read} == {pk: alone[pk] for pk in some}
    assert {shape for _, _, shape in case_records._COMPILED} <= {2, "range"}

    # A long list of ids (rare: a scan batch is a range) is compiled each time, not kept, so
    # the kept statements stay few however many lengths a long-lived worker meets.
    many = list(range(ids[-1] + 1000, ids[-1] + 1000 + 3 * case_records._KEPT_LIST_LENGTH, 3))
    assert cases_for_patients([ids[0], *many], as_of=AS_OF) == [(ids[0], clinic.pk, alone[ids[0]])]
    assert {shape for _, _, shape in case_records._COMPILED} <= {2, "range"}


def test_the_patient_pages_loaded_records_read_as_the_same_case_with_no_query(
    clinic, django_assert_num_queries
):
    """The patient page builds the case from the records it loaded for its lists
    (`case_for_loaded_patient`): the very case the reader gives, whatever the history."""
    _every_kind_of_history(clinic)
    approximate = factories.PatientFactory(clinic=clinic)
    Fracture.objects.create(
        patient=approximate, date=dt.date(2016, 1, 1), date_precision="year", site="vertebral"
    )
    Fracture.objects.create(
        patient=approximate, date=dt.date(2016, 12, 1), date_precision="month", site="vertebral"
    )
    course = TherapyCourse.objects.create(
        patient=approximate,
        drug="denosumab",
        start=dt.date(2017, 1, 1),
        start_precision="year",
        end=dt.date(2019, 6, 1),
        end_precision="month",
    )
    for month in (9, 3):
        Dose.objects.create(course=course, date=dt.date(2019, month, 1))
    patients = list(Patient.objects.order_by("pk").values_list("pk", flat=True))
    assert len(patients) == 5

    for pk in patients:
        loaded = patient_with_records(pk=pk)
        with django_assert_num_queries(0):
            case = case_for_loaded_patient(loaded, as_of=AS_OF)
        assert case == case_for_patient(pk, as_of=AS_OF)


@pytest.mark.parametrize("years", [2, 20])
def test_reading_one_patient_costs_eleven_queries_however_long_the_history(
    years, patient, django_assert_num_queries
):
    factories.add_long_history(patient, years=years)

    with django_assert_num_queries(11):
        case = case_for_patient(patient.pk, as_of=AS_OF)

    assert len(case.dxa) == years


def _read_plainly(queryset):
    """A queryset's rows as the reader takes them: its SQL on a plain cursor, or Django's
    rows when a column needs converting."""
    plain = case_records._plain_sql(queryset)
    return list(queryset) if plain is None else case_records._fetch(queryset.db, *plain)


@pytest.mark.django_db
def test_rows_are_read_with_the_types_django_gives_them_on_every_database(clinic):
    """The reader skips Django's row iteration (`_plain_sql`) only where no column needs
    converting; where one does (a JSON column, on every database), the rows still come back
    converted."""
    patient_import_case(clinic=clinic, case=_full_case())
    ScanRun.objects.create(as_of=AS_OF, failed_batches=[{"batch": 1}])
    querysets = [
        ScanRun.objects.values_list("as_of", "failed_batches"),
        DxaScan.objects.order_by("date").values_list("date", "scanner", "lumbar_spine_bmd_g_cm2"),
        RiskProfile.objects.values_list(*case_records.RISK_FACTOR_COLUMNS.values()),
        Patient.objects.values_list("pk", "birth_date", "sex"),
    ]
    for queryset in querysets:
        fast = _read_plainly(queryset)
        assert fast == list(queryset)
        assert [[type(value) for value in row] for row in fast] == [
            [type(value) for value in row] for row in queryset
        ]
    assert case_records._plain_sql(querysets[0]) is None
    assert _read_plainly(querysets[0]) == [(AS_OF, [{"batch": 1}])]


# --- writing, and back ------------------------------------------------------------------------


def _full_case() -> c.Case:
    """Every field of a case set, in the order the reader gives them back."""
    return c.Case(
        as_of=AS_OF,
        patient=c.Patient(
            sex=c.Sex.FEMALE, birth_date=dt.date(1950, 6, 1), name="Ada Every", mrn="EV-1"
        ),
        risk_factors=c.RiskFactors(
            oral_bisphosphonate_intolerance=True,
            oral_bisphosphonate_contraindication=True,
            creatinine_clearance_ml_min=44.0,
            cardiovascular_events=(
                c.CardiovascularEvent(c.CardiovascularEventKind.STROKE, dt.date(2020, 2, 2)),
            ),
            immunosuppressants=("ciclosporin",),
            organ_transplant=True,
            glucocorticoids=(
                c.GlucocorticoidExposure(10.0, dt.date(2019, 1, 1), dt.date(2019, 9, 1)),
                c.GlucocorticoidExposure(5.0, dt.date(2024, 1, 1)),
            ),
            cancer_treatment_bone_loss=True,
            skeletal_radiation=True,
            bone_metastases=True,
            pagets_disease=True,
            unexplained_elevated_alp=True,
            open_epiphyses=True,
            hypercalcemia=True,
            hypocalcemia=True,
            high_fall_risk=True,
            frax_major_osteoporotic_pct=31.0,
            frax_hip_pct=6.5,
            current_smoker=True,
            alcohol_drinks_per_day=2.5,
        ),
        fractures=(
            c.Fracture(dt.date(2018, 3, 3), c.FractureSite.VERTEBRAL),
            c.Fracture(dt.date(2021, 7, 7), c.FractureSite.WRIST, fragility=False),
        ),
        therapies=(
            c.TherapyCourse(
                c.Drug.ALENDRONATE,
                start=dt.date(2018, 4, 1),
                end=dt.date(2021, 4, 1),
                stop_reason=c.StopReason.FAILURE,
            ),
            c.TherapyCourse(
                c.Drug.DENOSUMAB,
                start=dt.date(2021, 5, 1),
                doses=(dt.date(2021, 5, 1), dt.date(2021, 11, 1)),
            ),
        ),
        dxa=(
            c.DxaScan(
                dt.date(2019, 5, 5),
                sites=(
                    (c.DxaSite.LUMBAR_SPINE, c.SiteReading(0.78, -2.9, 2.5)),
                    (c.DxaSite.FEMORAL_NECK, c.SiteReading(0.6, -2.6)),
                    (c.DxaSite.TOTAL_HIP, c.SiteReading(t_score=-2.2)),
                ),
                scanner="Lunar iDXA",
            ),
            c.DxaScan(
                dt.date(2022, 5, 5), sites=((c.DxaSite.TOTAL_HIP, c.SiteReading(0.7, -2.0)),)
            ),
        ),
        labs=(
            c.LabResult(dt.date(2021, 8, 1), c.LabTest.CTX, 0.21, unit="ng/mL"),
            c.LabResult(dt.date(2021, 8, 1), c.LabTest.VITAMIN_D_25OH, 28.0),
        ),
        reassessments=(dt.date(2022, 5, 6), dt.date(2023, 5, 6)),
    )


def test_a_case_with_every_field_written_then_read_back_is_the_same_case(clinic):
    case = _full_case()

    patient = patient_import_case(clinic=clinic, case=case)

    assert case_for_patient(patient.pk, as_of=AS_OF) == case


def test_a_dxa_scanner_round_trips_and_an_unknown_one_is_stored_blank(clinic):
    patient = patient_import_case(clinic=clinic, case=_full_case())

    stored = list(DxaScan.objects.filter(patient=patient).values_list("scanner", flat=True))
    read = [scan.scanner for scan in case_for_patient(patient.pk, as_of=AS_OF).dxa]

    assert stored == ["Lunar iDXA", ""]
    assert read == ["Lunar iDXA", None]


def test_an_import_with_problems_writes_nothing_and_names_each_json_path(clinic):
    case = _full_case()
    bad = dataclasses.replace(
        case,
        fractures=(*case.fractures, case.fractures[0]),  # the same fracture twice
        labs=(dataclasses.replace(case.labs[0], value=-1.0),),
    )

    with pytest.raises(CaseImportError) as error:
        patient_import_case(clinic=clinic, case=bad)

    paths = {problem.path for problem in error.value.problems}
    assert {"fractures[2].date", "labs[0].value"} <= paths
    assert not Patient.objects.exists()
    assert not DxaScan.objects.exists()
