from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from config import two_factor
from config.health import healthz
from config.session import session_touch
from patients.views import dashboard

# A refusal is logged in one line (config/errors.py).
handler403 = "config.errors.permission_denied"

urlpatterns = [
    path("", dashboard, name="dashboard"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/session/", session_touch, name="session-touch"),
    path("accounts/two-factor/setup/", two_factor.setup, name="two-factor-setup"),
    path("accounts/two-factor/verify/", two_factor.verify, name="two-factor-verify"),
    path(
        "accounts/password/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    # The link a clinic admin sends from the staff page (patients.staff_services); no page
    # asks for a reset by e-mail address, so nobody can probe which addresses have accounts.
    path(
        "accounts/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("healthz", healthz, name="healthz"),
    path("", include("patients.urls")),
    path("", include("therapy.urls")),
    path("", include("monitoring.urls")),
    path("", include("monitoring.reminder_urls")),
    path("", include("quality.urls")),
    path("", include("interop.fhir.urls")),
    path("", include("interop.cds.urls")),
    path("", include("quality.kpi_urls")),
]

# The Django admin is not on the clinic's host in production unless OSSA_ADMIN_ENABLED=1.
if settings.DEBUG or settings.OSSA_ADMIN_ENABLED:
    urlpatterns.insert(-4, path("admin/", admin.site.urls))
