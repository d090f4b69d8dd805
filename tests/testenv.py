"""Loaded by pytest before Django settings (see pyproject `-p tests.testenv`).

Tests talk plain HTTP to the test client and to a live server on localhost: switch the HTTPS
redirect and secure-only cookies off for them, and keep test state out of the developer's var/.
"""

import os
import tempfile

os.environ.setdefault("OSSA_SSL_REDIRECT", "0")
os.environ.setdefault("OSSA_SECURE_COOKIES", "0")
os.environ.setdefault("OSSA_STATIC_MANIFEST", "0")
# E-mails link with absolute addresses; production must say where Ossa lives (DEBUG is off here).
os.environ.setdefault("OSSA_SITE_URL", "https://ossa.test")
os.environ.setdefault("OSSA_VAR_DIR", tempfile.mkdtemp(prefix="ossa-test-var-"))
