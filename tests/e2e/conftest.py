"""Browser tests: Playwright drives Debian's chromium against pytest-django's live server.

Playwright's own browser download cannot work here, so the system browser is launched with
`executable_path` (OSSA_CHROMIUM, default /usr/bin/chromium). Without it the journeys are
skipped, saying why — except in CI (OSSA_REQUIRE_SERVICES=1), where that is a failure.
Every page visited is checked for console errors and failed requests, and axe-core (vendored
from npm in tests/e2e/vendor/) for serious or critical accessibility violations.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from monitoring.scan import reminders_scan
from patients.models import Clinic, Membership, Role
from tests import factories
from tests.conftest import PASSWORD
from therapy.case_records import patient_import_case
from therapy.engine import parse_case

# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make
# between browser steps are ordinary synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("OSSA_CHROMIUM", "/usr/bin/chromium")
CASES = Path(__file__).resolve().parents[1] / "cases"
AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()
#: The README's screenshots are refreshed only when asked (`make screenshots`); an ordinary run
#: writes them under the test run's var/ so that a test run never dirties the working tree.
SCREENSHOTS = (
    Path(settings.BASE_DIR) / "docs" / "screenshots"
    if os.environ.get("OSSA_UPDATE_SCREENSHOTS") == "1"
    else Path(settings.VAR_DIR) / "screenshots"
)
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


#: Reports every Content-Security-Policy violation of a page as a console error.
CSP_WATCH = """
document.addEventListener("securitypolicyviolation", (event) => {
  const blocked = event.blockedURI || "inline";
  const where = `${event.sourceFile}:${event.lineNumber} ${event.sample}`;
  console.error(`CSP violation: ${event.violatedDirective} blocked ${blocked} at ${where}`);
});
"""


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser() -> Iterator:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        message = f"needs Chromium at {CHROMIUM} (apt-get install chromium)"
        if settings.OSSA_REQUIRE_SERVICES:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class PageWatch:
    """Console errors and failed requests seen by a page, checked after every journey."""

    errors: list[str] = field(default_factory=list)
    #: Substrings of errors a journey expects (e.g. the 404 it provokes on purpose).
    expected: list[str] = field(default_factory=list)

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(x in e for x in self.expected)]

    def attach(self, page) -> None:
        page.on("console", lambda m: m.type == "error" and self.errors.append(f"console: {m.text}"))
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))

        def on_request_failed(request) -> None:
            # A navigation cancels what the previous page was still loading: not a failure.
            if "ERR_ABORTED" not in (request.failure or ""):
                self.errors.append(f"request failed: {request.method} {request.url}")

        page.on("requestfailed", on_request_failed)

        def on_response(response) -> None:
            # 4xx/5xx are failures unless the journey expects them (checked in the test).
            if response.status >= 500:
                self.errors.append(f"HTTP {response.status}: {response.url}")

        page.on("response", on_response)


@pytest.fixture
def watch() -> PageWatch:
    return PageWatch()


@pytest.fixture
def page_for(browser, live_server, watch, request):
    """`page_for(user, width=1280)`: a signed-in browser page (logged in through the form)."""
    contexts = []

    def open_page(user, *, width: int = 1280, height: int = 900):
        context = browser.new_context(
            viewport={"width": width, "height": height},
            base_url=live_server.url,
            locale="en-GB",
            timezone_id=settings.TIME_ZONE,
        )
        contexts.append(context)
        # Content-Security-Policy: a blocked script, style, image or frame fails the journey
        # (Chromium also says so on the console; this names the directive for certain).
        context.add_init_script(CSP_WATCH)
        page = context.new_page()
        page.set_default_timeout(10_000)
        # Confirmation dialogs ("Dismiss this reminder?") are answered yes, as the user would.
        page.on("dialog", lambda dialog: dialog.accept())
        watch.attach(page)
        if user is not None:
            page.goto("/accounts/login/")
            page.get_by_label("Username").fill(user.username)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(f"{live_server.url}/")
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert not watch.unexpected(), "\n".join(watch.unexpected())


def check_accessibility(page) -> list[dict]:
    """axe-core on the current page: the serious and critical violations (must be none), once
    the page has settled: a click that has just started a navigation, or htmx still loading a
    part (the worklist's tab counts), would otherwise be checked half-way (axe then fails on a
    document being replaced, as a CI run showed)."""
    page.wait_for_load_state("networkidle")
    # Evaluated by the test driver, not added as an inline <script> (which the CSP refuses).
    page.evaluate(AXE)
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"]][:5],
        }
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # From the top: a sticky element (the patient page's section menu) is drawn where the
    # window's scroll puts it, which in a full-page picture is the middle of the page.
    page.evaluate("window.scrollTo({top: 0, behavior: 'instant'})")
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
def demo_clinic(transactional_db):
    """A clinic with one persona per role and one of another clinic (live-server tests need
    committed data, hence transactional_db)."""
    clinic = Clinic.objects.create(name="Hillside Bone Clinic", slug="hillside")
    other = Clinic.objects.create(name="Riverside Clinic", slug="riverside")
    people = {}
    for username, role, where, first, last in [
        ("clinician", Role.CLINICIAN, clinic, "Clara", "Clinician"),
        ("nurse", Role.NURSE, clinic, "Noor", "Nurse"),
        ("clinicadmin", Role.CLINIC_ADMIN, clinic, "Adam", "Admin"),
        ("outsider", Role.CLINICIAN, other, "Otto", "Outsider"),
    ]:
        user = factories.UserFactory(
            username=username, password=PASSWORD, first_name=first, last_name=last
        )
        Membership.objects.create(user=user, clinic=where, role=role)
        people[username] = user
    return clinic, people


@pytest.fixture
def demo_patient(demo_clinic):
    """Two imported patients of the demo clinic, reminders scanned; the one on denosumab, overdue
    (a critical alert), is returned."""
    clinic, _ = demo_clinic
    for name in ("v03_vertebral_fracture_on_alendronate.json", "v08_denosumab_overdue.json"):
        data = json.loads((CASES / name).read_text())["case"]
        data["patient"].update(name=f"Demo {name[:3]}", mrn=name[:3].upper())
        imported = patient_import_case(clinic=clinic, case=parse_case(data))
    reminders_scan(as_of=timezone.localdate(), now=timezone.now())
    return imported
