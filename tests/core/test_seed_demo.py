from django.apps import apps
from django.contrib.auth import authenticate
from django.core.management import call_command

from core.demo import DEMO_PASSWORD, demo_logins


def row_counts() -> dict[str, int]:
    """Rows of every model of every installed app, auto-created m2m tables included."""
    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_models(include_auto_created=True)
        if model._meta.managed and not model._meta.proxy
    }


def test_seed_demo_second_run_creates_nothing(db):
    # given a seeded database
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    first = row_counts()

    # when seeding again
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115

    # then no model gained or lost a row
    assert row_counts() == first
    assert first["core.Client"] == 2
    assert first["auth.User"] >= 4


def test_seed_demo_users_log_in_with_their_roles(db):
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115

    for role, username, password in demo_logins():
        assert password == DEMO_PASSWORD
        user = authenticate(username=username, password=password)
        assert user is not None, username
        assert user.groups.filter(name=role).exists()
