"""403/404 inside the portal layout; 500 without the database; a database lost mid-request is a 503."""

import pytest
from django.db import OperationalError, connection
from django.test import Client, RequestFactory

from core import errors


def assert_error_page_in_layout(response, *, status: int, heading: str, username: str) -> str:
    """The error page has the navigation, the user's menu and the heading; returns the body for more checks."""
    body = response.content.decode()
    assert response.status_code == status
    assert '<nav class="mainnav" aria-label="Main">' in body
    assert 'href="/jobs/"' in body
    assert f'<span class="username">{username}</span>' in body
    assert f'<h1 id="error-heading">{heading}</h1>' in body
    return body


def test_404_renders_inside_the_layout_with_navigation_and_user_menu(login, coordinator):
    response = login(coordinator).get("/inventory/parts/999999/")

    body = assert_error_page_in_layout(response, status=404, heading="Page not found", username="coord")
    assert "<code>/inventory/parts/999999/</code>" in body


def test_403_renders_inside_the_layout_naming_the_user(login, coordinator):
    response = login(coordinator).get("/system/")

    body = assert_error_page_in_layout(response, status=403, heading="Not allowed", username="coord")
    assert "You are signed in as <strong>coord</strong>" in body


def test_404_anonymous_has_the_layout_without_menu(client, db):
    response = client.get("/no-such-page/")

    body = response.content.decode()
    assert response.status_code == 404
    assert '<a class="brand" href="/">Inventory Portal</a>' in body
    assert "mainnav" not in body


def test_404_under_api_is_json(client, db):
    response = client.get("/api/v1/no-such-thing/")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_500_renders_in_the_layout_without_touching_the_database(db, django_assert_num_queries):
    request = RequestFactory().get("/jobs/")
    with django_assert_num_queries(0):
        try:
            raise ValueError("a bug")
        except ValueError:
            response = errors.server_error(request)

    body = response.content.decode()
    assert response.status_code == 500
    assert '<h1 id="error-heading">Something went wrong</h1>' in body
    assert '<a class="brand" href="/">Inventory Portal</a>' in body


def test_500_on_database_error_is_503_without_touching_the_database(db, django_assert_num_queries):
    request = RequestFactory().get("/jobs/")
    with django_assert_num_queries(0):
        try:
            raise OperationalError("server closed the connection unexpectedly")
        except OperationalError:
            response = errors.server_error(request)

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert '<h1 id="error-heading">The database is not answering</h1>' in response.content.decode()


@pytest.fixture
def failing_urls(settings):
    settings.ROOT_URLCONF = "tests.core.error_urls"
    settings.DEBUG = False


@pytest.mark.django_db(transaction=True)
def test_page_losing_its_database_mid_request_answers_503_page(failing_urls):
    client = Client(raise_request_exception=False)
    try:
        response = client.get("/tests/database-lost/")
    finally:
        connection.close()  # the terminated connection; the next query reconnects

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "nothing is half-saved" in response.content.decode()
    assert "Content-Security-Policy" in response


@pytest.mark.django_db(transaction=True)
def test_api_losing_its_database_mid_request_answers_503_json(failing_urls):
    client = Client(raise_request_exception=False)
    try:
        response = client.get("/api/tests/database-lost/")
    finally:
        connection.close()

    assert response.status_code == 503
    assert response.json() == {"detail": "The database is unavailable; nothing was changed. Try again."}


def test_page_with_a_bug_answers_the_500_page(db, failing_urls):
    response = Client(raise_request_exception=False).get("/tests/bug/")

    assert response.status_code == 500
    assert '<h1 id="error-heading">Something went wrong</h1>' in response.content.decode()
