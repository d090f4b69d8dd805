"""Layout at tablet width (768 px): the navigation collapses behind its toggle, every action of
every main page (tests/e2e/test_pages.py's PAGES, which also checks they fit the screen) can be
reached, and the long patient page keeps its section menu in view."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import screenshot
from tests.e2e.test_pages import PAGES

TABLET = 768

#: What a user acts on: links and buttons of the header (navigation) and the page's main part.
#: Those inside an element marked `hidden` are not offered in this state of the page (e.g. the
#: session warning); they are left out, nothing else is.
ACTIONS = """
[...document.querySelectorAll(
    'header a[href], header button, main a[href], main button, main input[type=submit]')]
  .filter(e => !e.closest('[hidden]'))
  .map(e => {
    e.setAttribute('data-reach', '');
    return (e.innerText || e.value || e.getAttribute('aria-label') || '').trim().slice(0, 40);
  })
"""


def _open_everything(page) -> None:
    """`<details>` hold detail a click away: open them, as a user would; then let what they
    and the page load by htmx arrive (the change history, the worklist's tab counts), as it
    replaces links that would otherwise be counted before it."""
    page.evaluate("document.querySelectorAll('main details').forEach(d => d.open = true)")
    page.wait_for_load_state("networkidle")


def _reachable(page, action) -> bool:
    """Visible, inside the window's width once scrolled to, enabled or not, and the topmost
    element where it is (Playwright's click checks, without clicking)."""
    action.scroll_into_view_if_needed(timeout=5_000)
    box = action.bounding_box()
    if box is None or box["x"] < 0 or box["x"] + box["width"] > TABLET + 1:
        return False
    if not action.is_enabled():
        return action.is_visible()
    try:
        action.click(trial=True, timeout=5_000)
    except Exception:  # noqa: BLE001  # Playwright's timeout: hidden, covered or moving
        return False
    return True


@pytest.mark.parametrize("role", list(PAGES))
def test_every_action_of_every_main_page_can_be_reached_at_768_px(
    page_for, demo_clinic, demo_patient, role
):
    _, people = demo_clinic
    page = page_for(people[role], width=TABLET)
    for template in PAGES[role]:
        path = template.format(pk=demo_patient.pk)
        page.goto(path)
        toggle = page.get_by_role("button", name="Toggle navigation")
        expect(toggle, f"{path}: the navigation collapses").to_be_visible()
        expect(page.locator("#nav")).to_be_hidden()
        _open_everything(page)
        labels = page.evaluate(ACTIONS)
        assert len(labels) > 3, path
        unreachable = []
        for index, label in enumerate(labels):
            action = page.locator("[data-reach]").nth(index)
            in_menu = action.evaluate("e => Boolean(e.closest('#nav'))")
            if in_menu and toggle.get_attribute("aria-expanded") != "true":
                toggle.click()
                expect(page.locator("#nav")).to_be_visible()
            if not _reachable(page, action):
                unreachable.append(label or f"action {index}")
        assert unreachable == [], f"{path} at {TABLET} px: cannot reach {unreachable}"


@pytest.mark.parametrize("width", [1280, TABLET])
def test_the_patient_page_section_menu_stays_in_view_and_leads_to_each_section(
    page_for, demo_clinic, demo_patient, width
):
    _, people = demo_clinic
    page = page_for(people["clinician"], width=width)
    page.emulate_media(reduced_motion="reduce")  # jump, rather than Bootstrap's smooth scroll
    page.goto(f"/patients/{demo_patient.pk}/")
    menu = page.get_by_role("navigation", name="Sections of this page")
    links = menu.get_by_role("link")
    expect(links).to_have_count(11)
    if width == TABLET:
        screenshot(page, "clinician-patient-768")

    for name, section in [("Therapy", "#therapy"), ("Change history", "#history")]:
        menu.get_by_role("link", name=name).click()
        expect(page).to_have_url(f"{page.url.split('#')[0]}{section}")
        top = page.locator(section).evaluate("e => e.getBoundingClientRect().top")
        menu_box = menu.bounding_box()
        assert menu_box is not None and 0 <= menu_box["y"] < 40, f"{name}: menu in view"
        if width == TABLET:  # the bar is above the section, not over its heading
            assert top >= menu_box["y"] + menu_box["height"] - 1, name
        if name == "Therapy":  # the menu marks the section in view
            expect(menu.get_by_role("link", name=name)).to_have_class(re.compile("active"))
    page.mouse.wheel(0, 100_000)
    expect(menu).to_be_in_viewport()


def test_the_critical_alert_appears_once_and_the_header_counts_it(
    page_for, demo_clinic, demo_patient
):
    _, people = demo_clinic
    page = page_for(people["nurse"])
    page.goto(f"/patients/{demo_patient.pk}/")

    expect(page.get_by_test_id("current-therapy")).to_contain_text("On denosumab since 2024-03-10")
    expect(page.get_by_test_id("current-therapy")).to_contain_text("next injection due")
    expect(page.get_by_test_id("critical-count")).to_have_text("1 critical alert")
    expect(page.get_by_role("main").get_by_text("Denosumab overdue", exact=True)).to_have_count(1)
    page.get_by_test_id("critical-count").click()
    expect(page.get_by_role("alert").filter(has_text="Denosumab overdue")).to_be_in_viewport()


def test_the_change_history_loads_when_its_panel_is_opened(page_for, demo_clinic, demo_patient):
    """Issue 14: the audit trail is not read with the page; opening its panel fetches it (htmx),
    and without JavaScript its link opens the same table as a page."""
    _, people = demo_clinic
    page = page_for(people["nurse"])
    page.goto(f"/patients/{demo_patient.pk}/")
    history = page.locator("#history")
    expect(history.get_by_role("table")).to_have_count(0)

    history.get_by_text("Every change to this record").click()

    table = history.get_by_role("table", name=re.compile("Audit trail"))
    expect(table).to_be_visible()
    expect(table.get_by_role("row")).not_to_have_count(1)  # more than the header row
    expect(history.get_by_role("link", name="Open the change history")).to_have_count(0)
