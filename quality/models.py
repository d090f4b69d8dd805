"""The fracture-liaison (FLS) record of an index fracture, for the quality indicators.

An `FlsEpisode` belongs to one index fracture (`Fracture`): when and how the service found the
patient, when it assessed them, the falls assessment, strength-and-balance exercise, whether a
DXA scan was needed, and how the episode closed. `FollowUpContact` rows are the contacts at
about 16 and 52 weeks after the fracture. The KPIs (`quality.kpis`) read these rows with the
patient's DXA scans, decisions and date of death; the reminder scan asks for the follow-ups.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from patients import limits
from patients.limits import date_in_range
from patients.models import Fracture, Patient, PatientRecord
from patients.validators import not_in_future
from therapy.engine.case import FractureSite

#: The longest reason typed for "DXA not needed" (one line, shown in lists and the audit CSV).
REASON_MAX_CHARS = 300


class Identification(models.TextChoices):
    """How the service found the index fracture (IOF KPI 2: spine fractures are found
    clinically or on imaging done for another reason)."""

    CLINICAL = "clinical", "Clinical presentation"
    RADIOLOGICAL = "radiological", "Radiological (imaging done for another reason)"


class FallsAssessment(models.TextChoices):
    DONE = "done", "Falls assessment done"
    REFERRED = "referred", "Referred for a falls assessment"
    NOT_NEEDED = "not_needed", "Not needed"


class EpisodeOutcome(models.TextChoices):
    """Why an episode closed."""

    COMPLETED = "completed", "Pathway completed"
    DECLINED = "declined", "Patient declined the service"
    DID_NOT_ATTEND = "did_not_attend", "Did not attend"
    NOT_ELIGIBLE = "not_eligible", "Not eligible (not a fragility fracture)"
    TRANSFERRED = "transferred", "Care transferred elsewhere"
    DIED = "died", "Patient died"


class FlsEpisode(PatientRecord):
    """The fracture-liaison episode of one index fracture."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="fls_episodes")
    fracture = models.OneToOneField(
        Fracture,
        on_delete=models.CASCADE,
        related_name="fls_episode",
        verbose_name="index fracture",
    )
    identified_on = models.DateField("identified on", validators=[date_in_range, not_in_future])
    identified_by = models.CharField(
        "how identified", max_length=15, choices=Identification.choices
    )
    assessed_on = models.DateField(
        "FLS assessment on",
        null=True,
        blank=True,
        validators=[date_in_range, not_in_future],
    )
    falls_assessment = models.CharField(
        "falls assessment", max_length=12, choices=FallsAssessment.choices, blank=True, default=""
    )
    falls_assessed_on = models.DateField(
        "falls assessment on",
        null=True,
        blank=True,
        validators=[date_in_range, not_in_future],
    )
    exercise_started_on = models.DateField(
        "strength-and-balance exercise started on",
        null=True,
        blank=True,
        validators=[date_in_range, not_in_future],
    )
    #: Why no DXA scan is needed ("" = one is needed): a clinician's decision (IOF KPI 4).
    dxa_not_needed_reason = models.CharField(
        "DXA not needed because", max_length=REASON_MAX_CHARS, blank=True, default=""
    )
    closed_on = models.DateField(
        "closed on", null=True, blank=True, validators=[date_in_range, not_in_future]
    )
    outcome = models.CharField(
        max_length=15, choices=EpisodeOutcome.choices, blank=True, default=""
    )
    history = HistoricalRecords()

    dated_field = "identified_on"

    class Meta:
        verbose_name = "FLS episode"
        verbose_name_plural = "FLS episodes"
        ordering = ["-identified_on", "-pk"]
        constraints = [
            limits.choices_check(
                "identified_by", Identification.values, name="fls_episode_identified_by_known"
            ),
            limits.choices_check(
                "falls_assessment",
                ["", *FallsAssessment.values],
                name="fls_episode_falls_assessment_known",
            ),
            limits.choices_check(
                "outcome", ["", *EpisodeOutcome.values], name="fls_episode_outcome_known"
            ),
            limits.date_range_check("identified_on", name="fls_episode_identified_on_range"),
            limits.date_range_check(
                "assessed_on", name="fls_episode_assessed_on_range", nullable=True
            ),
            limits.date_range_check(
                "falls_assessed_on", name="fls_episode_falls_assessed_on_range", nullable=True
            ),
            limits.date_range_check(
                "exercise_started_on", name="fls_episode_exercise_range", nullable=True
            ),
            limits.date_range_check("closed_on", name="fls_episode_closed_on_range", nullable=True),
            models.CheckConstraint(
                condition=Q(falls_assessment="", falls_assessed_on__isnull=True)
                | (~Q(falls_assessment="") & Q(falls_assessed_on__isnull=False)),
                name="fls_episode_falls_assessment_dated",
                violation_error_message="A falls assessment needs its date, and a date its result.",
            ),
            models.CheckConstraint(
                condition=Q(outcome="", closed_on__isnull=True)
                | (~Q(outcome="") & Q(closed_on__isnull=False)),
                name="fls_episode_closed_with_outcome",
                violation_error_message="Closing an episode needs both its date and its outcome.",
            ),
            models.CheckConstraint(
                condition=Q(closed_on__isnull=True) | Q(closed_on__gte=F("identified_on")),
                name="fls_episode_closed_after_identified",
                violation_error_message="An episode cannot close before it was identified.",
            ),
        ]
        indexes = [models.Index(fields=["patient", "identified_on"])]

    def __str__(self) -> str:
        return f"FLS episode of the {self.fracture}"

    def clean(self) -> None:
        super().clean()
        errors: dict[str, str] = {}
        fracture = self.fracture if self.fracture_id else None
        if fracture is not None:
            if self.patient_id and fracture.patient_id != self.patient_id:
                errors["fracture"] = "Choose a fracture of this patient."
            if (
                self.identified_by == Identification.RADIOLOGICAL
                and fracture.site != FractureSite.VERTEBRAL.value
            ):
                errors["identified_by"] = "Only a spine fracture is identified radiologically."
            for name in (
                "identified_on",
                "assessed_on",
                "falls_assessed_on",
                "exercise_started_on",
                "closed_on",
            ):
                value = getattr(self, name)
                if value is not None and value < fracture.date:
                    errors.setdefault(
                        name,
                        f"This is before the index fracture ({fracture.date:%Y-%m-%d}).",
                    )
        if bool(self.falls_assessment) != (self.falls_assessed_on is not None):
            errors.setdefault(
                "falls_assessed_on" if self.falls_assessment else "falls_assessment",
                "A falls assessment needs its date, and a date its result.",
            )
        if bool(self.outcome) != (self.closed_on is not None):
            errors.setdefault(
                "closed_on" if self.outcome else "outcome",
                "Closing an episode needs both its date and its outcome.",
            )
        if self.closed_on and self.identified_on and self.closed_on < self.identified_on:
            errors.setdefault("closed_on", "An episode cannot close before it was identified.")
        if errors:
            raise ValidationError(errors)

    @property
    def is_open(self) -> bool:
        return self.closed_on is None


