"""The channels API: channel-sync (filters, scoping, force-push), channels, mappings, open orders, schema."""

import pytest
from rest_framework.test import APIClient

from channels.models import OpenOrder, SkuMapping, SyncRecord
from inventory.models import Part
from tests.channels.ui_factories import Status, build_world

SYNC = "/api/v1/channel-sync/"
FORCE_PUSH = "/api/v1/channel-sync/force-push/"


@pytest.fixture
def world(client_a, client_b):
    return build_world(client_a, client_b)


@pytest.fixture
def api():
    def _api(user):
        http = APIClient()
        http.force_authenticate(user)
        return http

    return _api


def ids_of(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_channel_sync_list_defaults_to_normal_and_is_scoped(api, manager, world):
    assert ids_of(api(manager).get(SYNC)) == world.ids("a_in_process", "a_submitted")


def test_channel_sync_list_filters(api, manager, superuser, world):
    http = api(manager)

    assert ids_of(http.get(SYNC, {"view": "archival"})) == world.ids("a_success", "a_error", "a2_error")
    assert ids_of(http.get(SYNC, {"view": "archival", "status": "error"})) == world.ids("a_error", "a2_error")
    assert ids_of(http.get(SYNC, {"view": "archival", "channel": "amz-a"})) == world.ids("a2_error")
    sku = world.records["a_success"].sku
    assert ids_of(http.get(SYNC, {"view": "archival", "sku": sku})) == world.ids("a_success")
    assert ids_of(api(superuser).get(SYNC, {"view": "archival", "client": "globex"})) == world.ids("b_error")


def test_channel_sync_list_status_without_view_uses_the_statuss_view(api, manager, world):
    http = api(manager)

    assert ids_of(http.get(SYNC, {"status": "error"})) == world.ids("a_error", "a2_error")
    assert ids_of(http.get(SYNC, {"status": "submitted"})) == world.ids("a_submitted")
    assert ids_of(http.get(SYNC, {"view": "normal", "status": "error"})) == set()


def test_channel_sync_list_other_client_filter_is_400_and_detail_404(api, manager, world):
    http = api(manager)

    assert http.get(SYNC, {"client": "globex"}).status_code == 400
    assert http.get(f"{SYNC}{world.records['b_error'].pk}/").status_code == 404
    own = http.get(f"{SYNC}{world.records['a_error'].pk}/")
    assert own.status_code == 200
    assert own.json()["channel"] == "shop-a"
    assert own.json()["status_display"] == "Error"


def test_channel_sync_force_push_refused_to_manager(api, manager, world):
    response = api(manager).post(FORCE_PUSH, {"ids": [world.records["a_error"].pk]}, format="json")

    assert response.status_code == 403
    assert SyncRecord.objects.get(pk=world.records["a_error"].pk).status == Status.ERROR


def test_channel_sync_force_push_ids_moves_only_own_errors_and_is_idempotent(api, admin_user, world):
    http = api(admin_user)
    ids = [world.records[name].pk for name in ("a_error", "a_success", "b_error")]

    first = http.post(FORCE_PUSH, {"ids": ids}, format="json")
    second = http.post(FORCE_PUSH, {"ids": ids}, format="json")

    assert first.status_code == 200
    assert first.json() == {"queued": 1}
    assert second.json() == {"queued": 0}
    statuses = dict(SyncRecord.objects.values_list("pk", "status"))
    assert statuses[world.records["a_error"].pk] == Status.IN_PROCESS
    assert statuses[world.records["a_success"].pk] == Status.SUCCESS
    assert statuses[world.records["b_error"].pk] == Status.ERROR


def test_channel_sync_force_push_all_matching_with_filters(api, admin_user, world):
    response = api(admin_user).post(FORCE_PUSH, {"all_matching": True, "channel": "amz-a"}, format="json")

    assert response.json() == {"queued": 1}
    assert SyncRecord.objects.get(pk=world.records["a2_error"].pk).status == Status.IN_PROCESS
    assert SyncRecord.objects.get(pk=world.records["a_error"].pk).status == Status.ERROR


def test_channel_sync_force_push_needs_ids_or_all_matching(api, admin_user, world):
    response = api(admin_user).post(FORCE_PUSH, {}, format="json")

    assert response.status_code == 400


def test_channels_list_is_scoped_and_never_shows_credentials(api, manager, world):
    response = api(manager).get("/api/v1/channels/")

    rows = response.json()["results"]
    assert {row["code"] for row in rows} == {"shop-a", "amz-a"}
    assert "credentials" not in rows[0]
    assert "shpat_secret" not in response.content.decode()


def test_mappings_crud_per_permission_and_scope(api, manager, coordinator, world, client_b):
    part = Part.objects.create(client=world.channel_a.client, sku="MAP-1")
    other_part = Part.objects.create(client=client_b, sku="MAP-1")
    body = {"channel": world.channel_a.pk, "sku": "MAP-1", "channel_sku": "L-MAP-1", "channel_product_id": "99"}

    refused = api(coordinator).post("/api/v1/mappings/", body, format="json")
    created = api(manager).post("/api/v1/mappings/", body, format="json")
    duplicate = api(manager).post("/api/v1/mappings/", body, format="json")
    other_channel = api(manager).post("/api/v1/mappings/", {**body, "channel": world.channel_b.pk}, format="json")

    assert refused.status_code == 403
    assert created.status_code == 201, created.content
    mapping = SkuMapping.objects.get(pk=created.json()["id"])
    assert (mapping.part_id, mapping.client_id, mapping.channel_sku) == (part.pk, part.client_id, "L-MAP-1")
    assert duplicate.status_code == 409
    assert other_channel.status_code == 400
    assert not SkuMapping.objects.filter(part=other_part).exists()

    patched = api(manager).patch(f"/api/v1/mappings/{mapping.pk}/", {"back_order_quantity": 3}, format="json")
    assert patched.status_code == 200
    assert patched.json()["back_order_quantity"] == 3
    deleted = api(manager).delete(f"/api/v1/mappings/{mapping.pk}/")
    assert deleted.status_code == 204
    mapping.refresh_from_db()
    assert mapping.is_active is False


def test_mappings_of_another_client_are_404(api, manager, client_b, world):
    part = Part.objects.create(client=client_b, sku="B-1")
    mapping = SkuMapping.objects.create(client=client_b, channel=world.channel_b, part=part, channel_sku="B-1")

    assert api(manager).get(f"/api/v1/mappings/{mapping.pk}/").status_code == 404
    assert api(manager).patch(f"/api/v1/mappings/{mapping.pk}/", {"is_active": False}, format="json").status_code == 404
    mapping.refresh_from_db()
    assert mapping.is_active is True


def test_open_orders_post_and_put_set_the_quantity(api, manager, coordinator, world):
    body = {"channel": "shop-a", "channel_sku": "L-1", "quantity": 4}

    refused = api(coordinator).post("/api/v1/open-orders/", body, format="json")
    created = api(manager).post("/api/v1/open-orders/", body, format="json")
    replaced = api(manager).put("/api/v1/open-orders/", {**body, "quantity": 2}, format="json")
    negative = api(manager).post("/api/v1/open-orders/", {**body, "quantity": -1}, format="json")
    foreign = api(manager).post("/api/v1/open-orders/", {**body, "channel": "shop-b"}, format="json")

    assert refused.status_code == 403
    assert created.status_code == 201
    assert replaced.status_code == 200
    assert negative.status_code == 400
    assert foreign.status_code == 400
    assert list(OpenOrder.objects.values_list("channel__code", "channel_sku", "quantity")) == [("shop-a", "L-1", 2)]
    listed = api(manager).get("/api/v1/open-orders/").json()["results"]
    assert [(row["channel"], row["channel_sku"], row["quantity"]) for row in listed] == [("shop-a", "L-1", 2)]


def test_schema_documents_the_channel_endpoints(api, manager):
    response = api(manager).get("/api/schema/")

    assert response.status_code == 200
    schema = response.content.decode()
    for path in (
        "/api/v1/channel-sync/",
        "/api/v1/channel-sync/force-push/",
        "/api/v1/mappings/",
        "/api/v1/open-orders/",
    ):
        assert path in schema
