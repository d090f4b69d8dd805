"""`evaluate`: a case and a date in, an assessment out; `schedule`: the part of it the reminder
scan reads. Both pure (no clock, no I/O)."""

from __future__ import annotations

import datetime as dt
from operator import attrgetter
from typing import NamedTuple

from therapy.engine.advice import assess_advice
from therapy.engine.alerts import (
    AlertFindings,
    anabolic_without_follow_on,
    assess_alerts,
    denosumab_stop,
    romosozumab_cardiovascular_events,
)
from therapy.engine.assessment import (
    Alert,
    Assessment,
    AvoidEntry,
    MonitoringItem,
    Refractory,
    VeryHighRisk,
)
from therapy.engine.case import CardiovascularEvent, Case
from therapy.engine.codes import Population
from therapy.engine.eligibility import EligibilityFindings, assess_eligibility
from therapy.engine.history import History, history_of
from therapy.engine.monitoring import MonitoringFindings, assess_monitoring
from therapy.engine.populations import PopulationFindings, assess_populations
from therapy.engine.recommendation import assess_recommendation
from therapy.engine.refractory import RefractoryFindings, assess_refractory
from therapy.engine.risk import RiskFindings, assess_very_high_risk
from therapy.engine.selection import (
    Selection,
    choose_pathway,
    failure_entries,
    select_options,
)

ENGINE_VERSION = "2"

_IMMUNOSUPPRESSED = Population.IMMUNOSUPPRESSED


#: `avoid` is sorted by drug, then rule id (CASE_FORMAT.md). Eligibility lists its entries in
#: rule order and SEL-8 comes after every ELG rule, so a stable sort by drug gives that order.
_BY_DRUG = attrgetter("drug")


class Schedule(NamedTuple):
    """What the nightly reminder scan reads of an assessment: its alerts and its monitoring
    items, exactly as `evaluate` gives them on the same case and date."""

    alerts: tuple[Alert, ...]
    monitoring: tuple[MonitoringItem, ...]


class _Core(NamedTuple):
    """§1 to §7 but the §5b recommendation and §8 advice: every step `Schedule` needs."""

    history: History
    refractory: RefractoryFindings
    risk: RiskFindings
    populations: PopulationFindings
    eligibility: EligibilityFindings
    avoid: tuple[AvoidEntry, ...]
    selection: Selection
    alerts: AlertFindings
    monitoring: MonitoringFindings
    #: ALR-8's MI or stroke during a romosozumab course (empty when none).
    romosozumab_events: list[CardiovascularEvent]


def _core(case: Case, day: dt.date) -> _Core:
    history = history_of(case, day)

    refractory = assess_refractory(history)
    is_refractory = refractory.status
    risk = assess_very_high_risk(history)
    populations = assess_populations(history)
    is_immunosuppressed = _IMMUNOSUPPRESSED in populations.populations
    stop = denosumab_stop(history)
    anabolic_ended = anabolic_without_follow_on(history)
    romosozumab_events = romosozumab_cardiovascular_events(history)

    eligibility = assess_eligibility(
        history, is_refractory=is_refractory, is_immunosuppressed=is_immunosuppressed
    )
    avoid = tuple(sorted(eligibility.avoid + failure_entries(refractory.failed), key=_BY_DRUG))
    choice = choose_pathway(
        history,
        stop=stop,
        anabolic_ended=anabolic_ended,
        failed=refractory.failed,
        is_refractory=is_refractory,
        populations=populations.populations,
        is_very_high_risk=risk.status,
    )
    selection = select_options(history, choice, avoid, refractory.failed)
    alerts = assess_alerts(
        history,
        is_immunosuppressed=is_immunosuppressed,
        stop=stop,
        anabolic_ended=anabolic_ended,
        cardiovascular_events_on_romosozumab=romosozumab_events,
        options=selection.options,
        empty_pathway=selection.empty_pathway,
    )
    monitoring = assess_monitoring(
        history,
        stop=stop,
        anabolic_ended=anabolic_ended,
        romosozumab_stopped=bool(romosozumab_events),
    )
    return _Core(
        history=history,
        refractory=refractory,
        risk=risk,
        populations=populations,
        eligibility=eligibility,
        avoid=avoid,
        selection=selection,
        alerts=alerts,
        monitoring=monitoring,
        romosozumab_events=romosozumab_events,
    )


def schedule(case: Case, *, as_of: dt.date | None = None) -> Schedule:
    """The alerts and monitoring items of `evaluate(case, as_of=as_of)`, without the steps
    they do not depend on (the §5b recommendation and §8 advice, and the rationale's
    assembly): the reminder scan's evaluation of every patient, every night."""
    core = _core(case, case.as_of if as_of is None else as_of)
    return Schedule(core.alerts.alerts, core.monitoring.items)


def evaluate(case: Case, *, as_of: dt.date | None = None) -> Assessment:
    """Assess `case` on `as_of` (default `case.as_of`), applying RULES.md §1 to §8 in order
    (the §5b recommendation after the alerts it depends on)."""
    day = case.as_of if as_of is None else as_of
    core = _core(case, day)
    selection = core.selection
    recommendation = assess_recommendation(
        core.history,
        selection.options,
        core.avoid,
        romosozumab_stopped=bool(core.romosozumab_events),
    )
    advice = assess_advice(core.history)

    # Each step lists its sentences in rule order, and the steps follow RULES.md's order.
    rationale = (
        core.refractory.rationale
        + core.risk.rationale
        + core.populations.rationale
        + core.eligibility.rationale
        + selection.rationale
        + recommendation.rationale
        + core.alerts.rationale
        + core.monitoring.rationale
        + advice.rationale
    )
    return Assessment(
        engine_version=ENGINE_VERSION,
        as_of=day,
        refractory=Refractory(core.refractory.status, core.refractory.reasons),
        very_high_risk=VeryHighRisk(core.risk.status, core.risk.reasons),
        populations=core.populations.populations,
        pathway=selection.pathway,
        options=selection.options,
        recommendation=recommendation.recommendation,
        avoid=core.avoid,
        alerts=core.alerts.alerts,
        monitoring=core.monitoring.items,
        supplementation=advice.supplementation,
        lifestyle=advice.lifestyle,
        rationale=rationale,
        fired_rules=tuple([entry.rule for entry in rationale]),
    )
