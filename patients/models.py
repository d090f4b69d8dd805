"""Clinics, who works in them with which role, patients and their risk factors."""

from __future__ import annotations

import datetime as dt
import secrets

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Min, Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from patients import approximate_dates, limits
from patients.approximate_dates import DatePrecision
from patients.limits import RangeValidator, date_in_range, not_blank
from patients.validators import (
    check_end_not_before_start,
    check_not_before_birth,
    check_unique_beside_field,
    not_in_future,
)
from therapy.engine.case import CardiovascularEventKind, FractureSite, Sex


def _choices(enum: type) -> list[tuple[str, str]]:
    """Django choices from an engine enum, so the database speaks the engine's codes."""
    return [(member.value, member.value.replace("_", " ").capitalize()) for member in enum]


def _new_audit_key() -> str:
    return secrets.token_hex(32)


class Role(models.TextChoices):
    CLINICIAN = "clinician", "Clinician"
    NURSE = "nurse", "Nurse"
    CLINIC_ADMIN = "clinic_admin", "Clinic admin"


class Clinic(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=50, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    #: The reminder scan creates reminders for items due within this many days (issue: monitoring).
    reminder_lead_days = models.PositiveSmallIntegerField(
        "reminder lead time (days)",
        default=30,
        validators=[MaxValueValidator(365)],
        help_text="Reminders are created this many days before an item falls due.",
    )
    #: Extra addresses told of critical reminders, besides the assignee or the clinicians.
    notification_emails = models.TextField(
        "notification recipients",
        blank=True,
        default="",
        help_text="Comma-separated e-mail addresses that also receive critical reminders.",
    )
    #: The letterhead of letters to GPs (patients.letter_views): where replies go.
    address = limits.note_field(
        "postal address",
        help_text="As printed under the clinic's name on letters, one line per line.",
    )
    phone = models.CharField("telephone", max_length=40, blank=True, default="")
    #: "Mark done" without a record of the action holds this many days while the scan still
    #: finds the item due; then the reminder returns to the open list (issue 10).
    done_hold_days = models.PositiveSmallIntegerField(
        "days a reminder marked done stays done",
        default=14,
        validators=[MaxValueValidator(365)],
        help_text="A reminder marked done without a recorded dose, scan, lab or reassessment "
        "returns to the open list after this many days if the item is still due.",
    )
    #: Besides the daily digest, e-mail each new critical reminder at the end of the scan that
    #: found it (at most one message per recipient per scan).
    immediate_critical_email = models.BooleanField(
        "e-mail new critical reminders at once",
        default=False,
        help_text="Off: critical reminders reach people in the daily digest only.",
    )
    #: How many patients with a fragility fracture the clinic expects to see in a year (IOF KPI
    #: 1 and FLS-DB KPI 2 compare the patients identified with it); empty until set.
    expected_yearly_caseload = models.PositiveIntegerField(
        "expected fragility fractures per year",
        null=True,
        blank=True,
        validators=[MaxValueValidator(1_000_000)],
        help_text="The identification indicators compare the patients found with this number.",
    )
    #: The key of the audit export's pseudonyms (`quality.audit_export`): a keyed hash of the
    #: MRN, stable within the clinic, meaningless without this key. Random per clinic, never
    #: shown, kept out of the history table.
    audit_key = models.CharField(max_length=64, default=_new_audit_key, editable=False)

    #: Settings and recipients are audited (issue 11, M7/M8): who changed what, when.
    history = HistoricalRecords(excluded_fields=["audit_key"])

    class Meta:
        ordering = ["name"]
        constraints = [limits.text_length_check("address", name="clinic_address_length")]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "clinic"],
                name="membership_one_role_per_clinic",
                violation_error_message="This user already has a role in this clinic.",
            ),
            models.CheckConstraint(condition=Q(role__in=Role.values), name="membership_role_known"),
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} at {self.clinic}"


class PatientStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    DECEASED = "deceased", "Deceased"
    TRANSFERRED = "transferred", "Transferred to another service"
    DISCHARGED = "discharged", "Discharged"


#: Why a reminder closes when its patient is no longer active: the status service closes them at
#: once, the scan closes any left over (a status changed by a script or the admin).
INACTIVE_CLOSE_REASONS: dict[str, str] = {
    PatientStatus.DECEASED: "patient deceased",
    PatientStatus.TRANSFERRED: "patient transferred",
    PatientStatus.DISCHARGED: "patient discharged",
}


