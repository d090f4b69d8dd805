"""`manage.py kpi_report --clinic SLUG [--from D --to D] [--as-of D] [--json]`."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.core.management import CommandError, call_command

from quality.kpis import Period
from quality.reports import clinic_kpi_report, default_period, kpi_report_json
from tests.quality.conftest import dxa_scan, fls_episode, fls_patient

BASE_DIR = Path(__file__).resolve().parents[2]
TODAY = dt.date(2026, 7, 15)


def run(*args: str) -> str:
    out = StringIO()
    call_command("kpi_report", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def world(clinic):
    """Two 2025 fractures: a spine one scanned on day 20, a wrist one."""
    patient = fls_patient(clinic)
    fls_episode(patient, fracture_date=dt.date(2025, 9, 1), site="vertebral")
    dxa_scan(patient, dt.date(2025, 9, 21))
    fls_episode(fls_patient(clinic), fracture_date=dt.date(2025, 11, 3))
    return clinic


@pytest.mark.django_db
def test_the_json_is_the_reports_json_for_the_period_given(world):
    data = json.loads(
        run(
            "--clinic",
            "hillside",
            "--from",
            "2025-01-01",
            "--to",
            "2025-12-31",
            "--as-of",
            "2026-06-30",
            "--json",
        )
    )

    period = Period(start=dt.date(2025, 1, 1), end=dt.date(2025, 12, 31))
    assert data == kpi_report_json(
        clinic_kpi_report(clinic=world, period=period, as_of=dt.date(2026, 6, 30))
    )
    assert data["episodes"] == 2


@pytest.mark.django_db
@time_machine.travel(dt.datetime(2026, 7, 15, 9, 0, tzinfo=dt.UTC), tick=False)
def test_without_dates_the_period_is_the_twelve_months_before_today(world):
    data = json.loads(run("--clinic", "hillside", "--json"))

    assert data["as_of"] == "2026-07-15"
    assert data["period"] == {"from": "2025-07-01", "to": "2026-06-30"}
    assert default_period(TODAY) == Period(start=dt.date(2025, 7, 1), end=dt.date(2026, 6, 30))
    assert data["episodes"] == 2


@pytest.mark.django_db
def test_the_table_shows_each_kpi_with_its_fraction_percent_and_level(world):
    lines = run(
        "--clinic",
        "hillside",
        "--from",
        "2025-01-01",
        "--to",
        "2025-12-31",
        "--as-of",
        "2026-06-30",
    ).splitlines()

    assert lines[0] == (
        "Hillside Bone Clinic (hillside): index fractures 2025-01-01 to 2025-12-31, "
        "as of 2026-06-30: 2 episodes"
    )
    rows = {line.split()[0]: line for line in lines[3:]}
    assert len(rows) == 22
    assert rows["iof-2"].split()[-4:] == ["1/2", "50.0", "green", "0"]
    assert rows["iof-4"].split()[-4:] == ["1/2", "50.0", "amber", "0"]
    assert rows["iof-1"].split()[-4:] == ["1/0", "—", "—", "0"]  # no caseload set: no value
    assert rows["flsdb-1"].split()[-5].endswith("/7") and rows["flsdb-1"].split()[-4] == "fields"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["--clinic", "nowhere"], "--clinic: no clinic with slug 'nowhere'", id="clinic"
        ),
        pytest.param(
            ["--clinic", "hillside", "--from", "2025-13-01", "--to", "2025-12-31"],
            "--from: “2025-13-01”: Enter the date as YYYY-MM-DD",
            id="bad-date",
        ),
        pytest.param(
            ["--clinic", "hillside", "--from", "2025-12-01", "--to", "2025-01-31"],
            "--from: the period starts (2025-12-01) after it ends (2025-01-31).",
            id="from-after-to",
        ),
        pytest.param(
            ["--clinic", "hillside", "--from", "2025-12-01"],
            "--to: give the last day of the period too.",
            id="from-alone",
        ),
        pytest.param(
            [
                "--clinic",
                "hillside",
                "--from",
                "2025-01-01",
                "--to",
                "2025-12-31",
                "--as-of",
                "2025-06-30",
            ],
            "--to: the period ends (2025-12-31) after the report's day (2025-06-30).",
            id="to-after-as-of",
        ),
        pytest.param(
            ["--clinic", "hillside", "--as-of", "2099-01-01"], "is after today", id="future"
        ),
        pytest.param(["--clinic", "hillside", "--as-of", "1/2/2025"], "--as-of", id="as-of"),
    ],
)
def test_bad_arguments_exit_2_with_a_clear_message(clinic, args, message):
    with pytest.raises(CommandError) as refused:
        run(*args)

    assert refused.value.returncode == 2
    assert message in str(refused.value)


def test_from_the_shell_a_bad_date_exits_2_with_the_message_on_stderr():
    result = subprocess.run(  # noqa: S603 — our own interpreter and manage.py
        [sys.executable, "manage.py", "kpi_report", "--clinic", "x", "--as-of", "2026-02-30"],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
    )

    assert result.returncode == 2
    assert result.stdout == ""
    assert "--as-of: “2026-02-30”: Enter the date as YYYY-MM-DD" in result.stderr
