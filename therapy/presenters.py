"""The engine's assessment shaped for a busy clinician's page: the decision first, detail after.

Only wording and ordering happen here; every clinical judgement was made by the engine.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from patients import approximate_dates
from patients.approximate_dates import DatePrecision
from quality.models import FOLLOW_UP_REMINDER_KINDS, FollowUpKind
from therapy import catalogue
from therapy.engine import (
    ADVICE,
    EVIDENCE,
    RULES,
    AlertCode,
    Assessment,
    AvoidReason,
    Basis,
    DrugGroup,
    MonitoringCode,
    Pathway,
    Population,
    RecommendationAction,
    RefractoryReason,
    RiskReason,
    RuleId,
    Severity,
    active_course,
    limits,
)
from therapy.engine.assessment import Option, OptionLimit
from therapy.engine.case import Case, Drug
from therapy.engine.catalogue import DRUG_NAMES
from therapy.engine.text import AVOID_REASON_WORDS, GROUP_NAMES
from therapy.evaluation import case_evaluate
from therapy.exceptions import RecordNotEvaluable
from therapy.models import TherapyCourse

_SEVERITY_ORDER = {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.INFO: 2}
_BOOTSTRAP = {Severity.CRITICAL: "danger", Severity.WARNING: "warning", Severity.INFO: "info"}

# --- the engine's codes in words ---------------------------------------------------------------
# One sentence-case phrase per code, written out (not derived from the code), so that a person
# never reads DENOSUMAB_OVERDUE or "Oral bp intolerance". tests/therapy/test_presenters.py
# holds every member of every enum to having its words here.

ALERT_WORDS: dict[str, str] = {
    AlertCode.DENOSUMAB_DOSE_DUE: "Denosumab dose due",
    AlertCode.DENOSUMAB_OVERDUE: "Denosumab overdue",
    AlertCode.DENOSUMAB_STOPPED_WITHOUT_FOLLOW_ON: "Denosumab stopped without follow-on",
    AlertCode.DENOSUMAB_FOLLOW_ON_NEEDED: "Denosumab stopped: follow-on needed",
    AlertCode.SEQUENTIAL_ANTIRESORPTIVE_REQUIRED: "Sequential antiresorptive required",
    AlertCode.ANABOLIC_COURSE_ENDING: "Anabolic course ending",
    AlertCode.ANABOLIC_LIMIT_REACHED: "Anabolic limit reached",
    AlertCode.ROMOSOZUMAB_CV_EVENT: "MI or stroke on romosozumab",
    AlertCode.DENOSUMAB_WITH_IMMUNOSUPPRESSION: "Denosumab while immunosuppressed",
    AlertCode.CORRECT_HYPOCALCEMIA_FIRST: "Correct hypocalcaemia first",
    AlertCode.VITAMIN_D_LOW: "25-OH vitamin D low",
    AlertCode.POSSIBLE_NON_ADHERENCE: "Possible non-adherence",
    AlertCode.SEVERE_CKD_DENOSUMAB: "Severe CKD with denosumab",
    AlertCode.NO_ELIGIBLE_OPTION: "No eligible option",
}
MONITORING_WORDS: dict[str, str] = {
    MonitoringCode.FRACTURE_RISK_REASSESSMENT: "Fracture-risk reassessment",
    MonitoringCode.BTM_BASELINE: "Baseline bone-turnover markers",
    MonitoringCode.BTM_3_MONTHS: "Bone-turnover markers at 3 months",
    MonitoringCode.DXA_FOLLOW_UP: "DXA follow-up",
    MonitoringCode.NEXT_DOSE: "Next dose",
    MonitoringCode.FOLLOW_ON_START: "Start of the follow-on drug",
}
REFRACTORY_WORDS: dict[str, str] = {
    RefractoryReason.FRACTURE_ON_BISPHOSPHONATE: "Fracture on a bisphosphonate",
    RefractoryReason.BMD_LOSS_ON_TREATMENT: "BMD loss on treatment",
    RefractoryReason.ORAL_BP_INTOLERANCE: "Oral bisphosphonate intolerance",
    RefractoryReason.ORAL_BP_CONTRAINDICATED: "Oral bisphosphonate contraindicated",
    RefractoryReason.FRACTURE_ON_OTHER_THERAPY: "Fracture on denosumab or an anabolic",
}
RISK_WORDS: dict[str, str] = {
    RiskReason.RECENT_FRACTURE: f"Fracture within {limits.RECENT_FRACTURE_MONTHS} months",
    RiskReason.RECENT_VERTEBRAL_FRACTURE: (
        f"Vertebral fracture within {limits.RECENT_FRACTURE_MONTHS} months"
    ),
    RiskReason.MULTIPLE_FRACTURES: "Multiple fractures",
    RiskReason.FRACTURE_ON_THERAPY: "Fracture on osteoporosis therapy",
    RiskReason.FRACTURE_ON_GLUCOCORTICOIDS: "Fracture on glucocorticoids",
    RiskReason.VERY_LOW_T_SCORE: f"T-score below {limits.VERY_LOW_T_SCORE:.1f}",
    RiskReason.HIGH_FALL_RISK: "High fall risk",
    RiskReason.HIGH_FRAX: "High FRAX probability",
}
POPULATION_WORDS: dict[str, str] = {
    Population.GLUCOCORTICOID: "Glucocorticoid-induced osteoporosis",
    Population.IMMUNOSUPPRESSED: "Immunosuppressed",
    Population.CANCER_TREATMENT_BONE_LOSS: "Cancer-treatment bone loss",
}
PATHWAY_WORDS: dict[str, str] = {
    Pathway.DENOSUMAB_EXIT: "After denosumab",
    Pathway.SEQUENTIAL: "Sequential (antiresorptive after an anabolic)",
    Pathway.ANABOLIC_FAILURE: "Anabolic failure",
    Pathway.GLUCOCORTICOID: "Glucocorticoid-induced osteoporosis",
    Pathway.CANCER_SURVIVOR: "Cancer survivor",
    Pathway.ANABOLIC: "Anabolic first",
    Pathway.ANTIRESORPTIVE: "Antiresorptive",
    Pathway.NOT_REFRACTORY: "Not refractory",
}
AVOID_WORDS: dict[str, str] = {
    reason: words[:1].upper() + words[1:] for reason, words in AVOID_REASON_WORDS.items()
}

#: Words by the enum a code belongs to (values repeat across enums: IMMUNOSUPPRESSED is a
#: population and a reason to avoid a drug, with different words).
_WORDS: tuple[tuple[type, dict[str, str]], ...] = (
    (AlertCode, ALERT_WORDS),
    (MonitoringCode, MONITORING_WORDS),
    (RefractoryReason, REFRACTORY_WORDS),
    (RiskReason, RISK_WORDS),
    (Population, POPULATION_WORDS),
    (Pathway, PATHWAY_WORDS),
    (AvoidReason, AVOID_WORDS),
)
#: The fracture-liaison follow-up calls (`quality.follow_ups`): reminder kinds of the FLS's
#: schedule, not codes of the engine.
FOLLOW_UP_WORDS: dict[str, str] = {
    FOLLOW_UP_REMINDER_KINDS[FollowUpKind.WEEK_16]: "16-week follow-up call",
    FOLLOW_UP_REMINDER_KINDS[FollowUpKind.WEEK_52]: "52-week follow-up call",
}
#: A reminder's kind is stored as a plain string: an alert's or a monitoring item's code, or a
#: follow-up call's kind.
_KIND_WORDS = {**ALERT_WORDS, **MONITORING_WORDS, **FOLLOW_UP_WORDS}


def label(code: Any) -> str:
    """A code in words: AlertCode.DENOSUMAB_OVERDUE → "Denosumab overdue"; a reminder kind
    stored as a string ("DXA_FOLLOW_UP") → "DXA follow-up". A string no enum knows (a kind
    written by an older engine) falls back to its words: "OLD_KIND" → "Old kind"."""
    for kind, words in _WORDS:
        if isinstance(code, kind):
            return words[code]
    text = str(code)
    if text in _KIND_WORDS:
        return _KIND_WORDS[text]
    words = text.replace("_", " ").lower()
    return words[:1].upper() + words[1:]


def inline(text: str) -> str:
    """Sentence-case words for the middle of a sentence: "Fracture on a bisphosphonate" →
    "fracture on a bisphosphonate"; abbreviations keep their capitals ("BMD loss…")."""
    if len(text) > 1 and text[1].isupper():
        return text
    return text[:1].lower() + text[1:]


def drug_label(drug: Any) -> str:
    """A drug or a class where any of its drugs will do, as a list shows it: "Zoledronic acid",
    "a bisphosphonate", "an antiresorptive"."""
    value = str(getattr(drug, "value", drug))
    if value in GROUP_NAMES:
        return GROUP_NAMES[DrugGroup(value)]
    return catalogue.label(value).split(" (")[0]


def _limit(option: Option) -> str:
    """What is left of an option's course: "24 months of the PTH-analogue lifetime left"."""
    words = _limit_words(option.limit)
    if words and option.limit is not None and option.limit.months_remaining is not None:
        return words.replace(" left", " of the PTH-analogue lifetime left")
    return words