class PreferredContact(models.TextChoices):
    PHONE = "phone", "Telephone"
    LETTER = "letter", "Letter"
    EMAIL = "email", "E-mail"


class Patient(models.Model):
    """A patient of one clinic.

    `name` is the name as people read it ("Given Family"), kept by `save` from `given_name` and
    `family_name`, which are stored apart so lists sort by family name. A record saved with only
    `name` (an older import, a script) has it split once: the last word is the family name.
    """

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="patients")
    mrn = models.CharField("medical record number", max_length=32, validators=[not_blank])
    given_name = models.CharField("given names", max_length=100, blank=True, default="")
    family_name = models.CharField("family name", max_length=100, blank=True, default="")
    name = models.CharField(max_length=200, validators=[not_blank])
    birth_date = models.DateField(validators=[date_in_range, not_in_future])
    sex = models.CharField(max_length=10, choices=_choices(Sex))
    #: Only active patients get reminders; the others are hidden from lists by default.
    status = models.CharField(
        max_length=12, choices=PatientStatus.choices, default=PatientStatus.ACTIVE
    )
    #: The date of death, or the day the patient was transferred or discharged.
    status_date = models.DateField(
        "date", null=True, blank=True, validators=[date_in_range, not_in_future]
    )
    status_note = limits.note_field("status note")
    phone = models.CharField("telephone", max_length=40, blank=True, default="")
    email = models.EmailField("e-mail", blank=True, default="")
    address = limits.note_field("postal address")
    preferred_contact = models.CharField(
        "preferred contact", max_length=10, choices=PreferredContact.choices, blank=True, default=""
    )
    gp_name = models.CharField("GP's name", max_length=200, blank=True, default="")
    gp_practice = models.CharField("GP practice", max_length=300, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["family_name", "given_name", "pk"]
        constraints = [
            limits.text_length_check("status_note", name="patient_status_note_length"),
            limits.text_length_check("address", name="patient_address_length"),
            models.UniqueConstraint(
                fields=["clinic", "mrn"],
                name="patient_mrn_unique_in_clinic",
                violation_error_message="A patient with this MRN already exists in this clinic.",
            ),
            models.CheckConstraint(
                condition=Q(sex__in=[s.value for s in Sex]), name="patient_sex_known"
            ),
            limits.date_range_check("birth_date", name="patient_birth_date_range"),
            limits.not_blank_check("name", name="patient_name_not_blank"),
            limits.not_blank_check("mrn", name="patient_mrn_not_blank"),
            models.CheckConstraint(
                condition=Q(status__in=PatientStatus.values), name="patient_status_known"
            ),
            models.CheckConstraint(
                condition=~Q(status="deceased") | Q(status_date__isnull=False),
                name="patient_deceased_has_date",
                violation_error_message="Give the date of death.",
            ),
        ]
        indexes = [
            models.Index(fields=["clinic", "name"]),
            models.Index(fields=["clinic", "family_name", "given_name"]),
            models.Index(fields=["clinic", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.mrn})"

    def save(self, *args: object, **kwargs: object) -> None:
        self.sync_name()
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def clean_fields(self, exclude: object = None) -> None:
        self.sync_name()
        super().clean_fields(exclude=exclude)  # type: ignore[arg-type]

    def clean(self) -> None:
        super().clean()
        check_unique_beside_field(self)
        if not self.family_name:
            raise ValidationError({"family_name": "Give the family name."})
        if self.status != PatientStatus.ACTIVE and self.status_date is None:
            raise ValidationError({"status_date": "Give the date."})
        if self.status == PatientStatus.ACTIVE and self.status_date is not None:
            raise ValidationError({"status_date": "An active patient has no such date."})
        if self.pk and self.birth_date:
            earliest = self.earliest_clinical_date()
            if earliest and earliest < self.birth_date:
                raise ValidationError(
                    {
                        "birth_date": "The record holds an event dated "
                        f"{earliest.isoformat()}, before this birth date."
                    }
                )

    @property
    def is_active(self) -> bool:
        return self.status == PatientStatus.ACTIVE

    def sync_name(self) -> None:
        """Keep `name` ("Given Family") and the two parts in step; split a bare `name` once."""
        given, family = self.given_name.strip(), self.family_name.strip()
        if not family and self.name.strip():
            given, _, family = self.name.strip().rpartition(" ")
        self.given_name, self.family_name = given, family
        self.name = f"{given} {family}".strip()

    @property
    def first_visit(self) -> dt.date:
        """The patient's first day at the clinic: the day the record was created here (today
        for a record not saved yet). History from before it may carry approximate dates
        (`patients.approximate_dates`)."""
        return timezone.localdate(self.created_at) if self.created_at else timezone.localdate()

    def earliest_clinical_date(self) -> dt.date | None:
        """The first date of anything recorded about the patient (one query per record type)."""
        dates = [
            model.objects.filter(patient_id=self.pk).aggregate(first=Min(field))["first"]
            for model, field in _dated_records()
        ]
        return min((d for d in dates if d is not None), default=None)


class PatientRecord(models.Model):
    """Base of every record that belongs to one patient (subclasses declare `patient`)."""

    patient_id: int

    created_at = models.DateTimeField(auto_now_add=True)

    #: the field whose date must not precede the patient's birth (None: no such field)
    dated_field: str | None = "date"

    class Meta:
        abstract = True

    def clean(self) -> None:
        super().clean()
        check_unique_beside_field(self)
        if self.dated_field and self.patient_id:
            check_not_before_birth(
                getattr(self, self.dated_field),
                self.patient.birth_date,
                self.dated_field,
            )


class RiskProfile(models.Model):
    """The patient's risk factors that are a yes/no or one current number (CASE_FORMAT)."""

    patient = models.OneToOneField(
        Patient, on_delete=models.CASCADE, primary_key=True, related_name="risk_profile"
    )
    has_oral_bisphosphonate_intolerance = models.BooleanField(
        "oral bisphosphonate intolerance (GI side effects)", default=False
    )
    has_oral_bisphosphonate_contraindication = models.BooleanField(
        "oral bisphosphonate contraindication (oesophageal disease, cannot stay upright)",
        default=False,
    )
    creatinine_clearance_ml_min = models.FloatField(
        "creatinine clearance (mL/min)",
        null=True,
        blank=True,
        validators=[
            RangeValidator("Creatinine clearance", limits.CREATININE_CLEARANCE_ML_MIN, "mL/min")
        ],
    )
    is_organ_transplant_recipient = models.BooleanField("organ transplant recipient", default=False)
    has_cancer_treatment_bone_loss = models.BooleanField(
        "cancer-treatment bone loss (aromatase inhibitor, androgen deprivation…)",
        default=False,
    )
    had_skeletal_radiation = models.BooleanField("skeletal radiation", default=False)
    has_bone_metastases = models.BooleanField(
        "bone metastases or skeletal malignancy", default=False
    )
    has_pagets_disease = models.BooleanField("Paget's disease of bone", default=False)
    has_unexplained_elevated_alp = models.BooleanField(
        "unexplained elevated alkaline phosphatase", default=False
    )
    has_open_epiphyses = models.BooleanField("open epiphyses", default=False)
    has_hypercalcemia = models.BooleanField("hypercalcaemia", default=False)
    has_hypocalcemia = models.BooleanField("hypocalcaemia", default=False)
    has_high_fall_risk = models.BooleanField("high fall risk", default=False)
    frax_major_osteoporotic_pct = models.FloatField(
        "FRAX major osteoporotic fracture (%)",
        null=True,
        blank=True,
        validators=[RangeValidator("FRAX", limits.FRAX_PCT, "%")],
    )
    frax_hip_pct = models.FloatField(
        "FRAX hip fracture (%)",
        null=True,
        blank=True,
        validators=[RangeValidator("FRAX", limits.FRAX_PCT, "%")],
    )
    is_current_smoker = models.BooleanField("current smoker", default=False)
    alcohol_drinks_per_day = models.FloatField(
        "alcohol (drinks per day)",
        default=0,
        validators=[RangeValidator("Alcohol", limits.ALCOHOL_DRINKS_PER_DAY, "drinks per day")],
    )
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        constraints = [
            limits.number_range_check(
                "creatinine_clearance_ml_min",
                limits.CREATININE_CLEARANCE_ML_MIN,
                name="risk_crcl_range",
                nullable=True,
            ),
            limits.number_range_check(
                "frax_major_osteoporotic_pct",
                limits.FRAX_PCT,
                name="risk_frax_major_pct",
                nullable=True,
            ),
            limits.number_range_check(
                "frax_hip_pct", limits.FRAX_PCT, name="risk_frax_hip_pct", nullable=True
            ),
            limits.number_range_check(
                "alcohol_drinks_per_day", limits.ALCOHOL_DRINKS_PER_DAY, name="risk_alcohol_range"
            ),
        ]

    def __str__(self) -> str:
        return f"Risk factors of {self.patient}"


class CardiovascularEvent(PatientRecord):
    patient = models.ForeignKey(
        Patient, on_delete=models.CASCADE, related_name="cardiovascular_events"
    )
    kind = models.CharField(max_length=30, choices=_choices(CardiovascularEventKind))
    date = models.DateField(validators=[date_in_range, not_in_future])
    history = HistoricalRecords()

    class Meta:
        ordering = ["date", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "kind", "date"],
                name="cv_event_unique",
                violation_error_message="This event is already recorded on this date.",
            ),
            limits.choices_check(
                "kind", [k.value for k in CardiovascularEventKind], name="cv_event_kind_known"
            ),
            limits.date_range_check("date", name="cv_event_date_range"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.date:%Y-%m-%d}"


class Immunosuppressant(PatientRecord):
    """An immunosuppressive agent the patient currently takes (POP-2 counts them)."""

    patient = models.ForeignKey(
        Patient, on_delete=models.CASCADE, related_name="immunosuppressants"
    )
    name = models.CharField(
        "agent", max_length=100, validators=[not_blank], help_text="For example tacrolimus."
    )
    history = HistoricalRecords()
    dated_field = None

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "name"],
                name="immunosuppressant_unique",
                violation_error_message="This agent is already recorded.",
            ),
            limits.not_blank_check("name", name="immunosuppressant_name_not_blank"),
        ]

    def __str__(self) -> str:
        return self.name


