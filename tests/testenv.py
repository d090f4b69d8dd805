"""Loaded by pytest before Django settings (see pyproject `-p tests.testenv`).

Tests talk plain HTTP to the test client and to a live server on localhost: switch the HTTPS
redirect and secure-only cookies off for them, and keep test state out of the developer's var/.
"""

import os
import secrets
import tempfile

os.environ.setdefault("OSSA_SSL_REDIRECT", "0")
os.environ.setdefault("OSSA_SECURE_COOKIES", "0")
os.environ.setdefault("OSSA_STATIC_MANIFEST", "0")
# E-mails link with absolute addresses; production must say where Ossa lives (DEBUG is off here).
os.environ.setdefault("OSSA_SITE_URL", "https://ossa.test")
os.environ.setdefault("OSSA_VAR_DIR", tempfile.mkdtemp(prefix="ossa-test-var-"))
# Production refuses to start without a secret key (DEBUG is off here): one per test run.
os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
# Signing in with a second factor is tested in tests/config/test_two_factor.py, where it is
# switched on; every other test signs in with the password alone (as `make run` does).
os.environ.setdefault("OSSA_REQUIRE_2FA", "0")
# The admin's own tests (tests/patients/test_auth.py) need it routed; test_hardening checks
# that production leaves it off.
os.environ.setdefault("OSSA_ADMIN_ENABLED", "1")
