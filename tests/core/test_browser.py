import pytest
from django.urls import NoReverseMatch, reverse

pytestmark = pytest.mark.browser


def page_exists(url_name: str) -> bool:
    try:
        reverse(url_name)
    except NoReverseMatch:
        return False
    return True


def test_coordinator_logs_in_sees_own_navigation_and_logs_out(page, live_server, browser_login, coordinator):
    # given the login page
    page.goto(f"{live_server.url}/accounts/login/")
    assert page.get_by_role("heading", name="Log in").is_visible()

    # when the coordinator logs in through the form
    browser_login(page, live_server, coordinator)

    # then the navigation shows the coordinator's entries and not the admin's
    nav = page.get_by_role("navigation", name="Main")
    labels = nav.get_by_role("link").all_inner_texts()
    expected = [label for label, name in [("Inventory", "inventory:list"), ("Jobs", "jobs:list")] if page_exists(name)]
    assert [label for label in labels if label in {"Inventory", "Jobs"}] == expected
    assert "System" not in labels
    assert "Admin" not in labels
    assert page.get_by_text("coord", exact=True).is_visible()

    # when logging out
    page.get_by_role("button", name="Log out").click()

    # then the session is gone and /system/ asks for a login again
    page.wait_for_url(f"{live_server.url}/accounts/login/")
    page.goto(f"{live_server.url}/system/")
    assert page.url == f"{live_server.url}/accounts/login/?next=/system/"
