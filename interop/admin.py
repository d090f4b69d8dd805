"""The interop app's admin pages; the CDS Hooks ones live beside their service."""

from interop.cds import admin as cds_admin  # noqa: F401  (registers the CDS models)
