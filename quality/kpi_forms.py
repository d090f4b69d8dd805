"""The period of the KPI page, its drill-down and its audit CSV: `?from=YYYY-MM-DD&to=YYYY-MM-DD`.

It parses input only; which periods make sense (the end after the start, not in the future, not
too long) is `quality.reports.period_from_strings`'s to say, and its refusal is shown beside
the field it names. With no dates given the period is `quality.reports.default_period`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms

from quality.kpis import Period
from quality.reports import default_period, period_from_strings

#: The query parameters (also the field names: `from` is a Python keyword, hence no attributes).
FROM, TO = "from", "to"


class PeriodForm(forms.Form):
    """The period asked for, or the default one. Read `period` after `is_valid()`: the valid
    period asked for, else the default (the page still renders, with the errors beside the
    fields and the typed values kept)."""

    def __init__(self, data: Any = None, *, as_of: dt.date, **kwargs: Any) -> None:
        asked = data is not None and any(data.get(name) for name in (FROM, TO))
        super().__init__(data if asked else None, **kwargs)
        self.as_of = as_of
        self.default = default_period(as_of)
        for name, label, day in ((FROM, "From", self.default.start), (TO, "To", self.default.end)):
            self.fields[name] = forms.DateField(
                label=label,
                input_formats=["%Y-%m-%d"],
                initial=day,
                error_messages={
                    "required": "Give a date (YYYY-MM-DD).",
                    "invalid": "Give a date as YYYY-MM-DD.",
                },
                widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get(FROM), data.get(TO)
        if start is None or end is None:
            return data
        try:
            data["period"] = period_from_strings(start.isoformat(), end.isoformat(), as_of=self.as_of)
        except ValueError as refusal:
            message = str(refusal)
            # The refusal names the date it is about; a period's shape (end before start, too
            # long) is shown beside its end.
            field = FROM if message.lower().startswith(("the start", "from", "start")) else TO
            self.add_error(field, message)
        return data

    @property
    def period(self) -> Period:
        data = getattr(self, "cleaned_data", None) or {}
        return data.get("period") or self.default

    def query(self) -> str:
        """The period as the query string of the page's links (`from=…&to=…`)."""
        period = self.period
        return f"{FROM}={period.start:%Y-%m-%d}&{TO}={period.end:%Y-%m-%d}"