def _evidence(option: Option) -> str:
    evidence = EVIDENCE.get(option.drug)
    if evidence is None:
        return ""
    parts = [
        f"{name} {value:+}%"
        for name, value in (
            ("lumbar spine", evidence.lumbar_spine_pct),
            ("femoral neck", evidence.femoral_neck_pct),
            ("total hip", evidence.total_hip_pct),
        )
        if value is not None
    ]
    if evidence.other:
        parts.append(evidence.other)
    return f"BMD gain {', '.join(parts)} ({evidence.source})"


def _limit_words(limit: OptionLimit | None) -> str:
    if limit is None:
        return ""
    if limit.months_remaining is not None:
        return f"{limit.months_remaining} month{'' if limit.months_remaining == 1 else 's'} left"
    if limit.doses_remaining is not None:
        return f"{limit.doses_remaining} dose{'' if limit.doses_remaining == 1 else 's'} left"
    return ""


def _name(drug: Drug | DrugGroup) -> str:
    """A drug as a sentence names it: `zoledronic acid`, `a bisphosphonate`, `an
    antiresorptive`."""
    return GROUP_NAMES[drug] if isinstance(drug, DrugGroup) else DRUG_NAMES[drug]


#: The reason given when the course to continue has its last day today (`headline`).
LAST_DAY_REASON = (
    "Its course ends today, as recorded: from tomorrow the recommendation reads the record "
    "without it."
)


