from patients.permissions import Action
from patients.records import RecordKind
from therapy.forms import DoseForm, TherapyCourseForm
from therapy.models import Dose, TherapyCourse

THERAPY_COURSE = RecordKind(
    slug="course",
    label="therapy course",
    model=TherapyCourse,
    form_class=TherapyCourseForm,
    action=Action.MANAGE_THERAPY,
    anchor="therapy",
)
DOSE = RecordKind(
    slug="dose",
    label="dose",
    model=Dose,
    form_class=DoseForm,
    action=Action.RECORD_MEASUREMENT,
    patient_path="course__patient",
    form_kwargs=lambda access: {"access": access},
    anchor="therapy",
)
RECORD_KINDS = [THERAPY_COURSE, DOSE]
