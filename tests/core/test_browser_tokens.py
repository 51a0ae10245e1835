"""An admin issues an API token for a user in the browser, the key works once copied, and revoking it stops it."""

import re

import pytest
from rest_framework.test import APIClient

from core.models import ApiToken

pytestmark = pytest.mark.browser


def test_admin_issues_and_revokes_a_token_for_a_user(page, live_server, browser_login, admin_user, coordinator):
    # given the admin on their own tokens page, reached from the user menu
    browser_login(page, live_server, admin_user)
    page.get_by_role("link", name="API tokens").click()
    page.get_by_role("link", name="Tokens of your users").click()

    # when they issue a token for the coordinator with no expiry
    page.get_by_label("User").select_option(label="coord")
    page.get_by_label("Name").fill("ERP nightly sync")
    page.get_by_label("Expires on").fill("")
    page.get_by_role("button", name="Issue token").click()

    # then the key is shown once and authenticates as the coordinator
    key = page.get_by_label("Key").input_value()
    assert re.fullmatch(r"[0-9a-f]{40}", key)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/warehouses/").status_code == 200
    row = page.get_by_role("row").filter(has_text="ERP nightly sync")
    assert row.get_by_role("cell").nth(0).inner_text() == "coord"
    page.goto(page.url)  # a GET: the key is not shown again
    assert page.get_by_label("Key").count() == 0

    # when they revoke it (confirming the question)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("row").filter(has_text="ERP nightly sync").get_by_role(
        "button", name="Revoke ERP nightly sync"
    ).click()

    # then the page says so and the key is refused
    page.get_by_text("Revoked the token “ERP nightly sync” of coord.").wait_for()
    assert ApiToken.objects.get().revoked_at is not None
    assert api.get("/api/v1/warehouses/").status_code == 401
