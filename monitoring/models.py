"""Measurements that follow a patient over time: DXA scans, labs, fracture-risk reassessments."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from simple_history.models import HistoricalRecords

from monitoring.lab_tests import (
    ENTERED_VALUE,
    LAB_KIND_BY_CODE,
    LAB_KINDS,
    LAB_TEST_CHOICES,
    lab_number,
    label_of,
)
from patients import limits
from patients.limits import RangeValidator, date_in_range, not_blank
from patients.models import Patient, PatientRecord
from patients.validators import not_in_future
from therapy.engine.case import DxaSite, LabTest


def _bmd_field(site: str) -> models.FloatField:
    return models.FloatField(
        f"{site} BMD (g/cm²)",
        null=True,
        blank=True,
        validators=[RangeValidator("BMD", limits.BMD_G_CM2, "g/cm²")],
    )


def _t_score_field(site: str) -> models.FloatField:
    return models.FloatField(
        f"{site} T-score",
        null=True,
        blank=True,
        validators=[RangeValidator("T-score", limits.T_SCORE)],
    )


def _lsc_field(site: str) -> models.FloatField:
    return models.FloatField(
        f"{site} LSC (%)",
        null=True,
        blank=True,
        validators=[RangeValidator("LSC", limits.LSC_PCT, "%")],
        help_text="Least significant change of this scanner; leave empty for the default.",
    )


def _site_ranges(prefix: str) -> list[models.CheckConstraint]:
    return [
        limits.number_range_check(
            f"{prefix}_{part}",
            bounds,
            name=f"dxa_{prefix}_{short}_range",
            nullable=True,
        )
        for part, short, bounds in (
            ("bmd_g_cm2", "bmd", limits.BMD_G_CM2),
            ("t_score", "t_score", limits.T_SCORE),
            ("lsc_pct", "lsc", limits.LSC_PCT),
        )
    ]


class DxaScan(PatientRecord):
    """One DXA examination; each site is optional, but a scan measures at least one."""

    SITES = tuple(DxaSite)

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="dxa_scans")
    date = models.DateField(validators=[date_in_range, not_in_future])
    scanner = models.CharField(max_length=100, blank=True, default="", validators=[not_blank])
    lumbar_spine_bmd_g_cm2 = _bmd_field("Lumbar spine")
    lumbar_spine_t_score = _t_score_field("Lumbar spine")
    lumbar_spine_lsc_pct = _lsc_field("Lumbar spine")
    femoral_neck_bmd_g_cm2 = _bmd_field("Femoral neck")
    femoral_neck_t_score = _t_score_field("Femoral neck")
    femoral_neck_lsc_pct = _lsc_field("Femoral neck")
    total_hip_bmd_g_cm2 = _bmd_field("Total hip")
    total_hip_t_score = _t_score_field("Total hip")
    total_hip_lsc_pct = _lsc_field("Total hip")
    history = HistoricalRecords()

    class Meta:
        ordering = ["date", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "date"],
                name="dxa_one_scan_per_day",
                violation_error_message=(
                    "A scan on this date is already recorded for this patient; edit it instead."
                ),
            ),
            *(check for site in DxaSite for check in _site_ranges(site)),
            limits.date_range_check("date", name="dxa_date_range"),
            limits.not_blank_check("scanner", name="dxa_scanner_not_blank", optional=True),
        ]

    def __str__(self) -> str:
        return f"DXA scan on {self.date:%Y-%m-%d}"

    def site_values(self, site: DxaSite) -> tuple[float | None, float | None, float | None]:
        """(BMD g/cm², T-score, LSC %) of one site."""
        return (
            getattr(self, f"{site}_bmd_g_cm2"),
            getattr(self, f"{site}_t_score"),
            getattr(self, f"{site}_lsc_pct"),
        )

    def clean(self) -> None:
        super().clean()
        if not any(
            getattr(self, f"{site}_bmd_g_cm2") is not None
            or getattr(self, f"{site}_t_score") is not None
            for site in self.SITES
        ):
            raise ValidationError("Enter a BMD or a T-score for at least one site.")


class LabResult(PatientRecord):
    """A bone-turnover marker or lab value.

    `value` is in the test's stored unit (`unit`), the one the engine reads (CASE_FORMAT:
    25-OH vitamin D in ng/mL). When the person typed it in another unit, `entered_value` and
    `entered_unit` keep what they typed (75 nmol/L), so the record shows both and nothing is
    converted without a word; both are empty for a value typed in the stored unit, an import
    or a case file.
    """

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="lab_results")
    date = models.DateField(validators=[date_in_range, not_in_future])
    test = models.CharField(max_length=20, choices=LAB_TEST_CHOICES)
    value = models.FloatField(validators=[RangeValidator("Value", limits.LAB_VALUE)])
    unit = models.CharField(max_length=20, blank=True, default="", validators=[not_blank])
    entered_value = models.FloatField(
        "value as entered",
        null=True,
        blank=True,
        validators=[RangeValidator("Value", ENTERED_VALUE)],
    )
    entered_unit = models.CharField("unit as entered", max_length=20, blank=True, default="")
    history = HistoricalRecords()

    class Meta:
        ordering = ["date", "test", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "date", "test"],
                name="lab_one_value_per_test_per_day",
                violation_error_message=(
                    "This test already has a value on this date; edit it instead."
                ),
            ),
            limits.number_range_check("value", limits.LAB_VALUE, name="lab_value_range"),
            limits.number_range_check(
                "entered_value", ENTERED_VALUE, name="lab_entered_value_range", nullable=True
            ),
            limits.choices_check("test", [t.value for t in LabTest], name="lab_test_known"),
            limits.date_range_check("date", name="lab_date_range"),
            limits.not_blank_check("unit", name="lab_unit_not_blank", optional=True),
            # What was typed is kept whole: a value with its unit, or neither.
            limits.DatabaseCheck(
                condition=Q(entered_value__isnull=True, entered_unit="")
                | Q(entered_value__isnull=False) & ~Q(entered_unit=""),
                name="lab_entered_value_has_unit",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_test_display()} {self.value_text} on {self.date:%Y-%m-%d}"

    @property
    def value_text(self) -> str:
        """The stored value with its unit: "30.05 ng/mL"."""
        return f"{lab_number(self.value)} {self.unit}".strip()

    @property
    def entered_text(self) -> str:
        """What was typed, when it was another unit: "75 nmol/L" (else "")."""
        if self.entered_value is None or not self.entered_unit:
            return ""
        return f"{lab_number(self.entered_value)} {self.entered_unit}"

    def clean(self) -> None:
        super().clean()
        if (self.entered_value is None) != (not self.entered_unit):
            raise ValidationError("Keep the value as entered together with its unit.")


class ClinicLabUnit(models.Model):
    """The unit a clinic's laboratory reports a test in: the lab form offers it first. A test
    without a row is offered in its stored unit."""

    clinic = models.ForeignKey("patients.Clinic", on_delete=models.CASCADE, related_name="+")
    test = models.CharField(max_length=30, choices=[(k.code, k.label) for k in LAB_KINDS])
    unit = models.CharField(max_length=20)
    history = HistoricalRecords()

    class Meta:
        ordering = ["clinic", "test"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "test"], name="lab_unit_one_per_test"),
            limits.choices_check("test", [k.code for k in LAB_KINDS], name="lab_unit_test_known"),
        ]

    def __str__(self) -> str:
        return f"{label_of(self.test)} in {self.unit}"

    def clean(self) -> None:
        super().clean()
        kind = LAB_KIND_BY_CODE.get(self.test)
        if kind is not None and self.unit not in kind.unit_symbols:
            raise ValidationError(
                {"unit": f"{kind.label} is recorded in {' or '.join(kind.unit_symbols)}."}
            )


class DxaScanner(models.Model):
    """A DXA scanner of a clinic: the scan form offers the clinic's scanners to pick from, so a
    machine is named the same way on every scan (BMD from two differently named scanners is
    never compared). A retired scanner is no longer offered; its scans keep its name."""

    clinic = models.ForeignKey(
        "patients.Clinic", on_delete=models.CASCADE, related_name="dxa_scanners"
    )
    name = models.CharField(
        max_length=100,
        validators=[not_blank],
        help_text="As it should read on every scan, e.g. “Hologic Horizon A, room 2”.",
    )
    is_retired = models.BooleanField("retired", default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["is_retired", "name", "pk"]
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                "clinic",
                name="dxa_scanner_name_unique_per_clinic",
                violation_error_message="This clinic already has a scanner of this name.",
            ),
            limits.not_blank_check("name", name="dxa_scanner_name_not_blank"),
        ]

    def __str__(self) -> str:
        return self.name


class Reassessment(PatientRecord):
    """A completed 12-month fracture-risk reassessment (MON-1)."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="reassessments")
    date = models.DateField(validators=[date_in_range, not_in_future])
    note = limits.note_field()
    history = HistoricalRecords()

    class Meta:
        ordering = ["date", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "date"],
                name="reassessment_one_per_day",
                violation_error_message="A reassessment on this date is already recorded.",
            ),
            limits.date_range_check("date", name="reassessment_date_range"),
            limits.text_length_check("note", name="reassessment_note_length"),
        ]

    def __str__(self) -> str:
        return f"Reassessment on {self.date:%Y-%m-%d}"


