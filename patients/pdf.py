"""HTML documents as PDF (the printable summary, the letter to the GP), drawn by WeasyPrint.

WeasyPrint installs from PyPI as pure Python, but draws text with Pango, a system library
(Debian: libpango-1.0-0 and libpangoft2-1.0-0; `.ci/run` installs them where they are missing).
Without Pango `import weasyprint` fails: `pdf_unavailable_reason()` then says why, the pages offer
no PDF and answer 503 for one, and the browser's print stylesheet still prints on A4.

The renderer fetches nothing from the network or the disk at large: a URL under STATIC_URL is
read from the app's static files, and every other URL (another host, `file:`, `data:`…) is
refused, so no text typed into a record can make the server fetch something.
"""

from __future__ import annotations

import posixpath
from functools import cache
from typing import Any
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage

#: Relative URLs of a document resolve against this origin; it is never contacted.
BASE_URL = "http://ossa.invalid/"
_STATIC_PATH = "/" + settings.STATIC_URL.lstrip("/")
_CONTENT_TYPES = {
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".woff2": "font/woff2",
}


class PdfUnavailable(Exception):
    """This server cannot draw PDFs (WeasyPrint or its system library is missing)."""


@cache
def _weasyprint() -> Any:
    try:
        import weasyprint
    except (ImportError, OSError) as error:  # OSError: Pango could not be loaded
        raise PdfUnavailable(f"{type(error).__name__}: {error}") from error
    return weasyprint


def pdf_unavailable_reason() -> str:
    """Why this server cannot draw PDFs, or "" when it can."""
    try:
        _weasyprint()
    except PdfUnavailable as error:
        return str(error)
    return ""


def static_file_path(url: str) -> str:
    """The file on disk of a static URL of this app; ValueError for any other URL."""
    parts = urlsplit(url)
    if f"{parts.scheme}://{parts.netloc}/" != BASE_URL or not parts.path.startswith(_STATIC_PATH):
        raise ValueError(f"Only the app's static files are read: {url}")
    name = posixpath.normpath(unquote(parts.path[len(_STATIC_PATH) :]))
    if name.startswith(("/", "..")) or posixpath.splitext(name)[1] not in _CONTENT_TYPES:
        raise ValueError(f"Not a static stylesheet, image or font: {url}")
    # Collected (hashed) files first, as production serves them; the source tree otherwise.
    if staticfiles_storage.exists(name):
        return staticfiles_storage.path(name)
    found = finders.find(name)
    if not found:
        raise ValueError(f"No such static file: {url}")
    return str(found)


def _fetcher() -> Any:
    weasyprint = _weasyprint()

    class StaticFilesOnly(weasyprint.urls.URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> Any:
            path = static_file_path(url)
            with open(path, "rb") as file:
                body = file.read()
            content_type = _CONTENT_TYPES[posixpath.splitext(path)[1]]
            return weasyprint.urls.URLFetcherResponse(
                url, body, {"Content-Type": content_type}, 200
            )

    return StaticFilesOnly()


def render(html: str) -> Any:
    """The laid-out document (WeasyPrint's `Document`: its `pages` have a width and height in
    CSS pixels). Raises PdfUnavailable where WeasyPrint cannot run."""
    weasyprint = _weasyprint()
    return weasyprint.HTML(string=html, base_url=BASE_URL, url_fetcher=_fetcher()).render()


def html_to_pdf(html: str) -> bytes:
    """The document as PDF, its pages sized by the document's own `@page` rules (A4).
    Raises PdfUnavailable where WeasyPrint cannot run."""
    return render(html).write_pdf()
