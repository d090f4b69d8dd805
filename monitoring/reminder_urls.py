"""The reminder worklist (every role that works reminders) and the clinic's reminder settings
(clinic admins)."""

from django.urls import path

from monitoring import reminder_action_views as actions
from monitoring import reminder_views, settings_views

app_name = "reminders"

urlpatterns = [
    path("reminders/", reminder_views.reminder_list, name="list"),
    path("reminders/bulk/", actions.reminder_bulk, name="bulk"),
    path("reminders/bulk/undo/", actions.reminder_bulk_undo, name="bulk-undo"),
    path("reminders/export.csv", reminder_views.reminder_export, name="export"),
    path("reminders/<int:pk>/", reminder_views.reminder_detail, name="detail"),
    path("reminders/<int:pk>/actions/", reminder_views.reminder_actions, name="actions"),
    path("reminders/<int:pk>/assign/", actions.reminder_assign_view, name="assign"),
    path("reminders/<int:pk>/snooze/", actions.reminder_snooze_view, name="snooze"),
    path("reminders/<int:pk>/done/", actions.reminder_done_view, name="done"),
    path("reminders/<int:pk>/dismiss/", actions.reminder_dismiss_view, name="dismiss"),
    path("reminders/<int:pk>/reopen/", actions.reminder_reopen_view, name="reopen"),
    path("reminders/<int:pk>/undo/", actions.reminder_undo_view, name="undo"),
    path("reminders/<int:pk>/contacts/", actions.reminder_contact_view, name="contact"),
    path(
        "clinics/<slug:slug>/reminder-settings/",
        settings_views.reminder_settings,
        name="settings",
    ),
]