class GlucocorticoidExposure(PatientRecord):
    patient = models.ForeignKey(
        Patient, on_delete=models.CASCADE, related_name="glucocorticoid_exposures"
    )
    prednisone_mg_per_day = models.FloatField(
        "dose (mg/day prednisone equivalent)",
        validators=[RangeValidator("Dose", limits.PREDNISONE_MG_PER_DAY, "mg/day")],
    )
    start = models.DateField(validators=[date_in_range, not_in_future])
    end = models.DateField(
        null=True, blank=True, validators=[date_in_range], help_text="Leave empty while ongoing."
    )
    history = HistoricalRecords()
    dated_field = "start"

    class Meta:
        ordering = ["start", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__isnull=True) | Q(end__gte=models.F("start")),
                name="glucocorticoid_end_after_start",
            ),
            limits.number_range_check(
                "prednisone_mg_per_day",
                limits.PREDNISONE_MG_PER_DAY,
                name="glucocorticoid_dose_range",
            ),
            limits.date_range_check("start", name="glucocorticoid_start_range"),
            limits.date_range_check("end", name="glucocorticoid_end_range", nullable=True),
        ]

    def __str__(self) -> str:
        return f"{self.prednisone_mg_per_day:g} mg/day from {self.start:%Y-%m-%d}"

    def clean(self) -> None:
        super().clean()
        check_end_not_before_start(self.start, self.end)


