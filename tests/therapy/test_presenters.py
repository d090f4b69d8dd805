"""The page's headline, read from the engine's recommendation (§5b), in words a clinician reads:
no codes, the drug the patient is on respected."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from therapy.engine import (
    AlertCode,
    AvoidReason,
    DrugGroup,
    MonitoringCode,
    Pathway,
    Population,
    RefractoryReason,
    RiskReason,
    assessment_from_json,
    assessment_to_json,
    evaluate,
    parse_case,
)
from therapy.engine.case import Drug
from therapy.models import TherapyCourse
from therapy.presenters import (
    UnevaluatedPanel,
    current_therapy,
    drug_label,
    headline,
    label,
    recommendation_panel,
)

CASES = Path(__file__).resolve().parents[1] / "cases"


def _assessment(name: str):
    return evaluate(parse_case(json.loads((CASES / name).read_text())["case"]))


@pytest.mark.parametrize(
    ("case", "title", "reason"),
    [
        pytest.param(
            "v19_teriparatide_started_after_failure.json",
            "Continue teriparatide — 21 months left — then zoledronic acid or denosumab",
            "Alternatives if needed: zoledronic acid, denosumab.",
            id="continue the drug just started, with its limit and what follows",
        ),
        pytest.param(
            "v17_same_day_switch_denosumab_to_zoledronic.json",
            "Continue zoledronic acid",
            "Nothing in the record calls for a change of drug.",
            id="a correct switch is not switched again",
        ),
        pytest.param(
            "v05_rapid_bmd_loss_on_risedronate.json",
            "Switch to zoledronic acid",
            "Risedronate should not go on (oral bisphosphonates not appropriate when refractory; "
            "treatment failure).",
            id="switch, with the reason in one line",
        ),
        pytest.param(
            "v09_denosumab_stopped_no_follow_on.json",
            "Start zoledronic acid",
            "Denosumab was stopped and must be followed by a bisphosphonate; no osteoporosis "
            "therapy is active.",
            id="start, with the pathway's reason",
        ),
        pytest.param(
            "v08_denosumab_overdue.json",
            "Continue denosumab — then a bisphosphonate",
            "Nothing in the record calls for a change of drug.",
            id="a group reads as words",
        ),
    ],
)
def test_headline_says_what_to_do_first(case: str, title: str, reason: str) -> None:
    assert headline(_assessment(case)) == (title, reason)


def test_no_recommendation_reads_no_change_suggested() -> None:
    assessment = evaluate(parse_case({"as_of": "2026-11-25"}))
    assert headline(assessment) == (
        "No change suggested",
        "Not refractory, and no osteoporosis therapy is active.",
    )


def test_a_course_to_continue_whose_last_day_is_today_says_so() -> None:
    title, reason = headline(_assessment("v01_stable_on_alendronate.json"), is_last_day=True)

    assert title == "Continue alendronate — last day today"
    assert reason.startswith("Its course ends today, as recorded")


def test_the_last_day_changes_nothing_but_a_continue() -> None:
    assessment = _assessment("v19_teriparatide_started_after_failure.json")
    start = _assessment("v07_transplant_on_steroids.json")

    assert headline(start, is_last_day=True) == headline(start)
    assert headline(assessment, is_last_day=True)[0] == (
        "Continue teriparatide — last day today — then zoledronic acid or denosumab"
    )


def test_an_assessment_of_engine_version_1_still_has_a_headline() -> None:
    stored = assessment_to_json(_assessment("v03_vertebral_fracture_on_alendronate.json"))
    del stored["recommendation"]
    title, reason = headline(assessment_from_json(stored))
    assert title == "Consider teriparatide"
    assert "version 1" in reason


@pytest.mark.parametrize("path", sorted(CASES.glob("*.json")), ids=lambda p: p.stem)
def test_no_code_reaches_the_headline(path: Path) -> None:
    title, reason = headline(_assessment(path.name))
    for text in (title, reason):
        assert "_" not in text and not any(
            word.isupper() and len(word) > 4 for word in text.split()
        )


# --- codes in words -----------------------------------------------------------------------------

ENUMS = [AlertCode, MonitoringCode, RefractoryReason, RiskReason, Population, Pathway, AvoidReason]
#: A code as the engine writes it: DENOSUMAB_OVERDUE, BTM_3_MONTHS, denosumab_exit.
CODE = re.compile(r"\b[A-Za-z0-9]+(?:_[A-Za-z0-9]+)+\b")


@pytest.mark.parametrize("enum", ENUMS, ids=lambda e: e.__name__)
def test_every_code_of_the_engine_has_its_own_words(enum) -> None:
    for member in enum:
        words = label(member)
        assert words and not CODE.search(words), member
        assert words[0].isupper() or words[0].isdigit(), member


def test_codes_shared_by_two_enums_keep_their_own_words() -> None:
    assert label(Population.IMMUNOSUPPRESSED) == "Immunosuppressed"
    assert label(AvoidReason.IMMUNOSUPPRESSED) == "Infection risk when immunosuppressed"


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("DENOSUMAB_STOPPED_WITHOUT_FOLLOW_ON", "Denosumab stopped without follow-on"),
        ("DXA_FOLLOW_UP", "DXA follow-up"),
        ("FOLLOW_ON_START", "Start of the follow-on drug"),
        ("A_KIND_NO_ENGINE_KNOWS", "A kind no engine knows"),
    ],
)
def test_a_reminder_kind_stored_as_text_reads_as_the_engines_words(kind, words) -> None:
    assert label(kind) == words


@pytest.mark.parametrize(
    ("drug", "words"),
    [
        (DrugGroup.BISPHOSPHONATE, "a bisphosphonate"),
        (DrugGroup.ANTIRESORPTIVE, "an antiresorptive"),
        ("antiresorptive", "an antiresorptive"),
        (Drug.ZOLEDRONIC_ACID, "Zoledronic acid"),
    ],
)
def test_a_drug_class_takes_its_article(drug, words) -> None:
    assert drug_label(drug) == words


def _read(panel) -> list[str]:
    """Every text of a panel that a person reads (rule ids aside, which stay, small)."""
    texts = [panel.headline, panel.reason, panel.pathway, panel.refractory_text, panel.risk_text]
    texts += panel.populations + panel.advice
    for option in panel.options:
        texts += [option["label"], option["limit"], option["evidence"], *option["then"]]
    for entry in panel.avoid:
        texts += [entry["label"], entry["reason"], entry["reason_inline"]]
    for alert in panel.alerts:
        texts += [alert["label"], alert["title"], alert["severity"]]
    for item in panel.monitoring:
        texts += [item["label"], item["drug"]]
    for entry in panel.rationale:
        texts += [entry["text"], entry["source"], entry["basis"], entry["title"]]
    return texts


@pytest.mark.parametrize("path", sorted(CASES.glob("*.json")), ids=lambda p: p.stem)
def test_no_code_and_no_seed_reaches_any_text_of_the_panel(path: Path) -> None:
    for text in _read(recommendation_panel(_assessment(path.name))):
        assert not CODE.search(text), text
        assert "SEED" not in text and "ADDED" not in text, text
        assert " a antiresorptive" not in text and "follow on" not in text.lower(), text


def test_sources_name_the_source_guideline_in_words() -> None:
    panel = recommendation_panel(_assessment("v08_denosumab_overdue.json"))
    alr_2 = next(r for r in panel.rationale if r["rule"] == "ALR-2")
    assert alr_2["basis"] == "Source guideline"
    assert alr_2["source"].startswith("Source guideline (")


def test_critical_alerts_and_the_other_alerts_are_apart() -> None:
    panel = recommendation_panel(_assessment("v09_denosumab_stopped_no_follow_on.json"))
    assert [a["label"] for a in panel.critical_alerts] == ["Denosumab stopped without follow-on"]
    assert all(a["severity"] != "critical" for a in panel.other_alerts)
    assert len(panel.critical_alerts) + len(panel.other_alerts) == len(panel.alerts)
    assert panel.critical_count == 1


# --- the current therapy ------------------------------------------------------------------------


def _case(name: str):
    return parse_case(json.loads((CASES / name).read_text())["case"])


@pytest.mark.parametrize(
    ("case", "text"),
    [
        pytest.param(
            "v20_zoledronic_started_oral_bp_left_open.json",
            "On zoledronic acid since 2026-03-01 · next infusion due 2027-03-01",
            id="the superseding course, with its next infusion",
        ),
        pytest.param(
            "v08_denosumab_overdue.json",
            "On denosumab since 2024-03-10 · next injection due 2026-09-20 (overdue)",
            id="an injection overdue says so",
        ),
        pytest.param(
            "v19_teriparatide_started_after_failure.json",
            "On teriparatide since 2026-09-20",
            id="a drug taken at home has no next dose",
        ),
        pytest.param(
            "v09_denosumab_stopped_no_follow_on.json",
            "No osteoporosis therapy",
            id="a stopped course is not current",
        ),
    ],
)
def test_the_current_therapy_line(case: str, text: str) -> None:
    subject = _case(case)

    current = current_therapy(subject, recommendation_panel(evaluate(subject)))

    assert current.text == text


def test_the_current_therapy_takes_the_precision_of_its_stored_start() -> None:
    subject = _case("v01_stable_on_alendronate.json")
    active = subject.therapies[-1]
    stored = [
        TherapyCourse(drug="alendronate", start=active.start, start_precision="month"),
        TherapyCourse(drug="denosumab", start=active.start),  # another drug on that day
    ]

    current = current_therapy(subject, recommendation_panel(evaluate(subject)), courses=stored)

    assert current.course is stored[0]
    assert current.text == f"On alendronate since ≈ {active.start:%Y-%m}"


def test_a_record_that_cannot_be_evaluated_still_names_its_therapy_without_a_next_dose() -> None:
    subject = _case("v08_denosumab_overdue.json")

    current = current_therapy(subject, UnevaluatedPanel(problems=["Patient: birth date …"]))

    assert current.drug == "denosumab" and current.next_dose_due is None