class ReminderStatus(models.TextChoices):
    OPEN = "open", "Open"
    SNOOZED = "snoozed", "Snoozed"
    DONE = "done", "Done"
    DISMISSED = "dismissed", "Dismissed"
    #: Closed by the scan: the engine no longer lists the item (dose given, follow-on started).
    RESOLVED = "resolved", "Resolved"


ACTIVE_REMINDER_STATUSES = (ReminderStatus.OPEN, ReminderStatus.SNOOZED)


class Reminder(models.Model):
    """Something due for one patient, from the engine's monitoring items and critical alerts.

    `kind` is the engine's code (MonitoringCode or AlertCode); `drug` the item's drug or "".
    At most one active (open or snoozed) reminder exists per (patient, kind, drug), and never
    two rows for the same (patient, kind, drug, due): a rescan cannot duplicate one.
    """

    #: No index of its own: `reminder_unique_per_due_date` begins with the patient, and serves
    #: every lookup by patient (and the cascade when one is deleted).
    patient = models.ForeignKey(
        Patient, on_delete=models.CASCADE, related_name="reminders", db_index=False
    )
    kind = models.CharField(max_length=50)
    drug = models.CharField(max_length=30, blank=True, default="")
    severity = models.CharField(max_length=10, blank=True, default="")  # alerts only
    due = models.DateField()
    status = models.CharField(
        max_length=10, choices=ReminderStatus.choices, default=ReminderStatus.OPEN
    )
    snoozed_until = models.DateField(null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_reminders",
    )
    note = limits.note_field()
    close_reason = limits.note_field()
    closed_at = models.DateTimeField(null=True, blank=True)
    #: When the critical-reminder e-mail went out (never twice for the same reminder).
    notified_at = models.DateTimeField(null=True, blank=True)
    #: The engine version whose scan last wanted this reminder: a reminder of an older rule book
    #: that the current one no longer asks for is resolved "rule book edition N".
    engine_version = models.CharField(max_length=10, blank=True, default="")
    #: Set by the scan on a reminder marked done whose item it still finds due for the same
    #: date: why, in words ("no denosumab dose recorded since 2025-11-17"); "" otherwise.
    still_due = models.CharField(max_length=300, blank=True, default="")
    #: When this reminder was last put in a daily digest (new critical, or newly overdue).
    digested_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    #: Its audit rows are read only by reminder (`id`, indexed): the patient and assignee
    #: columns are not indexed there, two index entries fewer for every reminder written.
    history = HistoricalRecords(no_db_index=["patient", "assignee"])

    class Meta:
        ordering = ["due", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "kind", "drug"],
                condition=Q(status__in=["open", "snoozed"]),
                name="reminder_one_active_per_item",
            ),
            models.UniqueConstraint(
                fields=["patient", "kind", "drug", "due"], name="reminder_unique_per_due_date"
            ),
            models.CheckConstraint(
                condition=Q(status__in=ReminderStatus.values), name="reminder_status_known"
            ),
            models.CheckConstraint(
                condition=~Q(status="snoozed") | Q(snoozed_until__isnull=False),
                name="reminder_snooze_has_date",
            ),
            models.CheckConstraint(
                condition=~Q(status="dismissed") | ~Q(close_reason=""),
                name="reminder_dismiss_has_reason",
            ),
            limits.text_length_check("note", name="reminder_note_length"),
            limits.text_length_check("close_reason", name="reminder_close_reason_length"),
        ]
        indexes = [models.Index(fields=["status", "due"])]

    def __str__(self) -> str:
        drug = f" ({self.drug})" if self.drug else ""
        return f"{self.kind.replace('_', ' ').capitalize()}{drug} due {self.due:%Y-%m-%d}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_REMINDER_STATUSES


