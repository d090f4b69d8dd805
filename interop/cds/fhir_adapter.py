"""The FHIR mapping (`interop.fhir`, the FHIR R4 mapping's own module and code table) as the
CDS service uses it: one place names what it takes from there."""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Iterable
from functools import cache
from typing import Any

from interop.cds.cards import Coding
from interop.fhir import codes
from interop.fhir.mapping import FhirMappingError, case_from_resources
from therapy.engine.case import Case, Drug

__all__ = ["FhirMappingError", "case_for", "drug_coding", "drug_for_code", "mrn_system"]


#: The mapping's switch for its full `fhir.resources` validation of each resource, when it
#: has one. That validation is ~0.25 ms a resource — most of a 20-year history's 100 ms budget —
#: and a hook call stores nothing: the values Ossa reads are still checked where they are read
#: (codes, dates, numbers, by the mapping) and by `parse_case`.
_QUICK = (
    {"check_structure": False}
    if "check_structure" in inspect.signature(case_from_resources).parameters
    else {}
)


def case_for(resources: Iterable[dict[str, Any]], *, as_of: dt.date) -> Case:
    """The engine's case from the EHR's resources; FhirMappingError names each bad one."""
    # An EHR sends more than Ossa reads (blood pressure, other drugs): skipped, not refused.
    return case_from_resources(resources, as_of=as_of, strict=False, **_QUICK)


def drug_coding(drug: Drug | None) -> Coding | None:
    """The drug's ATC coding (None for a drug without a pinned ATC code)."""
    if drug is None or drug not in codes.DRUG_ATC:
        return None
    code, display = codes.DRUG_ATC[drug]
    return Coding(codes.ATC, code, display)


@cache
def drug_for_code() -> dict[str, Drug]:
    """ "system|code" → drug, for the ATC codes of the pinned table."""
    return {f"{codes.ATC}|{code}": drug for drug, (code, _display) in codes.DRUG_ATC.items()}


def mrn_system(site_url: str, clinic_slug: str) -> str:
    """Ossa's own clinic-scoped MRN identifier system (what `export_fhir` writes)."""
    return codes.mrn_system(site_url, clinic_slug)