def headline(assessment: Assessment, *, is_last_day: bool = False) -> tuple[str, str]:
    """The page's first line, from the engine's recommendation (§5b), and the reason in one
    line: "Continue teriparatide — 14 months left — then zoledronic acid or denosumab".

    `is_last_day`: the active course's recorded last day is as_of. The engine counts a course
    as active through its last day, so on the day a clinician stops it the recommendation
    still reads "Continue …"; the headline says the course ends today rather than read as if
    the stop had not been recorded."""
    a = assessment
    r = a.recommendation
    if r is None:  # an assessment stored by engine version 1, which had no recommendation
        if a.options:
            first = a.options[0]
            return f"Consider {_name(first.drug)}", "Engine version 1: first ranked option"
        return "No change suggested", "Engine version 1"
    parts = []
    if r.action is RecommendationAction.NONE or r.drug is None:
        parts.append("No change suggested")
    else:
        verb = {"continue": "Continue", "switch": "Switch to", "start": "Start"}[r.action.value]
        parts.append(f"{verb} {_name(r.drug)}")
    is_ending = is_last_day and r.action is RecommendationAction.CONTINUE
    if is_ending:  # what is left of the course no longer matters: it ends today
        parts.append("last day today")
    elif _limit_words(r.limit):
        parts.append(_limit_words(r.limit))
    if r.then:
        parts.append(f"then {' or '.join(_name(d) for d in r.then)}")
    return " — ".join(parts), LAST_DAY_REASON if is_ending else _reason(a)


