"""Every URL that names an object, generated from the URL conf: a user of another client (with every role) gets
404 for each method the view takes (405 for one it does not), never the object and never a 403 that confirms
it exists. Each URL name has a case saying which of
client A's objects fills it; a new URL with an object in its path fails here until a case is added."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.urls import reverse

from channels.models import SkuMapping
from core.models import SyncRun
from core.roles import ADMIN, COORDINATOR, MANAGER, OPERATOR
from core.services import issue_api_token
from imports.models import ImportBatch
from inventory.models import Warehouse
from inventory.services import create_warehouse
from jobs.models import OrderPush
from purchasing.models import Supplier
from tests.channels.ui_factories import make_channel, make_record
from tests.conftest import make_user
from tests.jobs.conftest import make_part, put_stock

from .test_anonymous import PUBLIC, _patterns

pytestmark = pytest.mark.django_db

# url name -> (object kind, the URL's own kwargs besides the object's id)
CASES = {
    "inventory:part": ("part", {}),
    "inventory:part-image": ("part", {}),
    "inventory:part-operation": ("part", {"operation": "adjust"}),
    "bom:part": ("part", {}),
    "bom:check": ("part", {}),
    "bom:plan": ("part", {}),
    "imports:preview": ("import", {}),
    "imports:apply": ("import", {}),
    "imports:progress": ("import", {}),
    "jobs:detail": ("job", {}),
    "jobs:edit": ("job", {}),
    "jobs:move": ("job", {}),
    "jobs:reopen": ("job", {}),
    "jobs:reserve-now": ("job", {}),
    "jobs:release": ("job", {}),
    "jobs:cancel": ("job", {}),
    "jobs:convert": ("job", {}),
    "jobs:cancel-plan": ("job", {}),
    "allocadence:retry": ("push", {}),
    "channels:force_push_one": ("record", {}),
    "channels:export_status": ("export", {}),
    "channels:export_download": ("export", {}),
    "channels:mapping_edit": ("mapping", {}),
    "channels:mapping_deactivate": ("mapping", {}),
    "purchasing:supplier-edit": ("supplier", {}),
    "purchasing:detail": ("po", {}),
    "purchasing:edit": ("po", {}),
    "purchasing:order": ("po", {}),
    "purchasing:cancel": ("po", {}),
    "purchasing:receive": ("po", {}),
    "purchasing:retry-push": ("po", {}),
    "revoke-token": ("token", {}),
    "part-detail": ("part", {}),
    "part-bom": ("part", {}),
    "job-detail": ("job", {}),
    "job-advance": ("job", {}),
    "job-cancel": ("job", {}),
    "job-release": ("job", {}),
    "job-reserve-now": ("job", {}),
    "channel-sync-detail": ("record", {}),
    "channel-detail": ("channel", {}),
    "mapping-detail": ("mapping", {}),
    "supplier-detail": ("supplier", {}),
    "purchase-order-detail": ("po", {}),
    "purchase-order-cancel": ("po", {}),
    "purchase-order-order": ("po", {}),
    "purchase-order-receive": ("po", {}),
}
# URLs with an id in the path that are not one client's object, and why.
SHARED = {
    "warehouse-detail": "warehouses are shared by every client (SPEC §2)",
}


def _object_urls():
    """(name, pattern) of every non-admin URL whose path names an object (an int/pk argument)."""
    seen = set()
    for name, pattern in _patterns():
        if name.startswith("admin:") or name in seen or name.split(":")[-1] in PUBLIC:
            continue
        converters = getattr(pattern.pattern, "converters", {})
        arguments = set(converters) | set(pattern.pattern.regex.groupindex)
        if arguments - {"format"}:
            seen.add(name)
            yield name, pattern


@dataclass
class World:
    objects: dict


@pytest.fixture
def world(client_a, coordinator, manager) -> World:
    from jobs.services import LineSpec, save_job
    from purchasing.services import LineSpec as POLine  # noqa: N814
    from purchasing.services import save_purchase_order

    main = create_warehouse(code="ISO", name="Isolation")
    alc = create_warehouse(code="ISOA", name="Isolation A", source=Warehouse.Source.ALLOCADENCE, allocadence_id=77)
    part = make_part(client_a, "ISO-1")
    put_stock(part, main, 10)
    job = save_job(client=client_a, user=coordinator, title="Theirs", lines=[LineSpec(part, main, 2)])
    pushed = save_job(client=client_a, user=coordinator, title="Pushed", lines=[LineSpec(part, main, 1)])
    push = OrderPush.objects.create(job=pushed, order_number="ISO-PUSH-1", warehouse=alc)
    supplier = Supplier.objects.create(client=client_a, name="Mill", code="MILL", lead_time_days=3)
    po = save_purchase_order(
        client=client_a, user=manager, supplier=supplier, warehouse=main, lines=[POLine(part=part, quantity=5)]
    )
    channel = make_channel(client_a, "iso-shop")
    record = make_record(channel, sku=part.sku)
    mapping = SkuMapping.objects.create(client=client_a, channel=channel, part=part, channel_sku="C-ISO-1")
    export = SyncRun.objects.create(kind=SyncRun.Kind.EXPORT, client=client_a, counts={"user_id": manager.pk})
    batch = ImportBatch.objects.create(client=client_a, kind="quantities", row_count=1)
    token = issue_api_token(user=coordinator, name="theirs", expires_at=None, issued_by=coordinator).token
    return World(
        objects={
            "part": part.pk, "job": job.pk, "push": push.pk, "supplier": supplier.pk, "po": po.pk,
            "channel": channel.pk, "record": record.pk, "mapping": mapping.pk, "export": export.pk,
            "import": batch.pk, "token": token.pk,
        }
    )  # fmt: skip


@pytest.fixture
def outsider(client_b):
    """Every role, in client B: all the permissions, none of client A's objects."""
    return make_user("outsider", roles=[ADMIN, COORDINATOR, MANAGER, OPERATOR], clients=[client_b])


def test_every_url_naming_an_object_has_a_case():
    missing = [name for name, _ in _object_urls() if name not in CASES and name not in SHARED]
    stale = [name for name in [*CASES, *SHARED] if name not in {n for n, _ in _object_urls()}]

    assert missing == [], f"add an isolation case to tests/security/test_isolation.py for: {missing}"
    assert stale == [], f"these cases name URLs that no longer exist: {stale}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_other_clients_user_gets_404(name, world, outsider, login):
    kind, extra = CASES[name]
    patterns = dict(_object_urls())
    converters = getattr(patterns[name].pattern, "converters", {})
    arguments = [a for a in (set(converters) | set(patterns[name].pattern.regex.groupindex)) if a not in extra]
    kwargs = {**extra, **dict.fromkeys([a for a in arguments if a != "format"], world.objects[kind])}
    url = reverse(name, kwargs=kwargs)
    http = login(outsider)
    headers = {}
    if url.startswith("/api/"):
        key = issue_api_token(user=outsider, name="outsider", expires_at=None, issued_by=outsider).key
        headers = {"HTTP_AUTHORIZATION": f"Token {key}"}

    body = {"data": "{}", "content_type": "application/json"} if headers else {}
    answers = {"get": http.get(url, **headers).status_code, "post": http.post(url, **body, **headers).status_code}

    # 405 is decided by the method alone, before any lookup, so it says nothing about the object.
    assert set(answers.values()) <= {404, 405}, f"{url} answered {answers}"
    assert 404 in answers.values(), f"{url} answered {answers}"
