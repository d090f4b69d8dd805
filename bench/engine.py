"""Engine throughput on one core: `python bench/engine.py`.

(a) the 16 shared cases (parsed once, evaluated in a loop for ~2 s), (b) a synthetic patient with
30 years of history, (c) `parse_case` over the shared cases. Prints lines to paste into a note.
"""

from __future__ import annotations

import datetime as dt
import json
import platform
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from therapy.engine import ENGINE_VERSION, case_to_json, evaluate, parse_case  # noqa: E402
from therapy.engine.case import Case  # noqa: E402

CASES_DIR = ROOT / "tests" / "cases"
SECONDS = 2.0
ROUNDS = 3


def rate(run: Callable[[], int], seconds: float = SECONDS, rounds: int = ROUNDS) -> float:
    """Items per second done by `run` (which returns how many it did), looping for `seconds` in
    all; the best of `rounds` rounds, as timeit does, so that a busy neighbour on a shared
    machine does not count as engine time."""
    best = 0.0
    for _ in range(rounds):
        done = 0
        start = time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds / rounds:
            done += run()
        best = max(best, done / elapsed)
    return best


def shared_cases() -> list[dict[str, Any]]:
    return [json.loads(path.read_text())["case"] for path in sorted(CASES_DIR.glob("*.json"))]


def _day(start: dt.date, days: int) -> str:
    return (start + dt.timedelta(days=days)).isoformat()


def thirty_year_patient(seed: int = 30) -> dict[str, Any]:
    """A valid case: 25 fractures, 15 courses, ~60 doses, 30 DXA scans, 100 labs."""
    rng = random.Random(seed)
    as_of = dt.date(2026, 11, 25)
    first = dt.date(1996, 11, 25)
    plan = [  # (drug, years) in order; injected drugs get their doses
        ("alendronate", 3),
        ("risedronate", 2),
        ("zoledronic_acid", 3),
        ("ibandronate", 2),
        ("denosumab", 3),
        ("zoledronic_acid", 1),
        ("teriparatide", 1),
        ("ibandronate", 2),
        ("denosumab", 2),
        ("zoledronic_acid", 2),
        ("abaloparatide", 1),
        ("risedronate", 2),
        ("romosozumab", 1),
        ("zoledronic_acid", 2),
        ("denosumab", 3),
    ]
    therapies = []
    start = first
    for index, (drug, years) in enumerate(plan):
        end = start + dt.timedelta(days=365 * years - 20)
        is_last = index == len(plan) - 1
        interval = {  # days between doses of drugs given in clinic (ibandronate: IV)
            "zoledronic_acid": 365,
            "denosumab": 182,
            "romosozumab": 30,
            "ibandronate": 91,
        }.get(drug)
        doses: list[str] = []
        if interval:
            day = start
            while day <= (as_of if is_last else end) and len(doses) < 12:
                doses.append(day.isoformat())
                day += dt.timedelta(days=interval)
        therapies.append(
            {
                "drug": drug,
                "start": start.isoformat(),
                "end": None if is_last else end.isoformat(),
                "stop_reason": None if is_last else "completed",
                "doses": doses,
            }
        )
        start = end + dt.timedelta(days=20)
    sites = ("vertebral", "hip", "wrist", "humerus", "pelvis", "rib", "other")
    fractures = [
        {"date": _day(first, rng.randrange(0, 30 * 365)), "site": rng.choice(sites)}
        for _ in range(25)
    ]
    dxa = [
        {
            "date": _day(first, 365 * year + rng.randrange(0, 60)),
            "sites": {
                "lumbar_spine": {"bmd_g_cm2": round(rng.uniform(0.70, 0.95), 3), "t_score": -2.5},
                "femoral_neck": {"bmd_g_cm2": round(rng.uniform(0.55, 0.75), 3), "t_score": -2.4},
                "total_hip": {"bmd_g_cm2": round(rng.uniform(0.60, 0.85), 3), "t_score": -2.2},
            },
        }
        for year in range(30)
    ]
    tests = ("ctx", "p1np", "vitamin_d_25oh", "calcium")
    labs = [
        {
            "date": _day(first, rng.randrange(0, 30 * 365)),
            "test": test,
            "value": round(rng.uniform(0.2, 60), 2),
        }
        for test in (rng.choice(tests) for _ in range(100))
    ]
    return {
        "as_of": as_of.isoformat(),
        "patient": {"sex": "female", "birth_date": "1940-03-14"},
        "risk_factors": {
            "creatinine_clearance_ml_min": 52,
            "glucocorticoids": [
                {"prednisone_mg_per_day": 5, "start": "2010-01-01", "end": "2012-06-30"},
                {"prednisone_mg_per_day": 7.5, "start": "2024-02-01", "end": None},
            ],
            "cardiovascular_events": [{"kind": "stroke", "date": "2019-05-02"}],
            "immunosuppressants": ["methotrexate"],
        },
        "fractures": fractures,
        "therapies": therapies,
        "dxa": dxa,
        "labs": labs,
        "reassessments": [f"{year}-03-01" for year in range(1998, 2026)],
    }


def main() -> None:
    data = shared_cases()
    cases: list[Case] = [parse_case(case) for case in data]
    long_data = thirty_year_patient()
    long_case = parse_case(long_data)
    assert parse_case(case_to_json(long_case)) == long_case

    def shared() -> int:
        for case in cases:
            evaluate(case)
        return len(cases)

    def long() -> int:
        evaluate(long_case)
        return 1

    def parsing() -> int:
        for case in data:
            parse_case(case)
        return len(data)

    def parsing_long() -> int:
        parse_case(long_data)
        return 1

    shared_rate = rate(shared)
    long_rate = rate(long)
    parse_rate = rate(parsing)
    parse_long_rate = rate(parsing_long)
    history = (
        f"{len(long_case.fractures)} fractures, {len(long_case.therapies)} courses, "
        f"{sum(len(t.doses) for t in long_case.therapies)} doses, {len(long_case.dxa)} DXA scans, "
        f"{len(long_case.labs)} labs"
    )
    print(
        f"Ossa engine {ENGINE_VERSION} benchmark, Python {platform.python_version()}, one core, "
        f"{SECONDS:g} s per figure (best of {ROUNDS} rounds)"
    )
    print(
        f"- evaluate, {len(cases)} shared cases: {shared_rate:,.0f} assessments/s "
        f"({1e6 / shared_rate:,.0f} µs each; target ≥ 5,000/s)"
    )
    print(
        f"- evaluate, 30-year patient ({history}): {long_rate:,.0f} assessments/s "
        f"({1e6 / long_rate:,.0f} µs each)"
    )
    print(f"- parse_case, {len(data)} shared cases: {parse_rate:,.0f} cases/s")
    print(f"- parse_case, 30-year patient: {parse_long_rate:,.0f} cases/s")


if __name__ == "__main__":
    main()
