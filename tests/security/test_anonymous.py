"""Every URL the project routes, generated from the URL conf: an anonymous visitor is sent to the login page
(pages) or answered 401 (the API), never served. A URL that is public on purpose is listed with its reason;
a new URL is covered the moment it is added, and one that answers an anonymous visitor fails here."""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

pytestmark = pytest.mark.django_db

# url name -> why anyone may open it
PUBLIC = {
    "login": "the login page",
    "logout": "logging out needs no session",
    "healthz": "the load balancer's health check",
    "api-schema": "the OpenAPI document describes the API, it holds no data",
    "api-docs": "Swagger UI over that document",
    "api-root": "DRF's list of API roots, no data",
    "api-not-found": "the API's JSON 404 for any unknown path",
    "part-media": "answers 404 unless the file exists and the user may see it (tests/core/test_media_privacy.py)",
    "password_reset": "asking for a reset link is for people who cannot log in",
    "password_reset_done": "says the link was sent",
    "password_reset_confirm": "the emailed link, checked by its token",
    "password_reset_complete": "says the password was set",
}


def _patterns(resolver=None, namespace=None):
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            yield from _patterns(pattern, pattern.namespace or namespace)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield (f"{namespace}:{pattern.name}" if namespace else pattern.name), pattern


def _sample_kwargs(pattern: URLPattern) -> dict[str, object]:
    converters = getattr(pattern.pattern, "converters", {})
    kwargs = {}
    names = list(converters) or list(pattern.pattern.regex.groupindex)
    for name in names:
        converter = converters.get(name)
        kind = type(converter).__name__ if converter else ""
        if name == "format":
            kwargs[name] = "json"
        elif kind in ("IntConverter",) or name in ("pk", "id") or name.endswith("_id"):
            kwargs[name] = 1
        else:
            kwargs[name] = "x"
    return kwargs


def _cases():
    seen = set()
    for name, pattern in _patterns():
        if name.startswith("admin:") or name in seen:
            continue
        seen.add(name)
        yield pytest.param(name, pattern, id=name)


@pytest.mark.parametrize(("name", "pattern"), list(_cases()))
def test_every_url_refuses_an_anonymous_visitor(client, name, pattern):
    if name.split(":")[-1] in PUBLIC or name in PUBLIC:
        pytest.skip(f"public: {PUBLIC.get(name) or PUBLIC[name.split(':')[-1]]}")
    url = reverse(name, kwargs=_sample_kwargs(pattern) or None)

    for method in ("get", "post"):
        response = getattr(client, method)(url)

        if url.startswith("/api/"):
            assert response.status_code == 401, f"{method.upper()} {url} answered {response.status_code}"
        else:
            assert response.status_code == 302, f"{method.upper()} {url} answered {response.status_code}"
            assert response["Location"].startswith("/accounts/login/"), f"{url} sent to {response['Location']}"


def test_public_urls_still_exist():
    names = {name.split(":")[-1] for name, _ in _patterns()}
    assert set(PUBLIC) - names == set()


def test_admin_site_sends_an_anonymous_visitor_to_its_login(client):
    response = client.get("/admin/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