def _rule_sentence(a: Assessment, rule: RuleId) -> str:
    return next((entry.text for entry in a.rationale if entry.rule == rule), "")


def _reason(a: Assessment) -> str:
    """Why the recommendation says what it says, in one line of words (no codes)."""
    r = a.recommendation
    action = None if r is None else r.action
    if action is RecommendationAction.SWITCH:
        # Why the current drug should not go on; the headline already says what comes next.
        return f"{_rule_sentence(a, RuleId.REC_2).split(': switch to ')[0].rstrip('.')}."
    if action is RecommendationAction.START and a.options:
        # The pathway rule's own reason, without its list of candidates.
        why = _rule_sentence(a, a.options[0].rules[0]).split(": ")[0].rstrip(".")
        return f"{why}; no osteoporosis therapy is active."
    if action is RecommendationAction.CONTINUE:
        if a.options:
            return f"Alternatives if needed: {', '.join(_name(o.drug) for o in a.options)}."
        return "Nothing in the record calls for a change of drug."
    if a.pathway is Pathway.NOT_REFRACTORY:
        return "Not refractory, and no osteoporosis therapy is active."
    return "No eligible option: review the drugs to avoid."


#: Where a rule comes from, in words (RULES.md "Sources"): the source guideline the rule book
#: was seeded from, or a label or guideline the rule book added.
_BASIS_WORDS = {Basis.SEED: "Source guideline", Basis.ADDED: "Added from labels and guidelines"}


@dataclass(frozen=True)
class Panel:
    assessment: Assessment
    headline: str
    #: The headline's reason, in one line.
    reason: str
    options: list[dict[str, Any]]
    avoid: list[dict[str, Any]]
    alerts: list[dict[str, Any]]
    monitoring: list[dict[str, Any]]
    advice: list[str]
    rationale: list[dict[str, Any]]
    critical_count: int
    #: Always empty here; an `UnevaluatedPanel` lists what to correct (templates test this).
    problems: list[str] = field(default_factory=list)

    @property
    def critical_alerts(self) -> list[dict[str, Any]]:
        """Shown once, as banners under the headline."""
        return [alert for alert in self.alerts if alert["severity"] == Severity.CRITICAL]

    @property
    def other_alerts(self) -> list[dict[str, Any]]:
        """Warnings and information: the alert list beside the monitoring plan."""
        return [alert for alert in self.alerts if alert["severity"] != Severity.CRITICAL]

    @property
    def refractory_reasons(self) -> list[str]:
        return [label(r) for r in self.assessment.refractory.reasons]

    @property
    def refractory_text(self) -> str:
        """The reasons for the middle of a sentence: "fracture on a bisphosphonate; BMD loss…"."""
        return "; ".join(inline(reason) for reason in self.refractory_reasons)

    @property
    def risk_reasons(self) -> list[str]:
        return [label(r) for r in self.assessment.very_high_risk.reasons]

    @property
    def risk_text(self) -> str:
        return "; ".join(inline(reason) for reason in self.risk_reasons)

    @property
    def populations(self) -> list[str]:
        return [label(p) for p in self.assessment.populations]

    @property
    def pathway(self) -> str:
        return label(self.assessment.pathway)


@dataclass(frozen=True)
class UnevaluatedPanel:
    """In place of a `Panel` when the stored record holds values the engine refuses: no
    recommendation, alerts or monitoring plan, but the values to correct (`RecordNotEvaluable`)."""

    problems: list[str]


def case_panel(case: Case) -> Panel | UnevaluatedPanel:
    """The panel for a case built from stored records, or what to correct before there is one."""
    try:
        return recommendation_panel(case_evaluate(case))
    except RecordNotEvaluable as error:
        return UnevaluatedPanel(problems=error.problems)


