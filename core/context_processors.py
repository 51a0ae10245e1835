from django.urls import NoReverseMatch, reverse

from core.roles import ADMIN, COORDINATOR, MANAGER, OPERATOR, user_roles


def navigation(request):
    """The navigation entries the user's roles allow; the layout shows only these."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "user_roles": set()}
    roles = user_roles(user)
    items = [("Inventory", "inventory:list"), ("Jobs", "jobs:list")]
    if roles & {COORDINATOR, OPERATOR, ADMIN}:
        items.append(("Job board", "jobs:board"))
    if roles & {MANAGER, ADMIN}:
        items.append(("Purchasing", "purchasing:list"))
    if roles & {MANAGER, ADMIN}:
        items.append(("Channel sync", "channels:sync"))
    if roles & {ADMIN}:
        items.append(("Allocadence", "allocadence:runs"))
        items.append(("System", "system"))
    resolved = []
    for label, url_name in items:
        try:
            resolved.append((label, url_name, reverse(url_name)))
        except NoReverseMatch:  # an app without that page yet
            continue
    return {"nav_items": resolved, "user_roles": roles}