class ContactKind(models.TextChoices):
    CALLED = "called", "Called, spoke to the patient"
    NO_ANSWER = "no_answer", "Called, no answer"
    LEFT_MESSAGE = "left_message", "Left a message"
    LETTER_SENT = "letter_sent", "Letter sent"
    EMAIL_SENT = "email_sent", "E-mail sent"
    OTHER = "other", "Other"


class ReminderContact(models.Model):
    """One attempt to reach the patient about a reminder: who, how, when, and what came of it."""

    reminder = models.ForeignKey(Reminder, on_delete=models.CASCADE, related_name="contacts")
    kind = models.CharField(max_length=20, choices=ContactKind.choices)
    date = models.DateField(validators=[date_in_range, not_in_future])
    note = limits.note_field()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-date", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=ContactKind.values), name="reminder_contact_kind_known"
            ),
            limits.text_length_check("note", name="reminder_contact_note_length"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.date:%Y-%m-%d}"


class ReminderDigest(models.Model):
    """One daily digest e-mail to one address: the table that makes it one per recipient per
    day (the unique constraint), whatever the number of workers or retries."""

    recipient = models.EmailField()
    day = models.DateField()
    sent_at = models.DateTimeField(null=True, blank=True)
    reminders = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-day", "recipient"]
        constraints = [
            models.UniqueConstraint(fields=["recipient", "day"], name="digest_one_per_day")
        ]

    def __str__(self) -> str:
        return f"Digest to {self.recipient} for {self.day:%Y-%m-%d}"


