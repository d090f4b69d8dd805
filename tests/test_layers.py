"""Dependencies point one way (DESIGN.md, "The one rule of the architecture"):

    engine ← models ← access and write path ← features ← views, forms, urls, tasks, commands

A module may import a module of its own layer or of a layer below it, never one above:

- engine: `therapy.engine`, pure Python (tests/therapy/engine/test_purity.py keeps Django out);
- models: the models, and the pure helpers they need (validators, the drug catalogue, the
  permission matrix, domain exceptions);
- access and write path: the access helper, services, selectors, presenters, and the one
  mapping between records and the engine's `Case` (`therapy.case_records`);
- features built on them: the reminder scan, its notifications and worklist, dashboards, the
  BMD trend, the DXA CSV import, the demo clinic;
- edges, where a request, a task or a command comes in: views, forms, URLconfs, Celery tasks,
  management commands, the admin.

The one exception: a clinical save queues its patient's rescan — the write path imports
`monitoring.tasks.enqueue_patient_rescan` (`patients.services.record_save`). `config.settings`,
`config.env` and `config.celery` are infrastructure that any layer may import.

Every module of patients, therapy, monitoring, interop, quality and config (migrations aside)
has its layer in `LAYERS` below; a new module fails here until it is given one. Imports are
read with `ast`, those inside functions included.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APPS = ("patients", "therapy", "monitoring", "interop", "quality", "config")


class Layer(IntEnum):
    INFRASTRUCTURE = 0
    ENGINE = 1
    MODELS = 2
    ACCESS_AND_WRITE_PATH = 3
    FEATURES = 4
    EDGES = 5


INFRASTRUCTURE, ENGINE, MODELS, ACCESS, FEATURES, EDGES = Layer

LAYERS: dict[str, Layer] = {
    "config": INFRASTRUCTURE,  # the package: loads the Celery app
    "config.celery": INFRASTRUCTURE,
    "config.env": INFRASTRUCTURE,
    "config.settings": INFRASTRUCTURE,
    "config.client_ip": INFRASTRUCTURE,  # django-axes' client address
    "config.password_validation": INFRASTRUCTURE,
    "config.errors": EDGES,  # the 403 handler
    "config.apps": EDGES,  # connects config.session's sign-in receiver
    "patients.request_route": INFRASTRUCTURE,  # the URL name of the request under way
    "patients.email_domains": INFRASTRUCTURE,  # OSSA_ALLOWED_EMAIL_DOMAINS, read in one place
    "patients.pagination": INFRASTRUCTURE,  # pages of a long list without a COUNT
    "patients.bulk": INFRASTRUCTURE,  # new rows and their audit rows by COPY (PostgreSQL)
    "patients.apps": MODELS,
    # dates known to the month or the year, which the fracture and course fields store
    "patients.approximate_dates": MODELS,
    "patients.exceptions": MODELS,
    "patients.limits": MODELS,  # the plausibility limits the model fields validate with
    "patients.models": MODELS,
    "patients.permissions": MODELS,
    "patients.validators": MODELS,
    "therapy.apps": MODELS,
    "therapy.catalogue": MODELS,
    "therapy.exceptions": MODELS,
    "therapy.models": MODELS,
    "monitoring.apps": MODELS,
    "monitoring.lab_tests": MODELS,  # the lab tests' names, units and usual ranges
    "monitoring.models": MODELS,
    "interop": MODELS,
    "interop.apps": MODELS,
    "interop.fhir": MODELS,
    "interop.fhir.codes": MODELS,  # the pinned FHIR code table
    "interop.models": MODELS,
    "interop.cds": MODELS,
    "interop.cds.models": MODELS,  # CDS clients, used tokens, issued cards, feedback
    "interop.management": EDGES,
    "quality": MODELS,
    "quality.apps": MODELS,
    "quality.models": MODELS,  # FLS episodes and follow-up contacts
    "quality.management": EDGES,
    "quality.forms": EDGES,  # the fracture-liaison entry forms
    "quality.urls": EDGES,
    "quality.views": EDGES,  # FLS episodes, follow-up contacts, DXA not needed
    "patients.access": ACCESS,
    "patients.access_log": ACCESS,  # who read which patient's record, on which page
    "patients.intake": ACCESS,  # a new patient's previous fractures and courses, in one save
    "patients.presenters": ACCESS,
    "patients.selectors": ACCESS,
    "patients.services": ACCESS,
    # an edit form's row version, checked by the write path (`record_save`)
    "patients.versions": ACCESS,
    "patients.staff_services": ACCESS,  # a clinic admin's actions on colleagues' accounts
    "patients.staff_actions": ACCESS,  # the staff log line and e-mail every staff change shares
    "patients.staff_invitations": ACCESS,  # staff by invitation
    "patients.staff_selectors": ACCESS,  # roles waiting for a clinician's confirmation
    "therapy.case_records": ACCESS,
    "interop.fhir.mapping": ACCESS,  # FHIR ↔ Case, through case_records and parse_case
    "interop.fhir.importing": ACCESS,  # a Bundle or NDJSON written as patients and records
    "interop.fhir.exporting": ACCESS,  # a patient's Bundle, a clinic's Bulk NDJSON
    "therapy.evaluation": ACCESS,  # the engine asked about stored records, within its limits
    "therapy.presenters": ACCESS,
    "therapy.selectors": ACCESS,
    "therapy.services": ACCESS,
    "monitoring.clinic_measurements": ACCESS,  # a clinic's lab units and DXA scanners
    "monitoring.dxa": ACCESS,  # services of the DXA entry page
    "monitoring.labs": ACCESS,  # services of the lab pages
    "patients.dashboards": FEATURES,
    "patients.demo": FEATURES,
    "patients.documents": FEATURES,  # what the printed summary and the GP letter hold
    "patients.pdf": FEATURES,  # HTML documents drawn as PDF
    "monitoring.dashboards": FEATURES,
    "monitoring.dxa_import": FEATURES,
    "monitoring.notifications": FEATURES,
    # The reminder worklist: reminders are the scan's output, so their reads, actions, labels
    # and settings are a feature built on it.
    "monitoring.reminder_presenters": FEATURES,
    "monitoring.reminder_selectors": FEATURES,
    "monitoring.reminder_services": FEATURES,
    "monitoring.reminder_settings": FEATURES,
    "monitoring.scan": FEATURES,
    "monitoring.still_due": FEATURES,  # why a reminder marked done is still due, in words
    "monitoring.trend": FEATURES,
    # The fracture-liaison indicators: pure functions over facts the selectors read.
    "quality.kpis": FEATURES,
    # The KPIs' reads build `quality.kpis`'s facts, so they are a feature built on it too (as
    # the reminder worklist's selectors are on the scan).
    "quality.selectors": FEATURES,
    "quality.reports": FEATURES,  # a clinic's KPI report and its JSON, for page and command
    "quality.audit_export": FEATURES,  # the de-identified audit CSV
    # The FLS follow-up calls the reminder scan asks for: a pure schedule and its reader.
    "quality.follow_ups": FEATURES,
    # The CDS Hooks service: a feature on the engine, its presenters and the FHIR mapping.
    "interop.cds.auth": FEATURES,
    "interop.cds.cards": FEATURES,
    "interop.cds.client": FEATURES,
    "interop.cds.fhir_adapter": FEATURES,
    "interop.cds.schemas": FEATURES,
    "interop.cds.services": FEATURES,
    "config.asgi": EDGES,
    "config.health": EDGES,
    "config.session": EDGES,  # the idle-session middleware, context processor and view
    "config.middleware": EDGES,  # Cache-Control and Permissions-Policy headers
    "config.two_factor": EDGES,  # the second factor's middleware and views
    "config.urls": EDGES,
    "config.wsgi": EDGES,
    "patients.admin": EDGES,
    "patients.context_processors": EDGES,
    "patients.forms": EDGES,
    "patients.intake_forms": EDGES,
    "patients.intake_views": EDGES,
    "patients.templatetags.approximate": EDGES,
    "patients.letter_views": EDGES,
    "patients.records": EDGES,  # the pages and URLs of a kind of record
    "patients.summary_views": EDGES,
    "patients.urls": EDGES,
    "patients.views": EDGES,
    "patients.staff_forms": EDGES,
    "patients.staff_views": EDGES,
    "therapy.forms": EDGES,
    "therapy.urls": EDGES,
    "therapy.views": EDGES,
    "interop.fhir.urls": EDGES,
    "interop.fhir.views": EDGES,
    "monitoring.forms": EDGES,
    "monitoring.import_tasks": EDGES,
    "monitoring.reminder_forms": EDGES,
    "monitoring.reminder_action_views": EDGES,
    "monitoring.reminder_urls": EDGES,
    "monitoring.reminder_views": EDGES,
    "monitoring.settings_forms": EDGES,
    "monitoring.settings_views": EDGES,
    "monitoring.tasks": EDGES,
    "monitoring.urls": EDGES,
    "monitoring.views": EDGES,
    "interop.admin": EDGES,
    "interop.cds.admin": EDGES,
    "interop.cds.urls": EDGES,
    "interop.cds.views": EDGES,
    # the clinic's KPI page, its drill-down and audit CSV
    "quality.kpi_forms": EDGES,
    "quality.kpi_urls": EDGES,
    "quality.kpi_views": EDGES,
}
#: Every module inside these packages has their layer.
PACKAGES: dict[str, Layer] = {
    "therapy.engine": ENGINE,
    "patients.management.commands": EDGES,
    "therapy.management.commands": EDGES,
    "monitoring.management.commands": EDGES,
    "interop.management.commands": EDGES,
    "quality.management.commands": EDGES,
}
#: (module, name) → the layers that may import that name although it is above them.
ALLOWED_UPWARD: dict[tuple[str, str], tuple[Layer, ...]] = {
    # A clinical save queues its patient's rescan once it commits.
    ("monitoring.tasks", "enqueue_patient_rescan"): (ACCESS,),
    # The bulk imports (FHIR's case records, the CSV DXA import) queue a batch's rescans at once.
    ("monitoring.tasks", "enqueue_patients_rescan"): (ACCESS, FEATURES),
}


def layer_of(module: str) -> Layer | None:
    if module in LAYERS:
        return LAYERS[module]
    for package, layer in PACKAGES.items():
        if module == package or module.startswith(f"{package}."):
            return layer
    return None


# --- reading imports ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Import:
    line: int
    target: str  # the project module imported from
    name: str  # the name taken from it; "" for `import target`


def _absolute(node: ast.ImportFrom, module: str, *, is_package: bool) -> str:
    """The module `from … import` reads from, relative imports resolved against `module`."""
    if not node.level:
        return node.module or ""
    parts = module.split(".")
    base = parts if is_package else parts[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imports_of(
    source: str, module: str, *, known: set[str], is_package: bool = False
) -> list[Import]:
    """The project imports of one module's source, at any depth (inside functions too). A name
    taken from a package that is a module of its own (`from monitoring import scan`) counts as
    an import of that module."""
    found: list[Import] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [Import(node.lineno, alias.name, "") for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            origin = _absolute(node, module, is_package=is_package)
            for alias in node.names:
                submodule = f"{origin}.{alias.name}"
                if submodule in known:
                    found.append(Import(node.lineno, submodule, ""))
                else:
                    found.append(Import(node.lineno, origin, alias.name))
    return [i for i in found if i.target.split(".")[0] in APPS]


def violations(module: str, source: str, *, known: set[str], is_package: bool = False) -> list[str]:
    """Each import of `module` that points to a higher layer, or to a module without a layer."""
    own = layer_of(module)
    if own is None:
        return [f"{module} has no layer: add it to LAYERS in tests/test_layers.py"]
    problems = []
    for found in imports_of(source, module, known=known, is_package=is_package):
        target = layer_of(found.target)
        if target is None:
            problems.append(f"{module}:{found.line} imports {found.target}, which has no layer")
        elif target > own and own not in ALLOWED_UPWARD.get((found.target, found.name), ()):
            what = f"{found.target}.{found.name}" if found.name else found.target
            problems.append(
                f"{module}:{found.line} ({own.name.lower()}) imports {what} "
                f"({target.name.lower()}), a higher layer"
            )
    return problems


def _project_modules() -> dict[str, Path]:
    modules = {}
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if "migrations" in parts:
                continue
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path
    return modules


MODULES = _project_modules()
KNOWN = set(MODULES)


def _is_package(module: str) -> bool:
    return MODULES[module].name == "__init__.py"


def _imports_anything(module: str) -> bool:
    return any(
        isinstance(node, ast.Import | ast.ImportFrom)
        for node in ast.walk(ast.parse(MODULES[module].read_text()))
    )


# --- the rule, on the code --------------------------------------------------------------------


def test_every_module_has_a_layer():
    # An empty package __init__ imports nothing, so it needs none.
    unclassified = [
        m for m in MODULES if layer_of(m) is None and (not _is_package(m) or _imports_anything(m))
    ]

    assert unclassified == [], "give each module its layer in LAYERS"


def test_every_module_in_the_table_exists():
    assert sorted(set(LAYERS) - KNOWN) == []
    assert sorted(set(PACKAGES) - KNOWN) == []


def test_no_module_imports_a_higher_layer():
    problems = [
        problem
        for module, path in MODULES.items()
        if layer_of(module) is not None
        for problem in violations(
            module, path.read_text(), known=KNOWN, is_package=_is_package(module)
        )
    ]

    assert problems == []


def test_the_one_exception_is_still_the_write_path_queueing_a_rescan():
    # Were the write path to stop queueing rescans this way, the exception would go too.
    source = MODULES["patients.services"].read_text()

    assert Import(0, "monitoring.tasks", "enqueue_patient_rescan") in [
        Import(0, i.target, i.name) for i in imports_of(source, "patients.services", known=KNOWN)
    ]


# --- the checker, on made-up modules: it must be able to fail ------------------------------------


def test_the_checker_finds_an_import_of_a_higher_layer_inside_a_function():
    source = "def cases():\n    from monitoring.scan import reminders_scan\n"

    assert violations("therapy.case_records", source, known=KNOWN) == [
        "therapy.case_records:2 (access_and_write_path) imports monitoring.scan.reminders_scan "
        "(features), a higher layer"
    ]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param(
            "from monitoring.tasks import enqueue_patient_rescan\n", 0, id="the-exception"
        ),
        pytest.param("from monitoring.tasks import scan_reminders_task\n", 1, id="another-task"),
        pytest.param("from monitoring import tasks\n", 1, id="the-whole-module"),
    ],
)
def test_the_checker_allows_the_write_path_only_to_queue_a_rescan(source, expected):
    assert len(violations("patients.services", source, known=KNOWN)) == expected


def test_the_checker_allows_the_exception_to_the_write_path_only():
    source = "from monitoring.tasks import enqueue_patient_rescan\n"

    assert len(violations("patients.models", source, known=KNOWN)) == 1


def test_the_checker_resolves_relative_imports_and_submodules():
    assert violations("monitoring.models", "from .scan import reminders_scan\n", known=KNOWN)
    assert violations("monitoring.models", "from monitoring import scan\n", known=KNOWN)
    assert (
        violations("monitoring.views", "from . import scan\nimport therapy.engine\n", known=KNOWN)
        == []
    )


def test_the_checker_reports_a_module_without_a_layer():
    assert violations("monitoring.brand_new", "", known=KNOWN) == [
        "monitoring.brand_new has no layer: add it to LAYERS in tests/test_layers.py"
    ]
