"""Who may do what: the permission matrix of DESIGN.md, in one table.

Every view names the action it performs; `patients.access` checks it against the user's role in
the patient's clinic. Nothing else decides permissions.
"""

from __future__ import annotations

from enum import StrEnum

from patients.models import Role
from quality.models import FOLLOW_UP_REMINDER_KINDS
from therapy.engine import AlertCode, MonitoringCode


class Action(StrEnum):
    VIEW_DEMOGRAPHICS = "view_demographics"
    VIEW_CLINICAL = "view_clinical"
    EDIT_DEMOGRAPHICS = "edit_demographics"
    #: Phone, e-mail, address, preferred contact and GP: demographics a clinic admin keeps too.
    EDIT_CONTACT_DETAILS = "edit_contact_details"
    EDIT_RISK_FACTORS = "edit_risk_factors"
    RECORD_MEASUREMENT = "record_measurement"  # DXA scans, labs, doses given, fractures
    MANAGE_THERAPY = "manage_therapy"  # start, stop, switch therapy courses; decisions
    RECORD_REASSESSMENT = "record_reassessment"  # the 12-month fracture-risk reassessment
    #: A letter to the patient's GP states the plan and is signed by the clinician who writes it.
    SIGN_LETTER = "sign_letter"
    #: Work the reminder worklist: see reminders, assign, snooze, mark done, dismiss, reopen,
    #: log a contact, undo — on the reminder kinds the role acts on (`REMINDER_KINDS`).
    WORK_REMINDERS = "work_reminders"
    #: The clinic's reminder settings (lead time, e-mail), and every kind of reminder.
    MANAGE_REMINDERS = "manage_reminders"
    MANAGE_STAFF = "manage_staff"
    #: Confirm or refuse a clinical role an admin gave (the two-person rule, issue 11 H1).
    CONFIRM_STAFF = "confirm_staff"
    #: Read the clinic's staff log: invitations, confirmations, role changes, removals.
    VIEW_STAFF_LOG = "view_staff_log"
    #: Read who opened a patient's clinical record (the access log).
    VIEW_ACCESS_LOG = "view_access_log"
    #: The clinic's lab units and DXA scanner list (settings, not a patient's record).
    MANAGE_MEASUREMENT_SETTINGS = "manage_measurement_settings"
    #: A fracture-liaison episode, its falls assessment, exercise and follow-up contacts.
    RECORD_FLS = "record_fls"
    #: The clinic's quality indicators (KPI page, its drill-down and `kpi_report`).
    VIEW_QUALITY = "view_quality"
    #: The de-identified audit CSV of the quality indicators.
    EXPORT_QUALITY_AUDIT = "export_quality_audit"


MATRIX: dict[Role, frozenset[Action]] = {
    Role.CLINICIAN: frozenset(
        {
            Action.VIEW_DEMOGRAPHICS,
            Action.VIEW_CLINICAL,
            Action.EDIT_DEMOGRAPHICS,
            Action.EDIT_CONTACT_DETAILS,
            Action.EDIT_RISK_FACTORS,
            Action.RECORD_MEASUREMENT,
            Action.MANAGE_THERAPY,
            Action.RECORD_REASSESSMENT,
            Action.SIGN_LETTER,
            Action.MANAGE_MEASUREMENT_SETTINGS,
            Action.WORK_REMINDERS,
            Action.CONFIRM_STAFF,
            Action.VIEW_STAFF_LOG,
            Action.VIEW_ACCESS_LOG,
            Action.RECORD_FLS,
            Action.VIEW_QUALITY,
            Action.EXPORT_QUALITY_AUDIT,
        }
    ),
    Role.NURSE: frozenset(
        {
            Action.VIEW_DEMOGRAPHICS,
            Action.VIEW_CLINICAL,
            Action.RECORD_MEASUREMENT,
            Action.WORK_REMINDERS,
            Action.RECORD_FLS,
            Action.VIEW_QUALITY,
        }
    ),
    Role.CLINIC_ADMIN: frozenset(
        {
            Action.VIEW_DEMOGRAPHICS,
            Action.WORK_REMINDERS,
            Action.EDIT_CONTACT_DETAILS,
            Action.MANAGE_REMINDERS,
            Action.MANAGE_STAFF,
            Action.MANAGE_MEASUREMENT_SETTINGS,
            Action.VIEW_STAFF_LOG,
            Action.VIEW_QUALITY,
            Action.EXPORT_QUALITY_AUDIT,
        }
    ),
}


def roles_allowed(action: Action) -> list[str]:
    return [role.value for role, actions in MATRIX.items() if action in actions]


def role_allows(role: str, action: Action) -> bool:
    return action in MATRIX.get(Role(role), frozenset())


def role_needs_confirmation(new: str, *, old: str | None = None) -> bool:
    """Whether giving `new` (to a newcomer, or instead of `old`) waits for a clinician's
    confirmation: it does when it opens clinical records and allows something `old` did not.
    A clinician made a nurse, or anyone made a clinic admin, loses access and needs nobody."""
    if not role_allows(new, Action.VIEW_CLINICAL):
        return False
    return old is None or not MATRIX[Role(new)] <= MATRIX[Role(old)]


#: The reminder kinds (the engine's codes) a nurse acts on: a dose to give (the next injection,
#: or a denosumab dose gone overdue), a DXA scan to book, bone-turnover markers to draw. Every
#: other kind asks for a clinical decision (a reassessment, a follow-on drug, a course to stop),
#: which is the clinician's.
NURSE_REMINDER_KINDS: frozenset[str] = frozenset(
    {
        MonitoringCode.NEXT_DOSE,
        MonitoringCode.DXA_FOLLOW_UP,
        MonitoringCode.BTM_BASELINE,
        MonitoringCode.BTM_3_MONTHS,
        AlertCode.DENOSUMAB_OVERDUE,
        # the fracture-liaison follow-up calls at 16 and 52 weeks
        *FOLLOW_UP_REMINDER_KINDS.values(),
    }
)

#: Which reminders each role works on (None: every kind). Clinicians act on every item; clinic
#: admins manage the whole list (they call patients, book visits and close what was done
#: elsewhere), so they see every kind and may be assigned any reminder too.
REMINDER_KINDS: dict[Role, frozenset[str] | None] = {
    Role.CLINICIAN: None,
    Role.NURSE: NURSE_REMINDER_KINDS,
    Role.CLINIC_ADMIN: None,
}


def role_works_on_reminder(role: str, kind: str) -> bool:
    """Whether the role sees and acts on a reminder of this kind — and so may be assigned it."""
    if not role_allows(role, Action.WORK_REMINDERS):
        return False
    kinds = REMINDER_KINDS.get(Role(role))
    return kinds is None or kind in kinds
