"""Forms of the staff pages: an invitation (by an admin) and its acceptance (by the invitee)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model, password_validation

from patients.forms import CrispyMixin
from patients.models import Role


class StaffInviteForm(CrispyMixin, forms.Form):
    first_name = forms.CharField(label="Given names", max_length=150)
    last_name = forms.CharField(label="Family name", max_length=150)
    email = forms.EmailField(label="E-mail", help_text="The invitation link is sent here.")
    role = forms.ChoiceField(
        choices=Role.choices,
        help_text="A clinician or nurse sees patients only once a clinician of the clinic "
        "confirms the role.",
    )


class InvitationAcceptForm(CrispyMixin, forms.Form):
    username = forms.CharField(
        max_length=150,
        help_text=get_user_model()._meta.get_field("username").help_text,
    )
    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label="Password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password1") and data.get("password2") != data.get("password1"):
            self.add_error("password2", "The two passwords differ.")
        return data
