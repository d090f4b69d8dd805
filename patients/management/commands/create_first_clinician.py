"""create_first_clinician --clinic SLUG --username NAME --email ADDRESS: a clinic's first
clinician, confirmed at once, and a one-time link (printed) to choose their password.

Every later clinical role is given by an admin and confirmed by a clinician (the two-person
rule); the first clinician has nobody to confirm them, so the person who runs this command on
the server is the second person. Refused when the clinic has a clinician already."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandParser
from django.core.validators import validate_email

from patients.management.commands._io import fail
from patients.models import Clinic
from patients.staff_services import first_clinician_create, password_reset_link


class Command(BaseCommand):
    help = "Create a clinic's first clinician and print a one-time link to choose a password."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--clinic", required=True, help="slug of the clinic")
        parser.add_argument("--username", required=True)
        parser.add_argument("--email", required=True)
        parser.add_argument("--first-name", default="")
        parser.add_argument("--last-name", default="")

    def handle(
        self,
        *args: Any,
        clinic: str,
        username: str,
        email: str,
        first_name: str,
        last_name: str,
        **options: Any,
    ) -> None:
        target = Clinic.objects.filter(slug=clinic).first()
        if target is None:
            raise fail([f"--clinic: no clinic with slug {clinic!r}"])
        try:
            validate_email(email)
        except ValidationError:
            raise fail([f"--email: {email!r} is not an e-mail address"]) from None
        try:
            user = first_clinician_create(
                clinic=target,
                username=username,
                email=email,
                first_name=first_name,
                last_name=last_name,
            )
        except ValidationError as error:
            raise fail(error.messages) from None
        link = password_reset_link(user=user, base_url=settings.OSSA_SITE_URL)
        self.stdout.write(
            f"{username} is the first clinician of {target.name}. Give them this one-time link "
            f"to choose a password (it works once, for "
            f"{settings.PASSWORD_RESET_TIMEOUT // 3600} hours):\n{link}"
        )