class Fracture(PatientRecord):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="fractures")
    #: The first day of the period when the date is known only to the month or the year.
    date = models.DateField(validators=[date_in_range, not_in_future])
    date_precision = models.CharField(
        "date known to the",
        max_length=5,
        choices=DatePrecision.choices,
        default=DatePrecision.DAY,
    )
    site = models.CharField(max_length=20, choices=_choices(FractureSite))
    is_fragility = models.BooleanField(
        "fragility fracture",
        default=True,
        help_text="A fall from standing height or less.",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["date", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "date", "site"],
                name="fracture_unique",
                violation_error_message=(
                    "A fracture at this site on this date is already recorded; edit it instead."
                ),
            ),
            limits.choices_check(
                "site", [s.value for s in FractureSite], name="fracture_site_known"
            ),
            limits.date_range_check("date", name="fracture_date_range"),
            limits.choices_check(
                "date_precision", DatePrecision.values, name="fracture_date_precision_known"
            ),
        ]

    def __str__(self) -> str:
        if self.date_precision == DatePrecision.DAY:
            return f"{self.get_site_display()} fracture on {self.date:%Y-%m-%d}"
        return f"{self.get_site_display()} fracture, {self.date_shown}"

    @property
    def date_shown(self) -> str:
        """The date as people read it: "2017-05-14", or "≈ 2016" when known to the year."""
        return approximate_dates.shown(self.date, self.date_precision)

    def clean(self) -> None:
        super().clean()
        if self.date and self.patient_id:
            approximate_dates.check_approximate(
                self.date,
                self.date_precision,
                field="date",
                first_visit=self.patient.first_visit,
            )


