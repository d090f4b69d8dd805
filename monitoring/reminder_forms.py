"""Forms of the reminder worklist and the clinic's reminder settings. They parse input only; the
rules (same clinic, a date after today, a closed reminder…) live in the services
(`monitoring.reminder_services`, `monitoring.reminder_settings`)."""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from monitoring.models import ContactKind, ReminderStatus
from monitoring.reminder_presenters import kind_label
from monitoring.reminder_selectors import (
    ASSIGNEE_ANYONE,
    ASSIGNEE_ME,
    ASSIGNEE_NONE,
    SORT_LABELS,
    WorklistFilters,
)
from monitoring.reminder_services import DONE_NOTE_REQUIRED, BulkAction
from monitoring.reminder_settings import normalise_emails
from patients.forms import CrispyMixin, DateInput
from patients.limits import NOTE_MAX_CHARS
from patients.models import Clinic, Membership

REASON_REQUIRED = "Say why this reminder is dismissed."

STATUS_CHOICES = [
    ("", "Active (open or snoozed)"),
    *ReminderStatus.choices,
    ("all", "Any status"),
]
SEVERITY_CHOICES = [
    ("", "Any"),
    ("critical", "Critical alerts"),
    ("routine", "Monitoring items"),
]


class QuietCrispyMixin(CrispyMixin):
    """Crispy layout without autofocus: these forms share a page with others."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():  # type: ignore[attr-defined]
            field.widget.attrs.pop("autofocus", None)


def staff_choices(staff: Sequence[Membership], *, show_clinic: bool) -> list[tuple[str, str]]:
    def name(m: Membership) -> str:
        text = f"{m.user.get_full_name() or m.user.get_username()} ({m.get_role_display().lower()}"
        return f"{text}, {m.clinic.name})" if show_clinic else f"{text})"

    seen: dict[str, str] = {}
    for m in staff:
        seen.setdefault(str(m.user_id), name(m))
    return list(seen.items())


class _StaffChoiceField(forms.ChoiceField):
    """A choice of a person: the list offers those who may take the item, but any member of the
    clinic is accepted here, so that the service says why one of them may not (beside the field)
    rather than "Select a valid choice"."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.accepted: set[str] = set()

    def valid_value(self, value: Any) -> bool:
        return str(value) in self.accepted or super().valid_value(value)


class _AssigneeMixin:
    """An `assignee` choice among the clinic's members who work reminders (`offered`: those who
    may take this reminder); cleaned to a user or None."""

    def _setup_assignee(
        self,
        staff: Sequence[Membership],
        *,
        show_clinic: bool,
        offered: Sequence[Membership] | None = None,
    ) -> None:
        self._users = {str(m.user_id): m.user for m in staff}
        field = self.fields["assignee"]  # type: ignore[attr-defined]
        shown = staff if offered is None else offered
        field.choices = [("", "Unassigned"), *staff_choices(shown, show_clinic=show_clinic)]
        field.accepted = set(self._users)

    def clean_assignee(self) -> Any:
        value = self.cleaned_data["assignee"]  # type: ignore[attr-defined]
        return self._users.get(value) if value else None


SORT_CHOICES = [
    ("", "Overdue first"),
    *[(key, f"{words} (ascending)") for key, words in SORT_LABELS.items()],
    *[(f"-{key}", f"{words} (descending)") for key, words in SORT_LABELS.items()],
]


