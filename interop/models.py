"""The interop app's models; the CDS Hooks ones live beside their service (`interop.cds`)."""

from interop.cds.models import CdsCard, CdsClient, CdsFeedback, CdsTokenUse

__all__ = ["CdsCard", "CdsClient", "CdsFeedback", "CdsTokenUse"]
