"""Pages of a long list without counting it: one query of `per_page + 1` rows per page view.

Django's `Paginator` counts every matching row on every view (`SELECT COUNT(*)` over 100,000
patients or 500,000 reminders) to print "page 3 of 4,000". Nobody pages that far: they search or
filter. So a page here knows its rows, whether there is a next one (the extra row) and its
number; the total is known, without a count, only when the page is the last one. A page number
past the end (a stale link) shows the last page, as `Paginator.get_page` does — that one case
counts, once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet


@dataclass(frozen=True)
class Page:
    """One page of a list: its rows, its number (from 1) and whether more rows follow."""

    object_list: Sequence[Any]
    number: int
    per_page: int
    has_next: bool

    def __iter__(self):  # noqa: ANN204 — iterates the rows, as Django's Page does
        return iter(self.object_list)

    def __len__(self) -> int:
        return len(self.object_list)

    def has_previous(self) -> bool:
        return self.number > 1

    def has_other_pages(self) -> bool:
        return self.has_next or self.has_previous()

    def next_page_number(self) -> int:
        return self.number + 1

    def previous_page_number(self) -> int:
        return self.number - 1

    def start_index(self) -> int:
        """The 1-based position of the page's first row (0 on an empty list)."""
        return (self.number - 1) * self.per_page + 1 if self.object_list else 0

    def end_index(self) -> int:
        return (self.number - 1) * self.per_page + len(self.object_list)

    @property
    def total(self) -> int | None:
        """How many rows the whole list has, when this page shows it (the last page); else
        None: the list goes on."""
        return None if self.has_next else self.end_index()


def page_number(value: object) -> int:
    """`?page=` as a page number: anything not a positive whole number is page 1."""
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return 1
    return max(number, 1)


def page_of_known_ids(
    queryset: QuerySet[Any], number: object, *, per_page: int, ids: Sequence[Any], complete: bool
) -> Page | None:
    """Page `number` of `queryset` (which must be ordered) when the ids of its first rows are
    known already, in its order (`ids`; every row's when `complete`): one query of the page's
    rows by id, no OFFSET and no COUNT. A page number past the end of a complete list shows the
    last page, as `page_of` does. None when the page, or whether another follows it, lies past
    the ids known: `page_of` then pages the queryset itself."""
    current = page_number(number)
    if complete:
        current = min(current, max(1, -(-len(ids) // per_page)))
    start = (current - 1) * per_page
    if not complete and start + per_page >= len(ids):
        return None
    chunk = list(ids[start : start + per_page])
    return Page(
        object_list=list(queryset.filter(pk__in=chunk)) if chunk else [],
        number=current,
        per_page=per_page,
        has_next=len(ids) > start + per_page,
    )


def page_of(queryset: QuerySet[Any], number: object, *, per_page: int) -> Page:
    """Page `number` of `queryset` (which must be ordered) in one query, with no COUNT."""
    current = page_number(number)
    start = (current - 1) * per_page
    rows = list(queryset[start : start + per_page + 1])
    if not rows and current > 1:
        # A page past the end (the list shrank since the link was made): the last page.
        count = queryset.count()
        current = max(1, -(-count // per_page))
        start = (current - 1) * per_page
        rows = list(queryset[start : start + per_page + 1])
    return Page(
        object_list=rows[:per_page],
        number=current,
        per_page=per_page,
        has_next=len(rows) > per_page,
    )