class WorklistFilterForm(forms.Form):
    """The worklist's filters (GET). An invalid filter is shown and left out, the others apply."""

    q = forms.CharField(required=False, max_length=100, label="Patient")
    clinic = forms.ChoiceField(required=False)
    kind = forms.ChoiceField(required=False)
    status = forms.ChoiceField(required=False, choices=STATUS_CHOICES)
    assignee = forms.ChoiceField(required=False)
    severity = forms.ChoiceField(required=False, choices=SEVERITY_CHOICES)
    due_from = forms.DateField(required=False, label="Due from", widget=DateInput())
    due_to = forms.DateField(required=False, label="Due to", widget=DateInput())
    sort = forms.ChoiceField(required=False, choices=SORT_CHOICES)

    def __init__(
        self,
        *args: Any,
        clinics: Sequence[Clinic],
        kinds: Sequence[str],
        staff: Sequence[Membership],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["clinic"].choices = [("", "All my clinics")] + [
            (c.slug, c.name) for c in clinics
        ]
        words = sorted(((k, kind_label(k)) for k in kinds), key=itemgetter(1))  # as people read
        self.fields["kind"].choices = [("", "Any kind"), *words]
        self.fields["assignee"].choices = [
            ("", "Me or unassigned"),
            (ASSIGNEE_ME, "Me"),
            (ASSIGNEE_NONE, "Unassigned"),
            (ASSIGNEE_ANYONE, "Anyone"),
            *staff_choices(staff, show_clinic=len(clinics) > 1),
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("due_from"), data.get("due_to")
        if start and end and end < start:
            self.add_error("due_to", "The end of the range is before its start.")
        return data

    def filters(self, *, me: int) -> WorklistFilters:
        """The valid filters for user `me` (call after `is_valid()`)."""
        data = getattr(self, "cleaned_data", {})
        return WorklistFilters(me=me, **{k: v for k, v in data.items() if v not in (None, "")})

    def is_narrowed(self) -> bool:
        """Whether a filter other than the defaults (and the order) applies."""
        data = getattr(self, "cleaned_data", {})
        return any(v not in (None, "") for k, v in data.items() if k != "sort")


class AssignForm(_AssigneeMixin, QuietCrispyMixin, forms.Form):
    assignee = _StaffChoiceField(required=False, label="Assign to")

    def __init__(
        self,
        *args: Any,
        staff: Sequence[Membership],
        offered: Sequence[Membership] | None = None,
        show_clinic: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._setup_assignee(staff, show_clinic=show_clinic, offered=offered)


class SnoozeForm(QuietCrispyMixin, forms.Form):
    until = forms.DateField(label="Snooze until", widget=DateInput())


class DoneForm(QuietCrispyMixin, forms.Form):
    note = forms.CharField(
        label="Note on what was done",
        max_length=NOTE_MAX_CHARS,
        widget=forms.TextInput(),
        error_messages={"required": DONE_NOTE_REQUIRED},
        help_text="What was done, for the record. A dose, scan or lab recorded on the patient's "
        "page closes the reminder by itself.",
    )


class ContactForm(QuietCrispyMixin, forms.Form):
    """One entry of a reminder's contact log (prefix `contact`)."""

    kind = forms.ChoiceField(
        label="How",
        choices=[("", "Choose…"), *ContactKind.choices],
        error_messages={"required": "Choose how the patient was contacted."},
    )
    date = forms.DateField(label="Date", widget=DateInput())
    note = forms.CharField(
        required=False, label="Note", max_length=NOTE_MAX_CHARS, widget=forms.TextInput()
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "contact")
        super().__init__(*args, **kwargs)


class DismissForm(QuietCrispyMixin, forms.Form):
    reason = forms.CharField(
        label="Reason for dismissing",
        max_length=NOTE_MAX_CHARS,
        error_messages={"required": REASON_REQUIRED},
        widget=forms.TextInput(),
    )


class _IdsField(forms.Field):
    """Several reminder ids from ticked checkboxes."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[int]:
        if not value:
            return []
        try:
            return sorted({int(v) for v in value})
        except (TypeError, ValueError) as error:
            raise ValidationError("Select reminders from the list.") from error

    def validate(self, value: list[int]) -> None:
        """None ticked is the form's to judge: "all matching" needs no ticks."""


class BulkForm(_AssigneeMixin, forms.Form):
    """One action on the reminders ticked in the worklist, or on every reminder matching its
    filters (`all_matching`) (prefix `bulk`)."""

    ids = _IdsField(label="Reminders", required=False)
    all_matching = forms.BooleanField(required=False)
    action = forms.ChoiceField(
        label="Action",
        choices=[
            ("", "Choose an action…"),
            (BulkAction.ASSIGN.value, "Assign to…"),
            (BulkAction.SNOOZE.value, "Snooze until…"),
            (BulkAction.DONE.value, "Mark done"),
            (BulkAction.DISMISS.value, "Dismiss with a reason…"),
        ],
        error_messages={"required": "Choose what to do with the ticked reminders."},
    )
    assignee = _StaffChoiceField(required=False, label="Assign to")
    until = forms.DateField(required=False, label="Snooze until", widget=DateInput())
    reason = forms.CharField(
        required=False, label="Reason for dismissing", max_length=NOTE_MAX_CHARS
    )
    note = forms.CharField(required=False, label="Note for “Mark done”", max_length=NOTE_MAX_CHARS)

    def __init__(
        self, *args: Any, staff: Sequence[Membership], show_clinic: bool = False, **kwargs: Any
    ) -> None:
        kwargs.setdefault("prefix", "bulk")
        super().__init__(*args, **kwargs)
        self._setup_assignee(staff, show_clinic=show_clinic)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        action = data.get("action")
        if action == BulkAction.SNOOZE and not data.get("until") and "until" not in self.errors:
            self.add_error("until", "Choose the date to snooze to.")
        if action == BulkAction.DISMISS and not (data.get("reason") or "").strip():
            self.add_error("reason", REASON_REQUIRED)
        if action == BulkAction.DONE and not (data.get("note") or "").strip():
            self.add_error("note", DONE_NOTE_REQUIRED)
        if not data.get("all_matching") and not data.get("ids") and "ids" not in self.errors:
            self.add_error("ids", "Tick at least one reminder.")
        return data

    def selected_ids(self) -> set[str]:
        """The ticked ids as strings, to keep them ticked when the page is shown again."""
        return {str(v) for v in self.data.getlist(self.add_prefix("ids"))}


class ClinicReminderSettingsForm(CrispyMixin, forms.ModelForm):
    reminder_lead_days = forms.IntegerField(
        label="Reminder lead time (days)",
        min_value=0,
        max_value=365,
        help_text="Reminders are created this many days before an item falls due (0–365).",
    )

    class Meta:
        model = Clinic
        fields = ["reminder_lead_days", "notification_emails"]
        widgets = {"notification_emails": forms.Textarea(attrs={"rows": 2})}

    def clean_notification_emails(self) -> str:
        return normalise_emails(self.cleaned_data.get("notification_emails") or "")


class ScanTimeForm(QuietCrispyMixin, forms.Form):
    hour = forms.IntegerField(label="Hour (0–23)", min_value=0, max_value=23)
    minute = forms.IntegerField(label="Minute (0–59)", min_value=0, max_value=59)

    def __init__(self, *args: Any, disabled: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.disabled = disabled