def _dated_records() -> list[tuple[type[PatientRecord], str]]:
    """Every record type that belongs to a patient, with its date field."""
    return [
        (model, model.dated_field)
        for model in apps.get_models()
        if issubclass(model, PatientRecord) and model.dated_field
    ]


class StaffAction(models.Model):
    """What was done to a colleague's account or membership (invitation, acceptance, a
    clinical role asked for, confirmed or refused, role change, removal, unlock, password-reset
    link, deactivate, reactivate), with who and when: the clinic's staff log. `actor` is empty
    for a command run on the server (`create_first_clinician`)."""

    class Kind(models.TextChoices):
        UNLOCK = "unlock", "Unlocked after failed logins"
        PASSWORD_RESET = "password_reset", "Sent a password-reset link"
        DEACTIVATE = "deactivate", "Deactivated"
        REACTIVATE = "reactivate", "Reactivated"
        ROLE_CHANGE = "role_change", "Changed role"
        INVITE = "invite", "Invited"
        ACCEPT = "accept", "Accepted the invitation"
        ROLE_REQUEST = "role_request", "Asked for a clinical role"
        CONFIRM = "confirm", "Confirmed a clinical role"
        REFUSE = "refuse", "Refused a clinical role"
        REMOVE = "remove", "Removed from the clinic"

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="staff_actions")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    #: Empty for an invitation not accepted yet (its address is in `detail`).
    target = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="staff_actions",
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    detail = models.CharField(max_length=200, blank=True, default="")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    kind__in=[
                        "unlock",
                        "password_reset",
                        "deactivate",
                        "reactivate",
                        "role_change",
                        "invite",
                        "accept",
                        "role_request",
                        "confirm",
                        "refuse",
                        "remove",
                    ]
                ),
                name="staff_action_kind_known",
            )
        ]

    def __str__(self) -> str:
        return (
            f"{self.get_kind_display()}: {self.target} by {self.actor} at {self.at:%Y-%m-%d %H:%M}"
        )


class Invitation(models.Model):
    """An admin's invitation to join a clinic with a role. The e-mailed link carries a random
    token; only its SHA-256 is stored, so the table never holds a usable link. It works once,
    until `expires_at`."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField("e-mail")
    first_name = models.CharField("given names", max_length=150, blank=True, default="")
    last_name = models.CharField("family name", max_length=150, blank=True, default="")
    role = models.CharField(max_length=20, choices=Role.choices)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="invitations_accepted",
    )
    history = HistoricalRecords(excluded_fields=["token_hash"])

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(role__in=Role.values), name="invitation_role_known"),
        ]

    def __str__(self) -> str:
        return f"{self.email} as {self.get_role_display()} at {self.clinic}"


class RoleConfirmation(models.Model):
    """A clinical role (clinician or nurse) waiting for a clinician of the clinic to confirm it
    (the two-person rule, issue 11 H1). Until it is confirmed the role grants nothing: a new
    member has no `Membership` in the clinic, a promoted one keeps the old role — so every
    query that reads memberships stays right without knowing of this table."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for confirmation"
        CONFIRMED = "confirmed", "Confirmed"
        REFUSED = "refused", "Refused"

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="role_confirmations")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="role_confirmations"
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["requested_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "clinic"],
                condition=Q(status="pending"),
                name="role_confirmation_one_pending_per_clinic",
            ),
            models.CheckConstraint(
                condition=Q(role__in=["clinician", "nurse"]), name="role_confirmation_clinical"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "confirmed", "refused"]),
                name="role_confirmation_status_known",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} as {self.get_role_display()} at {self.clinic} ({self.status})"


class AccessLogEntry(models.Model):
    """One view or export of a patient's clinical record (issue 11, M7): who, when, which
    patient, which page. Written once per request by `patients.access_log`."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+")
    #: Kept when the patient row is deleted: the log outlives the record it describes.
    patient = models.ForeignKey(
        Patient, null=True, on_delete=models.SET_NULL, related_name="access_log"
    )
    patient_ref = models.CharField("patient", max_length=64)
    route = models.CharField("page", max_length=100)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["patient", "-at"])]
        verbose_name_plural = "access log entries"

    def __str__(self) -> str:
        return f"{self.user} read {self.patient_ref} ({self.route}) at {self.at:%Y-%m-%d %H:%M}"
