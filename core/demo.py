"""Demo clients and one user per role. Idempotent: a second run changes nothing."""

from django.contrib.auth.models import Group, User

from core.models import Client, Membership
from core.roles import ADMIN, COORDINATOR, MANAGER, OPERATOR

DEMO_PASSWORD = "portal-demo"
DEMO_CLIENTS = [("acme", "Acme Print"), ("globex", "Globex Signs")]
DEMO_USERS = [
    # username, role, client codes, superuser
    ("coordinator", COORDINATOR, ["acme"], False),
    ("operator", OPERATOR, ["acme"], False),
    ("manager", MANAGER, ["acme", "globex"], False),
    ("admin", ADMIN, ["acme", "globex"], True),
]


def seed_demo_data(stdout=None) -> dict:
    created = 0
    clients = {}
    for code, name in DEMO_CLIENTS:
        clients[code], was_created = Client.objects.get_or_create(code=code, defaults={"name": name})
        created += was_created
    for username, role, client_codes, is_superuser in DEMO_USERS:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User.objects.create_user(
                username=username,
                password=DEMO_PASSWORD,
                is_superuser=is_superuser,
                is_staff=is_superuser,
                email=f"{username}@example.com",
            )
            created += 1
        user.groups.add(Group.objects.get(name=role))
        for code in client_codes:
            _, was_created = Membership.objects.get_or_create(user=user, client=clients[code])
            created += was_created
    return {"created": created}


def demo_logins() -> list[tuple[str, str, str]]:
    return [(role, username, DEMO_PASSWORD) for username, role, _, _ in DEMO_USERS]