def recommendation_panel(assessment: Assessment) -> Panel:
    a = assessment
    options = [
        {
            "rank": o.rank,
            "drug": o.drug.value,
            "label": drug_label(o.drug),
            "drug_class": o.drug_class.value,
            "then": [drug_label(d) for d in o.then],
            "limit": _limit(o),
            "rules": [r.value for r in o.rules],
            "evidence": _evidence(o),
        }
        for o in a.options
    ]
    title, reason = headline(a)
    alerts = sorted(a.alerts, key=lambda al: _SEVERITY_ORDER[al.severity])
    return Panel(
        assessment=a,
        headline=title,
        reason=reason,
        options=options,
        avoid=[
            {
                "drug": e.drug.value,
                "label": drug_label(e.drug),
                "reason": label(e.reason),
                "reason_inline": AVOID_REASON_WORDS[e.reason],
                "severity": e.severity.value,
                "rules": [r.value for r in e.rules],
            }
            for e in a.avoid
        ],
        alerts=[
            {
                "code": al.code.value,
                "label": label(al.code),
                "severity": al.severity.value,
                "css": _BOOTSTRAP[al.severity],
                "due": al.due,
                "is_overdue": al.due is not None and al.due < a.as_of,
                "rules": [r.value for r in al.rules],
                "title": RULES[al.rules[0]].title if al.rules else "",
            }
            for al in alerts
        ],
        monitoring=[
            {
                "code": m.code.value,
                "label": label(m.code),
                "due": m.due,
                "drug": drug_label(m.drug) if m.drug else "",
                "is_overdue": m.due < a.as_of,
                "rule": m.rule.value,
            }
            for m in a.monitoring
        ],
        advice=[ADVICE[item] for item in (*a.supplementation, *a.lifestyle)],
        rationale=[
            {
                "rule": r.rule.value,
                "text": r.text,
                "source": RULES[r.rule].source,
                "basis": _BASIS_WORDS[RULES[r.rule].basis],
                "title": RULES[r.rule].title,
            }
            for r in a.rationale
        ],
        critical_count=sum(al.severity is Severity.CRITICAL for al in a.alerts),
    )


#: Said beside a course of a drug the rules ignore.
UNCOUNTED = "the treatment algorithm does not count it"

# --- the patient's current therapy -------------------------------------------------------------

#: What one dose of each drug given in clinic is called ("next infusion due …"); "dose" for the
#: others. The patient page, the summary and the letter all name a dose from here.
DOSE_WORDS: dict[str, str] = {
    Drug.ZOLEDRONIC_ACID: "infusion",
    Drug.DENOSUMAB: "injection",
    Drug.ROMOSOZUMAB: "injection",
}


def dose_word(drug: str) -> str:
    """ "infusion", "injection" or "dose"."""
    return DOSE_WORDS.get(drug, "dose")


@dataclass(frozen=True)
class CurrentTherapy:
    """The current-therapy line of the patient page and printouts: "On zoledronic acid since
    2026-03-01 · next infusion due 2027-03-01", "On alendronate since ≈ 2016", or "No
    osteoporosis therapy" (`drug` empty). The page's header, the summary and the letter all
    read this one object, so the three cannot name different drugs or dates."""

    #: The active course's drug, as a sentence names it; "" when no course is active.
    drug: str = ""
    #: The course's start as stored (the first day of its period when approximate).
    since: dt.date | None = None
    #: How much of `since` is known (`patients.approximate_dates`); "day" unless the record
    #: says otherwise.
    since_precision: str = DatePrecision.DAY
    #: The active course's next dose, from the engine's monitoring plan (MON-5), when it lists
    #: one; None for drugs taken at home and when the record cannot be evaluated.
    next_dose_due: dt.date | None = None
    #: "infusion" or "injection".
    dose_word: str = ""
    is_overdue: bool = False
    #: The active course's last day when its end is recorded (a course stopped today is
    #: active today: the engine reads it so), as stored, and how precisely it is known.
    until: dt.date | None = None
    until_precision: str = DatePrecision.DAY
    #: The recorded last day is as_of, to the day: the course stops today.
    is_last_day: bool = False
    #: The stored course the engine calls active, when the caller passed the records.
    course: TherapyCourse | None = None
    #: False for a drug every rule ignores (raloxifene, another drug: RULES.md conventions),
    #: named because it is what the patient takes, though the engine sees no therapy.
    is_counted: bool = True

    @property
    def since_shown(self) -> str:
        """ "2026-03-01", or "≈ 2016" for a start known only to the year."""
        return approximate_dates.shown(self.since, self.since_precision)

    @property
    def until_shown(self) -> str:
        return approximate_dates.shown(self.until, self.until_precision)

    @property
    def note(self) -> str:
        """Said beside a drug the rules ignore; "" otherwise."""
        return "" if self.is_counted else UNCOUNTED

    @property
    def text(self) -> str:
        if not self.drug or self.since is None:
            return "No osteoporosis therapy"
        text = f"On {self.drug} since {self.since_shown}"
        if self.until is not None:
            text += f" · last day {self.until_shown}"
        if self.next_dose_due is not None:
            text += f" · next {self.dose_word} due {self.next_dose_due.isoformat()}"
            if self.is_overdue:
                text += " (overdue)"
        if self.note:
            text += f" ({self.note})"
        return text


