"""A password must not contain the user's username, names or e-mail local part.

Django's UserAttributeSimilarityValidator compares the whole password with each attribute and
lets `load51234567` through for user `load5` (similarity 0.59 < 0.7): a password that only adds
digits to the username. This one refuses any password containing one of them, ignoring case.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

#: Shorter values ("al", "jo") are too common in ordinary passwords to refuse them.
MIN_PART_LENGTH = 3


class ContainsUserAttributeValidator:
    def _parts(self, user: Any) -> list[tuple[str, str]]:
        parts = []
        for attribute, label in (
            ("username", _("your username")),
            ("first_name", _("your first name")),
            ("last_name", _("your last name")),
        ):
            value = str(getattr(user, attribute, "") or "")
            parts.append((value, label))
        email = str(getattr(user, "email", "") or "")
        parts.append((email.partition("@")[0], _("your e-mail address")))
        return [(v.casefold(), label) for v, label in parts if len(v) >= MIN_PART_LENGTH]

    def validate(self, password: str, user: Any = None) -> None:
        if user is None:
            return
        folded = password.casefold()
        for value, label in self._parts(user):
            if value in folded:
                raise ValidationError(
                    _("The password contains %(what)s."),
                    code="password_contains_user_attribute",
                    params={"what": label},
                )

    def get_help_text(self) -> str:
        return _("Your password can't contain your username, your names or your e-mail address.")
