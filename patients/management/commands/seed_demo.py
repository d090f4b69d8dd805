"""seed_demo [--patients N] [--password P]: a demo clinic with one user per role; idempotent."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from patients.demo import DEMO_STAFF, seed_demo


class Command(BaseCommand):
    help = "Create the demo and other clinics, their staff and N demo patients (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--patients", type=int, default=40, help="demo patients (default 40)")
        parser.add_argument("--password", help="password for every demo user (default: generated)")

    def handle(self, *args: Any, patients: int, password: str | None, **options: Any) -> None:
        result = seed_demo(patients=max(patients, 0), password=password, today=timezone.localdate())
        if result.password is not None and password is None:
            # Kept (0600) so that `make run` can show the logins again later.
            path = settings.VAR_DIR / "demo_password"
            path.write_text(result.password)
            path.chmod(0o600)
        users = ", ".join(s[1] for s in DEMO_STAFF)
        self.stdout.write(f"Demo users: {users}")
        if result.password is not None:
            self.stdout.write(f"Password: {result.password}")
        else:
            self.stdout.write("Passwords unchanged (pass --password to set one).")
        self.stdout.write(f"Patients created: {result.created_patients} (asked for {patients})")
