import pytest
from axes.models import AccessAttempt


def post_login(client, username, password):
    return client.post("/accounts/login/", {"username": username, "password": password})


def test_login_page_has_labelled_fields(client, db):
    response = client.get("/accounts/login/")

    body = response.content.decode()
    assert response.status_code == 200
    assert '<label for="id_username">Username:</label>' in body
    assert '<label for="id_password">Password:</label>' in body


def test_login_with_correct_password_redirects_home(client, coordinator):
    response = post_login(client, "coord", "pw-coord")

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.session["_auth_user_id"] == str(coordinator.pk)


def test_login_throttled_after_failure_limit(client, coordinator, settings):
    # given axes on and as many failed attempts as the limit allows
    settings.AXES_ENABLED = True
    statuses = [post_login(client, "coord", "wrong-password").status_code for _ in range(settings.AXES_FAILURE_LIMIT)]
    assert statuses == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429]

    # when the correct password comes next
    response = post_login(client, "coord", "pw-coord")

    # then it is refused and nobody is logged in
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    # the refused attempt counts as one more failure
    assert AccessAttempt.objects.get(username="coord").failures_since_start == settings.AXES_FAILURE_LIMIT + 1


def test_login_below_failure_limit_still_succeeds(client, coordinator, settings):
    settings.AXES_ENABLED = True
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert post_login(client, "coord", "wrong-password").status_code == 200

    response = post_login(client, "coord", "pw-coord")

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(coordinator.pk)


def test_password_change_changes_the_password(login, coordinator):
    client = login(coordinator)
    assert client.get("/accounts/password_change/").status_code == 200

    response = client.post(
        "/accounts/password_change/",
        {"old_password": "pw-coord", "new_password1": "Bright-Harbour-417", "new_password2": "Bright-Harbour-417"},
    )

    assert response.status_code == 302
    assert response["Location"] == "/accounts/password_change/done/"
    coordinator.refresh_from_db()
    assert coordinator.check_password("Bright-Harbour-417")
    assert client.get("/accounts/password_change/done/").status_code == 200


def test_password_change_wrong_old_password_changes_nothing(login, coordinator):
    client = login(coordinator)

    response = client.post(
        "/accounts/password_change/",
        {"old_password": "not-it", "new_password1": "Bright-Harbour-417", "new_password2": "Bright-Harbour-417"},
    )

    assert response.status_code == 200
    assert "Your old password was entered incorrectly" in response.content.decode()
    coordinator.refresh_from_db()
    assert coordinator.check_password("pw-coord")


@pytest.mark.parametrize("url", ["/accounts/password_change/", "/system/"])
def test_login_required_pages_redirect_anonymous(client, db, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={url}"


def test_logout_is_post_only_and_logs_out(login, coordinator):
    client = login(coordinator)

    response = client.post("/accounts/logout/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert "_auth_user_id" not in client.session
