"""The form of the clinic's reminder settings page: the worklist's settings form
(`monitoring.reminder_forms.ClinicReminderSettingsForm`) and how long "done" holds and whether
new critical reminders are e-mailed at once. It parses input only; the service
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

    class Meta(ClinicReminderSettingsForm.Meta):
        fields = [
            "reminder_lead_days",
            "done_hold_days",
            "notification_emails",
            "immediate_critical_email",
        ]
