"""API tokens: issued and revoked on /account/tokens/ and /tokens/, hashed at rest, expiring, last use noted."""

import datetime
import hashlib
import importlib
import re

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from core import services
from core.models import ApiToken
from tests.conftest import make_user

ADOPT = importlib.import_module("core.migrations.0004_api_tokens").adopt_drf_tokens


def api_get(key: str, path: str = "/api/v1/warehouses/"):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get(path)


def shown_key(response) -> str:
    match = re.search(r'id="issued-key"[^>]*value="([0-9a-f]{40})"', response.content.decode())
    assert match, "the new key is not shown"
    return match.group(1)


def test_account_tokens_issue_shows_key_once_and_stores_only_its_hash(login, coordinator):
    client = login(coordinator)

    response = client.post("/account/tokens/", {"name": "ERP sync", "expires_on": ""})

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    key = shown_key(response)
    token = ApiToken.objects.get()
    assert (token.user, token.name, token.created_by, token.expires_at) == (coordinator, "ERP sync", coordinator, None)
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert token.key_prefix == key[:8]
    assert key not in client.get("/account/tokens/").content.decode()


def test_api_token_authenticates_and_notes_last_use(coordinator):
    issued = services.issue_api_token(user=coordinator, name="ERP", expires_at=None, issued_by=coordinator)
    before = timezone.now()

    response = api_get(issued.key)

    assert response.status_code == 200
    issued.token.refresh_from_db()
    assert issued.token.last_used_at >= before


def test_api_token_last_use_written_at_most_once_a_minute(coordinator):
    issued = services.issue_api_token(user=coordinator, name="ERP", expires_at=None, issued_by=coordinator)
    assert api_get(issued.key).status_code == 200
    first_use = ApiToken.objects.get().last_used_at

    assert api_get(issued.key).status_code == 200

    assert ApiToken.objects.get().last_used_at == first_use


def test_api_token_expired_answers_401_with_reason(coordinator):
    issued = services.issue_api_token(
        user=coordinator, name="ERP", expires_at=timezone.now() + datetime.timedelta(days=1), issued_by=coordinator
    )
    ApiToken.objects.filter(pk=issued.token.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=3), expires_at=timezone.now() - datetime.timedelta(days=2)
    )

    response = api_get(issued.key)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["detail"].startswith("This token expired at ")
    assert ApiToken.objects.get().last_used_at is None


def test_api_token_revoked_answers_401(login, coordinator):
    issued = services.issue_api_token(user=coordinator, name="ERP", expires_at=None, issued_by=coordinator)

    response = login(coordinator).post(f"/tokens/{issued.token.pk}/revoke/")

    assert response.status_code == 302
    assert response["Location"] == "/account/tokens/"
    assert ApiToken.objects.get().revoked_at is not None
    assert api_get(issued.key).status_code == 401
    assert api_get(issued.key).json() == {"detail": "This token was revoked."}


def test_api_token_unknown_key_answers_401(db):
    response = api_get("0" * 40)

    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}


def test_account_tokens_same_live_name_refused(login, coordinator):
    services.issue_api_token(user=coordinator, name="ERP", expires_at=None, issued_by=coordinator)

    response = login(coordinator).post("/account/tokens/", {"name": "ERP", "expires_on": ""})

    assert response.status_code == 400
    assert "coord already has a token named “ERP”" in response.content.decode()
    assert ApiToken.objects.count() == 1


def test_account_tokens_past_expiry_refused(login, coordinator):
    yesterday = timezone.localdate() - datetime.timedelta(days=1)

    response = login(coordinator).post("/account/tokens/", {"name": "ERP", "expires_on": yesterday.isoformat()})

    assert response.status_code == 400
    assert "Pick today or a later day." in response.content.decode()
    assert ApiToken.objects.count() == 0


def test_account_tokens_form_proposes_the_default_lifetime(login, coordinator, settings):
    settings.API_TOKEN_DEFAULT_LIFETIME_DAYS = 30
    expected = timezone.localdate() + datetime.timedelta(days=30)

    body = login(coordinator).get("/account/tokens/").content.decode()

    assert f'name="expires_on" value="{expected.isoformat()}"' in body