def current_therapy(
    case: Case, panel: Panel | UnevaluatedPanel, *, courses: Iterable[TherapyCourse] = ()
) -> CurrentTherapy:
    """The engine's "active course" of `case` (supersession and its tie-breaks applied there,
    not here) and its next dose from `panel`'s monitoring plan. `courses`, the patient's stored
    `TherapyCourse` rows, give the course's record and how precisely its start is known: the
    engine reads an approximate start as its period's first day, which is the stored day, so
    the record is the one of that drug stored with that start."""
    course = active_course(case)
    if course is None:
        return _uncounted_therapy(case.as_of, courses)
    due = None
    if isinstance(panel, Panel):
        due = min(
            [
                item.due
                for item in panel.assessment.monitoring
                if item.code == MonitoringCode.NEXT_DOSE and item.drug == course.drug
            ],
            default=None,
        )
    record = None
    for candidate in courses:  # the last of equals: the one listed later, as the engine breaks ties
        if candidate.drug == course.drug and candidate.start == course.start:
            record = candidate
    until = record.end if record is not None else course.end
    until_precision = record.end_precision if record is not None else DatePrecision.DAY
    return CurrentTherapy(
        drug=DRUG_NAMES[course.drug],
        since=course.start,
        since_precision=record.start_precision if record is not None else DatePrecision.DAY,
        until=until,
        until_precision=until_precision,
        is_last_day=until == case.as_of and until_precision == DatePrecision.DAY,
        next_dose_due=due,
        dose_word=dose_word(course.drug),
        is_overdue=due is not None and due < case.as_of,
        course=record,
    )


def _uncounted_therapy(as_of: dt.date, courses: Iterable[TherapyCourse]) -> CurrentTherapy:
    """Without an active osteoporosis therapy, a stored course open on as_of is one of a drug the
    rules ignore: named, and said to be uncounted, rather than "No osteoporosis therapy" above
    a table that lists it as ongoing."""
    open_courses = [
        c for c in courses if c.start <= as_of and (c.end_latest is None or c.end_latest >= as_of)
    ]
    if not open_courses:
        return CurrentTherapy()
    record = open_courses[-1]
    return CurrentTherapy(
        drug="another drug" if record.drug == Drug.OTHER else DRUG_NAMES[Drug(record.drug)],
        since=record.start,
        since_precision=record.start_precision,
        until=record.end,
        until_precision=record.end_precision,
        course=record,
        is_counted=False,
    )


def patient_panel(
    case: Case, *, courses: Iterable[TherapyCourse]
) -> tuple[Panel | UnevaluatedPanel, CurrentTherapy]:
    """The recommendation panel and the current-therapy line of one patient, as the patient
    page, the printable summary and the letter show them: `case_panel`, `current_therapy` on
    the stored `courses`, and a headline that says so when the course to continue ends today
    (`headline`'s `is_last_day`)."""
    panel = case_panel(case)
    current = current_therapy(case, panel, courses=courses)
    if isinstance(panel, Panel) and current.is_last_day and current.is_counted:
        title, reason = headline(panel.assessment, is_last_day=True)
        panel = replace(panel, headline=title, reason=reason)
    return panel, current
