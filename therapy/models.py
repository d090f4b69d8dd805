"""Therapy courses and the doses given in them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateRangeField, RangeOperators
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Case, F, Func, Q, Value, When
from simple_history.models import HistoricalRecords

from patients import approximate_dates, limits
from patients.approximate_dates import DatePrecision
from patients.limits import date_in_range
from patients.models import Patient, PatientRecord, _choices
from patients.validators import (
    check_end_not_before_start,
    check_unique_beside_field,
    not_in_future,
)
from therapy import catalogue
from therapy.engine.case import Drug, StopReason


def _day_after_end() -> Case:
    """SQL for the day after a course's last possible day: the end is stored as the first day of
    its period, so a month's end runs to the month's last day, a year's to 31 December (the
    reading of `TherapyCourse.end_latest`); NULL while the course is ongoing (no upper bound)."""

    def plus(interval: str) -> Func:
        return Func(
            F("end"),
            template=f"((%(expressions)s + interval '{interval}')::date)",
            output_field=models.DateField(),
        )

    return Case(
        When(end__isnull=True, then=Value(None, output_field=models.DateField())),
        When(end_precision=DatePrecision.YEAR, then=plus("1 year")),
        When(end_precision=DatePrecision.MONTH, then=plus("1 month")),
        default=plus("1 day"),
        output_field=models.DateField(),
    )


class PostgresExclusionConstraint(ExclusionConstraint):
    """An exclusion constraint where the database is PostgreSQL; nothing on SQLite, where the
    write path serialises the writes instead (`patients.services.record_save` takes a write lock
    before validating). `full_clean` does not run it: the model's `clean` checks the same rule
    with a message that names the other course, and the constraint is the backstop for a race."""

    def constraint_sql(self, model: Any, schema_editor: Any) -> Any:
        if schema_editor.connection.vendor != "postgresql":
            return None
        return super().constraint_sql(model, schema_editor)

    def create_sql(self, model: Any, schema_editor: Any) -> Any:
        if schema_editor.connection.vendor != "postgresql":
            return None
        return super().create_sql(model, schema_editor)

    def remove_sql(self, model: Any, schema_editor: Any) -> Any:
        if schema_editor.connection.vendor != "postgresql":
            return None
        return super().remove_sql(model, schema_editor)

    def validate(self, *args: Any, **kwargs: Any) -> None:
        return None


#: The constraint's name, which the write path turns back into the message beside `start`.
COURSE_NO_OVERLAP = "course_no_overlap_same_drug"
COURSE_OVERLAP_MESSAGE = (
    "This overlaps another course of the same drug for this patient; edit that one instead."
)


class TherapyCourse(PatientRecord):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="therapy_courses")
    drug = models.CharField(max_length=30, choices=catalogue.DRUG_CHOICES)
    #: `start` and `end` hold the first day of the period when known only to the month or year.
    start = models.DateField(validators=[date_in_range, not_in_future])
    start_precision = models.CharField(
        "start known to the",
        max_length=5,
        choices=DatePrecision.choices,
        default=DatePrecision.DAY,
    )
    end = models.DateField(
        null=True, blank=True, validators=[date_in_range], help_text="Leave empty while ongoing."
    )
    end_precision = models.CharField(
        "end known to the",
        max_length=5,
        choices=DatePrecision.choices,
        default=DatePrecision.DAY,
    )
    stop_reason = models.CharField(
        max_length=20, choices=_choices(StopReason), blank=True, default=""
    )
    history = HistoricalRecords()
    dated_field = "start"
    #: `record_save` validates and saves under the patient's lock: the overlap rule reads the
    #: patient's other courses.
    serialised_per_patient = True
    #: where a database constraint's refusal is shown (`record_save`)
    constraint_fields = {COURSE_NO_OVERLAP: "start"}

    class Meta:
        ordering = ["start", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__isnull=True) | Q(end__gte=models.F("start")),
                name="course_end_after_start",
            ),
            models.CheckConstraint(
                condition=Q(drug__in=[d.value for d in Drug]), name="course_drug_known"
            ),
            limits.choices_check(
                "stop_reason",
                ["", *(r.value for r in StopReason)],
                name="course_stop_reason_known",
            ),
            limits.date_range_check("start", name="course_start_range"),
            limits.date_range_check("end", name="course_end_range", nullable=True),
            limits.choices_check(
                "start_precision", DatePrecision.values, name="course_start_precision_known"
            ),
            limits.choices_check(
                "end_precision", DatePrecision.values, name="course_end_precision_known"
            ),
            # The rule of `clean` below, held by the database: two courses of one drug for one
            # patient never share a day, from the start's first day to the end's last (a course
            # ending on the day another starts overlaps it: '[)' with the day after the end).
            PostgresExclusionConstraint(
                name=COURSE_NO_OVERLAP,
                expressions=[
                    (F("patient"), RangeOperators.EQUAL),
                    (F("drug"), RangeOperators.EQUAL),
                    (
                        Func(
                            F("start"),
                            _day_after_end(),
                            Value("[)"),
                            function="daterange",
                            output_field=DateRangeField(),
                        ),
                        RangeOperators.OVERLAPS,
                    ),
                ],
                violation_error_message=COURSE_OVERLAP_MESSAGE,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_drug_display()} {self.start_shown} – {self.end_shown or 'ongoing'}"

    @property
    def start_shown(self) -> str:
        """The start as people read it: "2017-05-14", or "≈ 2016" when known to the year."""
        return approximate_dates.shown(self.start, self.start_precision)

    @property
    def end_shown(self) -> str:
        """The end as people read it ("" while ongoing)."""
        return approximate_dates.shown(self.end, self.end_precision)

    @property
    def end_latest(self) -> dt.date | None:
        """The last day the course may have run: the end's last day (None while ongoing)."""
        return self.end and approximate_dates.latest_day(self.end, self.end_precision)

    @property
    def is_injected(self) -> bool:
        return catalogue.is_injected(self.drug)

    def _check_dates(self) -> None:
        first_visit = self.patient.first_visit if self.patient_id else None
        if self.end is None and self.end_precision != DatePrecision.DAY:
            raise ValidationError({"end": "An ongoing course has no end to be approximate."})
        if first_visit:
            for field in ("start", "end"):
                approximate_dates.check_approximate(
                    getattr(self, field),
                    getattr(self, f"{field}_precision"),
                    field=field,
                    first_visit=first_visit,
                )
        end_latest = self.end_latest
        if self.start and self.end and end_latest and self.end < self.start <= end_latest:
            # Both are first days of their periods: "2015-06" to "2015" may be one course, but
            # the end must then be known at least as well as the start.
            raise ValidationError(
                {
                    "end": f"The end ({self.end_shown}) may fall before the start "
                    f"({self.start_shown}); give the end as precisely as the start."
                },
                code="end_before_start",
            )
        check_end_not_before_start(self.start, self.end)

    def clean(self) -> None:
        super().clean()
        self._check_dates()
        if self.stop_reason and not self.end:
            raise ValidationError({"stop_reason": "A stop reason needs an end date."})
        if not (self.patient_id and self.drug and self.start):
            return
        # A course runs, at the widest, from its start's first day to its end's last day (the
        # reading `therapy.case_records` gives the engine); the end is stored as a first day,
        # so the database narrows by start only and the end is compared here.
        overlapping = TherapyCourse.objects.filter(
            patient_id=self.patient_id, drug=self.drug
        ).exclude(pk=self.pk)
        if self.end:
            overlapping = overlapping.filter(start__lte=self.end_latest)
        clash = next(
            (
                other
                for other in overlapping.order_by("start", "pk")
                if other.end_latest is None or other.end_latest >= self.start
            ),
            None,
        )
        if clash:
            raise ValidationError(
                {
                    "start": f"This overlaps the {clash} course of the same drug; "
                    "edit that one instead."
                }
            )
        if self.pk:
            limit = catalogue.max_doses(self.drug)
            given = self.doses.count()
            if limit is not None and given > limit:
                raise ValidationError(
                    {
                        "drug": f"This course has {given} doses; {self.get_drug_display()} "
                        f"is limited to {limit}."
                    }
                )
            outside_course = Q(date__lt=self.start)
            if self.end:
                outside_course |= Q(date__gt=self.end_latest)
            outside = self.doses.filter(outside_course).first()
            if outside:
                raise ValidationError(
                    f"A dose given on {outside.date:%Y-%m-%d} would fall outside the course; "
                    "move or delete that dose first."
                )


