"""Which outside addresses may receive a clinic's e-mails: OSSA_ALLOWED_EMAIL_DOMAINS, a
comma-separated list of domains (`hospital.example, nhs.example`). Read here only, at each call,
so a changed environment needs no code change; an address matches its domain exactly
(case-insensitive), not a subdomain of it."""

from __future__ import annotations

from config.env import env_list

ALLOWED_DOMAINS_VARIABLE = "OSSA_ALLOWED_EMAIL_DOMAINS"


def allowed_email_domains() -> frozenset[str]:
    return frozenset(
        domain.lower().lstrip("@") for domain in env_list(ALLOWED_DOMAINS_VARIABLE, [])
    )


def in_allowed_domain(address: str) -> bool:
    domain = address.rpartition("@")[2].lower()
    return bool(domain) and domain in allowed_email_domains()
