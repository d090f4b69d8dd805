"""Public helpers (add_months, bmd_change), rule metadata, evidence, advice and limits."""

from __future__ import annotations

import datetime as dt

import pytest

from therapy.engine import (
    ADVICE,
    EVIDENCE,
    RULES,
    Basis,
    Lifestyle,
    RuleId,
    Supplement,
    add_months,
    bmd_change,
    limits,
)
from therapy.engine.case import Drug, DxaSite
from therapy.engine.dates import exposure_days, months_between


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        ("2026-01-31", 1, "2026-02-28"),
        ("2024-01-31", 1, "2024-02-29"),
        ("2026-03-31", -1, "2026-02-28"),
        ("2025-11-25", 12, "2026-11-25"),
        ("2026-11-25", -12, "2025-11-25"),
        ("2026-08-31", 3, "2026-11-30"),
        ("2026-12-15", 1, "2027-01-15"),
        ("2024-02-29", 12, "2025-02-28"),
        ("2026-05-10", 0, "2026-05-10"),
    ],
)
def test_add_months_is_calendar_arithmetic(day: str, months: int, expected: str) -> None:
    assert add_months(dt.date.fromisoformat(day), months) == dt.date.fromisoformat(expected)


@pytest.mark.parametrize(
    ("start", "end", "months"),
    [
        ("2022-03-01", "2026-05-10", 50),
        ("2026-01-31", "2026-02-27", 0),
        ("2026-01-31", "2026-02-28", 1),
        ("2025-09-01", "2026-07-10", 10),
    ],
)
def test_months_between_counts_whole_calendar_months(start: str, end: str, months: int) -> None:
    assert months_between(dt.date.fromisoformat(start), dt.date.fromisoformat(end)) == months


def test_exposure_counts_both_ends_and_stops_at_as_of() -> None:
    as_of = dt.date(2026, 11, 25)
    assert exposure_days(dt.date(2026, 11, 25), None, as_of) == 1
    assert exposure_days(dt.date(2026, 11, 1), dt.date(2027, 5, 1), as_of) == 25
    assert exposure_days(dt.date(2026, 11, 26), None, as_of) == 0


@pytest.mark.parametrize(
    ("site", "earlier", "later", "lsc", "change", "significant_loss"),
    [
        (DxaSite.LUMBAR_SPINE, 1.0, 0.947, None, -5.3, False),
        (DxaSite.LUMBAR_SPINE, 1.0, 0.946, None, -5.4, True),
        (DxaSite.TOTAL_HIP, 1.0, 0.95, None, -5.0, False),
        (DxaSite.FEMORAL_NECK, 1.0, 0.93, None, -7.0, True),
        (DxaSite.FEMORAL_NECK, 1.0, 0.93, 8.0, -7.0, False),
        (DxaSite.LUMBAR_SPINE, 0.8, 0.9, None, 12.5, False),
    ],
)
def test_bmd_change_against_the_lsc(
    site: DxaSite,
    earlier: float,
    later: float,
    lsc: float | None,
    change: float,
    significant_loss: bool,
) -> None:
    result = bmd_change(site, earlier, later, lsc)
    assert result.change_pct == pytest.approx(change)
    assert result.lsc_pct == (limits.DEFAULT_LSC_PCT[site] if lsc is None else lsc)
    assert result.is_significant_loss is significant_loss
    assert result.is_significant is (significant_loss or result.is_significant_gain)


def test_every_rule_id_has_a_title_and_a_source() -> None:
    assert set(RULES) == set(RuleId)
    for rule, info in RULES.items():
        assert info.rule == rule
        assert info.title and info.source
        assert info.basis in (Basis.SEED, Basis.ADDED)
    assert RULES[RuleId.ELG_3].note is not None
    assert RULES[RuleId.SEL_4].note is not None
    assert "Evenity" in RULES[RuleId.ELG_9].source


def test_evidence_of_section_9() -> None:
    assert set(EVIDENCE) == {Drug.ZOLEDRONIC_ACID, Drug.DENOSUMAB, Drug.TERIPARATIDE}
    zoledronic = EVIDENCE[Drug.ZOLEDRONIC_ACID]
    assert str(zoledronic.lumbar_spine_pct) == "6.10"
    assert zoledronic.other == "vertebral fracture RR 0.33"
    assert EVIDENCE[Drug.TERIPARATIDE].total_hip_pct is None


def test_advice_texts() -> None:
    assert set(ADVICE) == {*Supplement, *Lifestyle}
    assert ADVICE[Supplement.CALCIUM].startswith("Calcium 1000–1200 mg/day")
    assert ADVICE[Supplement.VITAMIN_D].startswith("Vitamin D 800–1000 IU/day")
    assert "30 ng/mL" in ADVICE[Supplement.VITAMIN_D]


def test_shared_data_limits() -> None:
    assert limits.BMD_G_CM2_RANGE == (0.2, 2.0)
    assert limits.T_SCORE_RANGE == (-7.0, 5.0)
    assert limits.ROMOSOZUMAB_MAX_DOSES == 12
    assert limits.PTH_ANALOGUE_LIFETIME_MONTHS == 24
    assert dict(limits.DEFAULT_LSC_PCT) == {
        DxaSite.LUMBAR_SPINE: 5.3,
        DxaSite.TOTAL_HIP: 5.0,
        DxaSite.FEMORAL_NECK: 6.9,
    }
