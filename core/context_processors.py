from functools import cache

from django.urls import get_script_prefix, reverse

from core.roles import ADMIN, COORDINATOR, MANAGER, OPERATOR, user_roles


def navigation(request):
    """The navigation entries the user's roles allow; the layout shows only these."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "user_roles": set()}
    roles = getattr(request, "_portal_roles", None)
    if roles is None:
        roles = request._portal_roles = user_roles(user)  # once per request: the layout and the page both ask
    items = [("Inventory", "inventory:list"), ("Jobs", "jobs:list")]
    if roles & {COORDINATOR, OPERATOR, ADMIN}:
        items.append(("Job board", "jobs:board"))
    if roles & {MANAGER, ADMIN}:
        items.append(("Purchasing", "purchasing:list"))
        items.append(("Imports", "imports:upload"))
        items.append(("Channel sync", "channels:sync"))
    if roles & {ADMIN}:
        items.append(("Allocadence", "allocadence:runs"))
        items.append(("System", "system"))
    prefix = get_script_prefix()
    return {"nav_items": [(label, url_name, _url(prefix, url_name)) for label, url_name in items], "user_roles": roles}


@cache
def _url(prefix: str, url_name: str) -> str:
    """The navigation's URLs never change while the process runs (the prefix is part of the key): reverse once."""
    return reverse(url_name)
