"""The form of the clinic's reminder settings page: the worklist's settings form
(`monitoring.reminder_forms.ClinicReminderSettingsForm`) and how long "done" holds and whether
new critical reminders are e-mailed at once; and the clinic's expected yearly caseload of
fragility fractures (the fracture-liaison indicators). It parses input only; the service
(`monitoring.reminder_settings.clinic_reminder_settings_update`) holds the rules."""

from __future__ import annotations

from django import forms

from monitoring.reminder_forms import ClinicReminderSettingsForm


class ClinicSettingsForm(ClinicReminderSettingsForm):
    done_hold_days = forms.IntegerField(
        label="Days a reminder marked done stays done",
        min_value=1,
        max_value=365,
        help_text="A reminder marked done while the record does not show the dose, scan, lab "
        "or reassessment returns to the open list after this many days (1–365).",
    )
    immediate_critical_email = forms.BooleanField(
        label="E-mail new critical reminders at once",
        required=False,
        help_text="At most one message per person per scan. Off: critical reminders reach "
        "people in the daily digest only.",
    )

    expected_yearly_caseload = forms.IntegerField(
        label="Expected fragility fractures per year",
        required=False,
        min_value=1,
        max_value=1_000_000,
        help_text="How many patients with a fragility fracture the clinic expects to see in a "
        "year (a whole number, 1–1,000,000). The fracture-liaison identification indicators "
        "compare the patients found with it; leave empty if not known.",
    )

    class Meta(ClinicReminderSettingsForm.Meta):
        fields = [
            "reminder_lead_days",
            "done_hold_days",
            "notification_emails",
            "immediate_critical_email",
            "expected_yearly_caseload",
        ]
