"""Optimistic concurrency for edit forms: a form editing a row carries the row's version (the
id of its latest audit row, django-simple-history), and the save refuses when the row changed
since the form was opened, saying what changed, so that one person's edit never silently
overwrites another's.

`VersionedForm` (mixed into `patients.forms.CrispyMixin`, so every edit form has it) adds the
hidden token and hands it to the row; `record_save` calls `check_version` under the row's lock.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models

#: The hidden field's name on every edit form.
VERSION_FIELD = "row_version"


def _history_model(model: type[models.Model]) -> Any:
    history = getattr(model, "history", None)
    return getattr(history, "model", None)


def is_versioned(instance: models.Model | None) -> bool:
    """A saved row whose changes are audited (so a version can be read and the changes told)."""
    return bool(instance is not None and instance.pk and _history_model(type(instance)))


def version_of(instance: models.Model) -> str:
    """The row's version: its latest audit row's id ("" if it has none). One query."""
    history = _history_model(type(instance))
    latest = (
        history.objects.filter(**{instance._meta.pk.attname: instance.pk})
        .order_by("-history_id")
        .values_list("history_id", flat=True)
        .first()
    )
    return "" if latest is None else str(latest)


class EditConflict(ValidationError):
    """The row changed since the form was opened; `version` is the row's version now."""

    def __init__(self, message: str, *, version: str) -> None:
        super().__init__({NON_FIELD_ERRORS: [message]}, code="edit_conflict")
        self.version = version


def _shown(value: Any) -> str:
    if value is None or value == "":
        return "(empty)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _changes(instance: models.Model, since: str, now: str) -> list[str]:
    """ "field: old → new" for each field that differs between two audit rows of the row."""
    history = _history_model(type(instance))
    rows = {str(r.history_id): r for r in history.objects.filter(history_id__in=[since, now])}
    old, new = rows.get(since), rows.get(now)
    if old is None or new is None:
        return []
    lines = []
    for change in new.diff_against(old).changes:
        try:
            label = str(instance._meta.get_field(change.field).verbose_name)
        except LookupError:  # pragma: no cover - the audit model mirrors the model's fields
            label = change.field
        lines.append(f"{label[:1].upper()}{label[1:]}: {_shown(change.old)} → {_shown(change.new)}")
    return lines


def check_version(instance: models.Model) -> None:
    """Refuse (`EditConflict`) when the form that edits `instance` was opened on an older
    version of the row than the one stored; call under the row's lock. A form without a token
    (a script, an import) is not checked."""
    expected = getattr(instance, "_expected_version", "")
    if not (expected and is_versioned(instance)):
        return
    current = version_of(instance)
    if current == expected:
        return
    history = _history_model(type(instance))
    latest = history.objects.filter(history_id=current).select_related("history_user").first()
    who = f" by {latest.history_user}" if latest and latest.history_user else ""
    changes = _changes(instance, expected, current)
    what = "; ".join(changes) if changes else "it was saved again"
    raise EditConflict(
        f"Someone else changed this record{who} since you opened this form ({what}). Nothing "
        "was saved: check your entries below against theirs, then save again to keep yours.",
        version=current,
    )


class VersionField(forms.CharField):
    """The hidden version token; it never counts as a change the person made."""

    widget = forms.HiddenInput

    def has_changed(self, initial: Any, data: Any) -> bool:
        return False


class VersionedForm:
    """Gives a form editing a saved row the row's version (hidden), and the row the version
    the form was opened on, for `record_save` to check. A ModelForm edits `self.instance`; a
    plain form editing a row says which in `versioned_instance`."""

    def versioned_instance(self) -> models.Model | None:
        return getattr(self, "instance", None)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        row = self.versioned_instance()
        if is_versioned(row):
            # Read only when rendered: a posted form brings its own token.
            self.fields[VERSION_FIELD] = VersionField(  # type: ignore[attr-defined]
                required=False, initial=lambda: version_of(row)
            )

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean()  # type: ignore[misc]
        row = self.versioned_instance()
        if VERSION_FIELD in self.fields and row is not None:  # type: ignore[attr-defined]
            row._expected_version = data.get(VERSION_FIELD, "")  # type: ignore[attr-defined]
        return data

    def refresh_version(self, version: str) -> None:
        """After a conflict: the form keeps what was typed, with the version now stored, so
        saving again keeps the person's entries knowingly."""
        if VERSION_FIELD not in self.fields:  # type: ignore[attr-defined]
            return
        data = self.data.copy()  # type: ignore[attr-defined]
        data[self.add_prefix(VERSION_FIELD)] = version  # type: ignore[attr-defined]
        self.data = data
