"""Fixtures shared by every test: clients, users per role, logged-in test clients.

Tests run on PostgreSQL (DATABASE_URL, default 127.0.0.1:5432). Keep fixtures small
and real: factories over mocks.
"""

import os

import pytest
from django.contrib.auth.models import Group, User

from core.models import Client, Membership
from core.roles import ADMIN, COORDINATOR, MANAGER, OPERATOR


def pytest_configure(config):
    os.environ.setdefault("AXES_ENABLED", "0")


@pytest.fixture(autouse=True)
def _no_axes(settings):
    settings.AXES_ENABLED = False


@pytest.fixture
def client_a(db):
    return Client.objects.create(code="acme", name="Acme Print")


@pytest.fixture
def client_b(db):
    return Client.objects.create(code="globex", name="Globex Signs")


def make_user(username: str, *, roles=(), clients=(), superuser: bool = False) -> User:
    user = User.objects.create_user(username=username, password="pw-" + username, is_superuser=superuser,
                                    is_staff=superuser)
    for role in roles:
        user.groups.add(Group.objects.get(name=role))
    for client in clients:
        Membership.objects.create(user=user, client=client)
    return user


@pytest.fixture
def coordinator(client_a):
    return make_user("coord", roles=[COORDINATOR], clients=[client_a])


@pytest.fixture
def operator(client_a):
    return make_user("oper", roles=[OPERATOR], clients=[client_a])


@pytest.fixture
def manager(client_a):
    return make_user("mgr", roles=[MANAGER], clients=[client_a])


@pytest.fixture
def admin_user(client_a):
    return make_user("adm", roles=[ADMIN], clients=[client_a])


@pytest.fixture
def superuser(db):
    return make_user("root", superuser=True)


@pytest.fixture
def login(client):
    """Log a user into the Django test client: `login(user)` returns the client."""

    def _login(user):
        client.force_login(user)
        return client

    return _login