class Dose(models.Model):
    """One injection or infusion given in a course (denosumab, zoledronic acid, romosozumab…)."""

    course = models.ForeignKey(TherapyCourse, on_delete=models.CASCADE, related_name="doses")
    date = models.DateField(validators=[date_in_range, not_in_future])
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()
    #: `record_save` validates and saves under the patient's lock: the dose limit counts the
    #: course's other doses.
    serialised_per_patient = True

    class Meta:
        ordering = ["date", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["course", "date"],
                name="dose_unique_per_day",
                violation_error_message="A dose of this course is already recorded on this date.",
            ),
            limits.date_range_check("date", name="dose_date_range"),
        ]

    def __str__(self) -> str:
        return f"{self.course.get_drug_display()} dose on {self.date:%Y-%m-%d}"

    def clean(self) -> None:
        super().clean()
        check_unique_beside_field(self)
        if not (self.course_id and self.date):
            return
        course = self.course
        if self.date < course.start or (course.end and self.date > course.end_latest):
            raise ValidationError({"date": f"This date is outside the course ({course})."})
        limit = catalogue.max_doses(course.drug)
        if limit is not None:
            given = course.doses.exclude(pk=self.pk).count()
            if given >= limit:
                raise ValidationError(
                    {
                        "date": f"This course already has {given} doses; "
                        f"{course.get_drug_display()} is limited to {limit}."
                    }
                )


