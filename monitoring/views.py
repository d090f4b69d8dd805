from monitoring.forms import DxaScanForm, LabResultForm, ReassessmentForm
from monitoring.models import DxaScan, LabResult, Reassessment
from patients.permissions import Action
from patients.records import RecordKind

DXA_SCAN = RecordKind(
    slug="dxa",
    label="DXA scan",
    model=DxaScan,
    form_class=DxaScanForm,
    action=Action.RECORD_MEASUREMENT,
    anchor="dxa",
)
LAB_RESULT = RecordKind(
    slug="lab",
    label="lab result",
    model=LabResult,
    form_class=LabResultForm,
    action=Action.RECORD_MEASUREMENT,
    anchor="labs",
)
REASSESSMENT = RecordKind(
    slug="reassessment",
    label="fracture-risk reassessment",
    model=Reassessment,
    form_class=ReassessmentForm,
    action=Action.RECORD_REASSESSMENT,
    anchor="reassessments",
)
RECORD_KINDS = [DXA_SCAN, LAB_RESULT, REASSESSMENT]
