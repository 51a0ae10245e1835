"""A NUL character in a query string: a clear 400 on every page and API endpoint, never a server error.

PostgreSQL text cannot hold NUL; before core.middleware.RejectNulQueryMiddleware, `GET /api/v1/inventory/
?warehouse=%00` (found by bench/api_fuzz.py) and the pages below that read a parameter straight into a lookup
answered 500.
"""

import pytest

from core.middleware import NUL_IN_QUERY

PAGES = [
    "/inventory/?warehouse=A%00",
    "/inventory/export/?warehouse=%00&format=csv",
    "/jobs/parts/search/?q=AC%00",
    "/channels/mappings/new/?sku=%00",
    "/purchasing/suppliers/?q=%00",
    "/inventory/?%00=1",
]


@pytest.mark.parametrize("url", PAGES)
def test_a_page_answers_400_in_the_layout_saying_why(login, superuser, url):
    response = login(superuser).get(url)

    body = response.content.decode()
    assert response.status_code == 400
    assert '<h1 id="error-heading">Bad request</h1>' in body
    assert f"<p>{NUL_IN_QUERY}</p>" in body
    assert '<nav class="mainnav" aria-label="Main">' in body


def test_the_api_answers_400_json_saying_why(login, superuser):
    response = login(superuser).get("/api/v1/inventory/?warehouse=C%00G&q=")

    assert (response.status_code, response.json()) == (400, {"detail": NUL_IN_QUERY})


def test_other_bad_requests_say_nothing_about_the_setup(client, db, settings):
    settings.ALLOWED_HOSTS = ["portal.example"]

    response = client.get("/api/v1/inventory/", HTTP_HOST="evil.example")

    assert (response.status_code, response.json()) == (400, {"detail": "The request could not be read."})


def test_a_query_without_nul_passes(login, superuser):
    assert login(superuser).get("/inventory/?warehouse=ZZ&q=%C3%A9").status_code == 200


def test_the_api_answers_json_with_debug_on_too(login, superuser, settings):
    settings.DEBUG = True

    response = login(superuser).get("/api/v1/warehouses/?page=%00")

    assert (response.status_code, response["Content-Type"], response.json()) == (
        400,
        "application/json",
        {"detail": NUL_IN_QUERY},
    )