class DecisionKind(models.TextChoices):
    """What a clinician decided on the engine's recommendation."""

    CONTINUE = "continue", "Continue current therapy"
    RANKED_OPTION = "ranked_option", "A ranked option"
    OTHER_DRUG = "other_drug", "Another drug"
    NO_TREATMENT = "no_treatment", "No treatment now"
    #: An explicit judgement that the patient needs no anti-osteoporosis medication (the
    #: fracture-liaison indicators count it apart from "no treatment now").
    NOT_INDICATED = "not_indicated", "No anti-osteoporosis medication indicated"


#: The decisions that need the clinician's reason.
DECISIONS_NEEDING_A_REASON = (
    DecisionKind.OTHER_DRUG,
    DecisionKind.NO_TREATMENT,
    DecisionKind.NOT_INDICATED,
)
#: The decisions that choose no drug.
DECISIONS_WITHOUT_A_DRUG = (DecisionKind.NO_TREATMENT, DecisionKind.NOT_INDICATED)


class RecommendationRecord(models.Model):
    """What the engine said about a patient, and what the clinician decided.

    The case as evaluated and the assessment are stored whole (JSON of CASE_FORMAT), with the
    engine version and the rules that fired, so a decision can be replayed and audited years
    later exactly as the clinician saw it; so is what the decision did to the record (the
    courses it stopped, the course it started and that course's first dose). Rows are written
    once and never edited.
    """

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="decisions")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(auto_now_add=True)
    as_of = models.DateField()
    engine_version = models.CharField(max_length=20)
    case = models.JSONField()
    assessment = models.JSONField()
    fired_rules = models.JSONField(default=list)
    kind = models.CharField(max_length=20, choices=DecisionKind.choices)
    #: The drug continued or chosen; empty for "no treatment now".
    chosen_drug = models.CharField(
        max_length=30, choices=catalogue.DRUG_CHOICES, blank=True, default=""
    )
    #: The option's rank when a ranked option was accepted; None for every other decision.
    chosen_rank = models.PositiveSmallIntegerField(null=True, blank=True)
    reason = limits.note_field()
    started_course = models.ForeignKey(
        TherapyCourse, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    #: The started course's first dose, when it was given on the start date.
    first_dose = models.ForeignKey(
        Dose, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    stopped_courses = models.ManyToManyField(TherapyCourse, blank=True, related_name="+")

    class Meta:
        ordering = ["-decided_at", "-pk"]
        constraints = [
            limits.choices_check(
                "kind", [k.value for k in DecisionKind], name="decision_kind_known"
            ),
            limits.text_length_check("reason", name="decision_reason_length"),
            models.CheckConstraint(
                condition=~Q(kind__in=[k.value for k in DECISIONS_NEEDING_A_REASON])
                | ~Q(reason=""),
                name="decision_off_list_needs_reason",
                violation_error_message="Another drug, no treatment now, or no medication "
                "indicated needs a reason.",
            ),
            # `decision_record` keeps these two; the database holds them for every other writer.
            limits.DatabaseCheck(
                condition=(Q(kind="ranked_option") & Q(chosen_rank__isnull=False))
                | (~Q(kind="ranked_option") & Q(chosen_rank__isnull=True)),
                name="decision_rank_of_a_ranked_option",
            ),
            limits.DatabaseCheck(
                condition=(Q(kind__in=DECISIONS_WITHOUT_A_DRUG) & Q(chosen_drug=""))
                | (~Q(kind__in=DECISIONS_WITHOUT_A_DRUG) & ~Q(chosen_drug="")),
                name="decision_drug_unless_no_treatment",
            ),
        ]

    def __str__(self) -> str:
        return f"Decision of {self.as_of:%Y-%m-%d}: {self.description}"

    @property
    def is_ranked_option(self) -> bool:
        return self.chosen_rank is not None

    @property
    def description(self) -> str:
        """The decision in words: "Continue denosumab", "Zoledronic acid (option 1)",
        "Raloxifene (not a ranked option)", "No treatment now"."""
        drug = catalogue.name(self.chosen_drug).capitalize()
        if self.kind == DecisionKind.CONTINUE:
            return f"Continue {catalogue.name(self.chosen_drug)}"
        if self.kind == DecisionKind.RANKED_OPTION:
            return f"{drug} (option {self.chosen_rank})"
        if self.kind == DecisionKind.OTHER_DRUG:
            return f"{drug} (not a ranked option)"
        if self.kind == DecisionKind.NOT_INDICATED:
            return "No anti-osteoporosis medication indicated"
        return "No treatment now"