class FollowUpKind(models.TextChoices):
    """The two follow-up contacts after an index fracture; their reminder kinds are
    `FOLLOW_UP_16W` and `FOLLOW_UP_52W` (`quality.follow_ups`)."""

    WEEK_16 = "16w", "16-week follow-up"
    WEEK_52 = "52w", "52-week follow-up"


class Adherence(models.TextChoices):
    AS_PRESCRIBED = "as_prescribed", "Taking it as prescribed"
    MISSED_DOSES = "missed_doses", "Missing some doses"
    STOPPED = "stopped", "Stopped taking it"


class FollowUpContact(PatientRecord):
    """A follow-up contact at about 16 or 52 weeks after the episode's index fracture: is the
    patient on anti-osteoporosis medication, and taking it?"""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="fls_follow_ups")
    episode = models.ForeignKey(FlsEpisode, on_delete=models.CASCADE, related_name="follow_ups")
    kind = models.CharField("follow-up", max_length=3, choices=FollowUpKind.choices)
    date = models.DateField(validators=[date_in_range, not_in_future])
    is_on_treatment = models.BooleanField("on anti-osteoporosis medication")
    #: How the patient takes it; "" when not on treatment.
    adherence = models.CharField(max_length=15, choices=Adherence.choices, blank=True, default="")
    note = limits.note_field()
    history = HistoricalRecords()

    class Meta:
        verbose_name = "FLS follow-up contact"
        ordering = ["date", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["episode", "kind"],
                name="fls_follow_up_one_per_kind",
                violation_error_message="This follow-up is already recorded; edit it instead.",
            ),
            limits.choices_check("kind", FollowUpKind.values, name="fls_follow_up_kind_known"),
            limits.choices_check(
                "adherence", ["", *Adherence.values], name="fls_follow_up_adherence_known"
            ),
            models.CheckConstraint(
                condition=Q(is_on_treatment=True, adherence__in=Adherence.values)
                | Q(is_on_treatment=False, adherence=""),
                name="fls_follow_up_adherence_when_treated",
                violation_error_message="Say how a treated patient takes the medication; "
                "leave it empty for a patient not on treatment.",
            ),
            limits.date_range_check("date", name="fls_follow_up_date_range"),
            limits.text_length_check("note", name="fls_follow_up_note_length"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.date:%Y-%m-%d}"

    def clean(self) -> None:
        super().clean()
        errors: dict[str, str] = {}
        if self.episode_id and self.patient_id and self.episode.patient_id != self.patient_id:
            errors["episode"] = "Choose an episode of this patient."
        if self.episode_id and self.date and self.date < self.episode.fracture.date:
            errors["date"] = (
                f"This is before the index fracture ({self.episode.fracture.date:%Y-%m-%d})."
            )
        if self.is_on_treatment and not self.adherence:
            errors["adherence"] = "Say how the patient takes the medication."
        if not self.is_on_treatment and self.adherence:
            errors["adherence"] = "Leave this empty for a patient not on treatment."
        if errors:
            raise ValidationError(errors)


#: The reminder kind of each follow-up (`Reminder.kind`; the engine's codes are the others).
FOLLOW_UP_REMINDER_KINDS: dict[str, str] = {
    FollowUpKind.WEEK_16: "FOLLOW_UP_16W",
    FollowUpKind.WEEK_52: "FOLLOW_UP_52W",
}
