"""`manage.py evaluate_case PATH|-`: assessment JSON on stdout, or problems on stderr and exit 2."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

django = pytest.importorskip("django")
from django.conf import settings  # noqa: E402

if not settings.configured:  # only when run with `-p no:django`
    pytest.skip("Django settings are not configured", allow_module_level=True)

from django.core.management import call_command  # noqa: E402

from therapy.engine import assessment_to_json, evaluate, parse_case  # noqa: E402

CASES = Path(__file__).resolve().parents[2] / "cases"
V01 = CASES / "v01_stable_on_alendronate.json"


def run(
    *args: str, stdin: str | None = None, monkeypatch: pytest.MonkeyPatch | None = None
) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    if stdin is not None and monkeypatch is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    try:
        call_command("evaluate_case", *args, stdout=out, stderr=err)
    except SystemExit as exit_:
        return int(exit_.code or 0), out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def test_a_case_file_prints_its_assessment(tmp_path: Path) -> None:
    case = json.loads(V01.read_text())["case"]
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case))
    status, out, err = run(str(path))
    assert (status, err) == (0, "")
    assert json.loads(out) == assessment_to_json(evaluate(parse_case(case)))
    assert out.startswith('{\n  "engine_version": "2",')


def test_a_worked_case_file_is_read_as_its_case() -> None:
    status, out, _ = run(str(V01))
    assert status == 0
    assert json.loads(out)["pathway"] == "not_refractory"


def test_dash_reads_standard_input(monkeypatch: pytest.MonkeyPatch) -> None:
    status, out, err = run("-", stdin='{"as_of": "2026-11-25"}', monkeypatch=monkeypatch)
    assert (status, err) == (0, "")
    assert json.loads(out)["as_of"] == "2026-11-25"


@pytest.mark.parametrize(
    ("stdin", "lines"),
    [
        pytest.param(
            '{"as_of": ', ["$: not JSON (Expecting value at line 1, column 11)"], id="not JSON"
        ),
        pytest.param("[1]", ["$: not a JSON object"], id="not an object"),
        pytest.param(
            '{"as_of": "2026-11-25", "therapies": [{"drug": "alendronate", "start": "2024-05-01",'
            ' "end": "2024-01-01"}], "typo": 1}',
            [
                "typo: unknown key (expected one of: as_of, patient, risk_factors, fractures, "
                "therapies, dxa, labs, reassessments)",
                "therapies[0].end: before start 2024-05-01",
            ],
            id="one line per problem",
        ),
    ],
)
def test_invalid_input_exits_2_with_one_line_per_problem(
    stdin: str, lines: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    status, out, err = run("-", stdin=stdin, monkeypatch=monkeypatch)
    assert status == 2
    assert out == ""
    assert err.splitlines() == lines


def test_unreadable_file_exits_2(tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    status, out, err = run(str(missing))
    assert (status, out) == (2, "")
    assert err.splitlines() == [f"{missing}: cannot read (No such file or directory)"]


def test_from_the_command_line_stderr_holds_only_the_problems() -> None:
    root = Path(__file__).resolve().parents[3]
    completed = subprocess.run(  # noqa: S603  # fixed argv, no shell
        [sys.executable, str(root / "manage.py"), "evaluate_case", "-"],
        input='{"as_of": "2026-11-25", "fractures": [{"date": "2025-01-01", "site": "skull"}]}',
        capture_output=True,
        text=True,
        cwd=root,
        check=False,
    )
    assert completed.returncode == 2
    assert completed.stdout == ""
    assert completed.stderr.splitlines() == [
        "fractures[0].site: unknown site 'skull' (expected one of: vertebral, hip, wrist, "
        "humerus, pelvis, rib, other)"
    ]
