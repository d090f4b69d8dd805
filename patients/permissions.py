"""Who may do what: the permission matrix of DESIGN.md, in one table.

Every view names the action it performs; `patients.access` checks it against the user's role in
the patient's clinic. Nothing else decides permissions.
"""

from __future__ import annotations

from enum import StrEnum

from patients.models import Role


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
    MANAGE_REMINDERS = "manage_reminders"
    MANAGE_STAFF = "manage_staff"
    #: The clinic's lab units and DXA scanner list (settings, not a patient's record).
    MANAGE_MEASUREMENT_SETTINGS = "manage_measurement_settings"


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
        }
    ),
    Role.NURSE: frozenset(
        {Action.VIEW_DEMOGRAPHICS, Action.VIEW_CLINICAL, Action.RECORD_MEASUREMENT}
    ),
    Role.CLINIC_ADMIN: frozenset(
        {
            Action.VIEW_DEMOGRAPHICS,
            Action.EDIT_CONTACT_DETAILS,
            Action.MANAGE_REMINDERS,
            Action.MANAGE_STAFF,
            Action.MANAGE_MEASUREMENT_SETTINGS,
        }
    ),
}


def roles_allowed(action: Action) -> list[str]:
    return [role.value for role, actions in MATRIX.items() if action in actions]


def role_allows(role: str, action: Action) -> bool:
    return action in MATRIX.get(Role(role), frozenset())
