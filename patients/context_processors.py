from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from patients.access import memberships_of


def memberships(request: HttpRequest) -> dict[str, Any]:
    """The signed-in user's clinics and roles, for the navigation (read only if a page uses it,
    and once per request with the page's own scope: `memberships_of`)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"my_memberships": SimpleLazyObject(lambda: memberships_of(request))}
