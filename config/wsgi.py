"""The WSGI application (gunicorn in production, runserver in development).

Once it is loaded, with its URLconf and so every view imported, what the process holds for its
whole life (modules, classes, settings, the URL patterns) is frozen out of Python's cyclic garbage
collector (`gc.freeze`). A full collection walked those 145,000 objects on every run: 40 to 130 ms
added to whichever request set it off, 4 times in 800 requests of the benchmark's pages in one
process at 100,000 patients, the slowest of them 443 ms. With them frozen, a full collection
walks only what requests have made since (5 to 11 ms; the slowest request 50 ms). The frozen
objects are never freed, which is what they are for: they live as long as the process.
"""

import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()
get_resolver().url_patterns  # noqa: B018 — imports every view now, not on the first request
gc.collect()
gc.freeze()
