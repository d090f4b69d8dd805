"""The period of the KPI page, its drill-down and its audit CSV: `?from=YYYY-MM-DD&to=YYYY-MM-DD`.

It parses input only: which periods are valid (both dates or neither, YYYY-MM-DD, the start not
after the end, not past the report's day, not too long) is
`quality.reports.period_from_strings`'s to say, once for every door, and its refusal is shown
beside the field it names. With no dates given the period is `quality.reports.default_period`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms

from quality.kpis import Period
from quality.reports import default_period, period_from_strings

#: The query parameters, also the field names (`from` is a Python keyword: no attributes).
FROM, TO = "from", "to"


class PeriodForm(forms.Form):
    """The period asked for. Read `period` after `is_valid()`: the valid period asked for, else
    the default one (the page still renders, with the errors beside the fields and the typed
    values kept)."""

    def __init__(self, data: Any = None, *, as_of: dt.date, **kwargs: Any) -> None:
        asked = data is not None and any(data.get(name) for name in (FROM, TO))
        super().__init__(data if asked else None, **kwargs)
        self.as_of = as_of
        self.default = default_period(as_of)
        for name, label, day in ((FROM, "From", self.default.start), (TO, "To", self.default.end)):
            self.fields[name] = forms.CharField(
                label=label,
                required=False,
                max_length=10,
                initial=day.isoformat(),
                widget=forms.DateInput(attrs={"type": "date"}),
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        try:
            data["period"] = period_from_strings(data.get(FROM), data.get(TO), as_of=self.as_of)
        except ValueError as refusal:
            field = getattr(refusal, "field", TO)
            # "from: …": beside the field, the field need not be named again.
            text = str(refusal).removeprefix(f"{field}: ")
            self.add_error(field, text[:1].upper() + text[1:])
        return data

    @property
    def period(self) -> Period:
        data = getattr(self, "cleaned_data", None) or {}
        return data.get("period") or self.default

    def query(self) -> str:
        """The period shown, as the query string of the page's links (`from=…&to=…`)."""
        period = self.period
        return f"{FROM}={period.start:%Y-%m-%d}&{TO}={period.end:%Y-%m-%d}"