class ScanRun(models.Model):
    """One run of the reminder scan, for the admin dashboard and the audit of the scan itself."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    as_of = models.DateField()
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    patients = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    moved = models.PositiveIntegerField(default=0)
    resolved = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    #: The nightly run is sent as one Celery task per batch of patients: how many it was split
    #: into, and how many of them finished (done) or failed for good (after their retries).
    batches = models.PositiveIntegerField(default=0)
    batches_done = models.PositiveIntegerField(default=0)
    batches_failed = models.PositiveIntegerField(default=0)
    #: [{"after_pk": 0, "upto_pk": 500, "error": "OperationalError(...)"}, …] (failed for good)
    failed_batches = models.JSONField(default=list, blank=True)
    #: The `after_pk` of every batch counted (done or failed): a batch delivered twice (its
    #: worker died after it committed) is counted once.
    counted_batches = models.JSONField(default=list, blank=True)
    #: The critical reminders the batches created or reopened, e-mailed once the last batch is
    #: in (one message per recipient for the run); emptied when the run finishes.
    new_critical = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]

    def __str__(self) -> str:
        return f"Scan as of {self.as_of:%Y-%m-%d} ({self.status})"


class DxaImport(models.Model):
    """A CSV of DXA results uploaded by a nurse, imported row by row by a Celery task."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for a worker"
        RUNNING = "running", "Importing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    clinic = models.ForeignKey("patients.Clinic", on_delete=models.CASCADE, related_name="+")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    file_name = models.CharField(max_length=255)
    content = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    imported = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    #: [{"line": 7, "error": "total_hip_bmd_g_cm2: 2.7 is outside 0.2–2.0"}, …]
    errors = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"DXA import {self.file_name} ({self.status})"