def test_account_tokens_expiry_is_the_end_of_the_chosen_day(login, coordinator):
    day = timezone.localdate() + datetime.timedelta(days=7)

    login(coordinator).post("/account/tokens/", {"name": "ERP", "expires_on": day.isoformat()})

    expected = timezone.make_aware(datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time()))
    assert ApiToken.objects.get().expires_at == expected


def test_api_tokens_page_admin_issues_for_a_user_of_their_client(login, admin_user, coordinator):
    response = login(admin_user).post("/tokens/", {"user": coordinator.pk, "name": "Robot", "expires_on": ""})

    assert response.status_code == 200
    key = shown_key(response)
    token = ApiToken.objects.get()
    assert (token.user, token.created_by) == (coordinator, admin_user)
    assert api_get(key).status_code == 200


def test_api_tokens_page_admin_cannot_issue_for_users_beyond_their_clients(
    login, admin_user, client_a, client_b, superuser
):
    # given a user of the other client only, one of both clients, and the superuser
    other = make_user("bob", clients=[client_b])
    both = make_user("both", clients=[client_a, client_b])
    client = login(admin_user)

    for user in (other, both, superuser):
        response = client.post("/tokens/", {"user": user.pk, "name": "Robot", "expires_on": ""})
        assert response.status_code == 400
        assert "Select a valid choice." in response.content.decode()
    assert ApiToken.objects.count() == 0


def test_api_tokens_page_lists_only_managed_users_tokens(login, admin_user, coordinator, client_b):
    other = make_user("bob", clients=[client_b])
    services.issue_api_token(user=coordinator, name="Coord robot", expires_at=None, issued_by=coordinator)
    services.issue_api_token(user=other, name="Bob robot", expires_at=None, issued_by=other)

    body = login(admin_user).get("/tokens/").content.decode()

    assert "Coord robot" in body
    assert "Bob robot" not in body


def test_revoke_token_of_an_unmanaged_user_is_404(login, admin_user, client_b):
    other = make_user("bob", clients=[client_b])
    issued = services.issue_api_token(user=other, name="Bob robot", expires_at=None, issued_by=other)

    response = login(admin_user).post(f"/tokens/{issued.token.pk}/revoke/", {"from": "admin"})

    assert response.status_code == 404
    assert ApiToken.objects.get().revoked_at is None


def test_revoke_token_by_admin_returns_to_the_admin_page(login, admin_user, coordinator):
    issued = services.issue_api_token(user=coordinator, name="Robot", expires_at=None, issued_by=admin_user)

    response = login(admin_user).post(f"/tokens/{issued.token.pk}/revoke/", {"from": "admin"})

    assert response.status_code == 302
    assert response["Location"] == "/tokens/"
    assert ApiToken.objects.get().revoked_at is not None


def test_api_tokens_page_needs_the_admin_role(login, coordinator, manager):
    assert login(coordinator).get("/tokens/").status_code == 403
    assert login(manager).get("/tokens/").status_code == 403


@pytest.mark.postgresql
def test_adopt_drf_tokens_keeps_existing_keys_working(coordinator):
    # given a rest_framework.authtoken table as the app left it, with one key
    key = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"
    created = timezone.now() - datetime.timedelta(days=400)
    with connection.cursor() as cursor:
        cursor.execute(
            'CREATE TABLE authtoken_token ("key" varchar(40) PRIMARY KEY, created timestamp with time zone NOT NULL,'
            " user_id integer NOT NULL UNIQUE)"
        )
        cursor.execute("INSERT INTO authtoken_token VALUES (%s, %s, %s)", [key, created, coordinator.pk])

    # when the migration's data step runs
    from django.apps import apps

    with connection.schema_editor() as editor:
        ADOPT(apps, editor)

    # then the key authenticates, the plain key is gone from the old table
    token = ApiToken.objects.get()
    assert (token.user, token.name, token.created_at, token.expires_at) == (coordinator, "API token", created, None)
    assert api_get(key).status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM authtoken_token")
        assert cursor.fetchone() == (0,)
