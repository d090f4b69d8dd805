"""The project carries its specification: `docs/clinical/` holds byte-for-byte copies of the
clinical team's originals in `../shared/clinical/`, and the README points at the copies, so a
fresh clone (which has no `../shared/`) still has the rule book it is built from."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COPIES = ROOT / "docs" / "clinical"
ORIGINALS = ROOT.parent / "shared" / "clinical"
FILES = ("RULES.md", "CASE_FORMAT.md", "source-guideline.txt")


@pytest.mark.parametrize("name", FILES)
def test_the_project_holds_a_copy_of_the_specification_file(name):
    assert (COPIES / name).is_file(), f"docs/clinical/{name} is missing"


@pytest.mark.parametrize("name", FILES)
def test_the_copy_is_byte_for_byte_the_shared_original(name):
    original = ORIGINALS / name
    if not ORIGINALS.is_dir():
        pytest.skip(f"no {ORIGINALS} beside this checkout (a fresh clone): nothing to compare")

    assert (COPIES / name).read_bytes() == original.read_bytes(), (
        f"docs/clinical/{name} differs from {original}: copy the original again "
        f"(cp {original} docs/clinical/) and commit it"
    )


def _readme_links() -> list[str]:
    """Local targets of the README's Markdown links (web addresses left out)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)#\s]+)", text)
    return [t for t in targets if not t.startswith(("http://", "https://", "mailto:"))]


@pytest.mark.parametrize("name", FILES)
def test_the_readme_links_to_the_projects_copy_of_the_specification_file(name):
    assert f"docs/clinical/{name}" in _readme_links()


def test_every_file_the_readme_links_to_is_inside_the_repository():
    broken = [
        link
        for link in _readme_links()
        if not (ROOT / link).resolve().is_relative_to(ROOT) or not (ROOT / link).exists()
    ]

    assert not broken, f"README links to files a clone does not have: {broken}"
