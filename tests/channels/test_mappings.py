"""Mappings pages, the mapping and open-order CSV importers (all-or-nothing), and the unmapped queue."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from channels.importers import MAPPINGS_KIND, OPEN_ORDERS_KIND
from channels.models import OpenOrder, SkuMapping
from imports.models import ImportBatch
from imports.services import apply_import, preview_import
from inventory.models import Part
from tests.channels.ui_factories import make_channel

MAPPINGS = reverse("channels:mappings")
CREATE = reverse("channels:mapping_create")
UNMAPPED = reverse("channels:unmapped")


@pytest.fixture
def shop(client_a):
    return make_channel(client_a, "shop-a", name="Acme Shop")


@pytest.fixture
def amazon(client_a):
    return make_channel(client_a, "amz-a", name="Acme Amazon")


@pytest.fixture
def parts(client_a):
    return {sku: Part.objects.create(client=client_a, sku=sku) for sku in ("P-1", "P-2", "P-3")}


def mapping(channel, part, channel_sku, **fields):
    return SkuMapping.objects.create(
        client=channel.client, channel=channel, part=part, channel_sku=channel_sku, **fields
    )


def upload(kind, text, *, user, client):
    file = SimpleUploadedFile("upload.csv", text.encode(), content_type="text/csv")
    return preview_import(kind=kind, client=client, user=user, uploaded_file=file)


# --- pages -----------------------------------------------------------------------------------


def test_mapping_list_filters_and_is_scoped(login, manager, shop, amazon, parts, client_b):
    mapping(shop, parts["P-1"], "S-1")
    mapping(amazon, parts["P-2"], "A-2", is_active=False)
    other = make_channel(client_b, "shop-b")
    mapping(other, Part.objects.create(client=client_b, sku="P-1"), "B-1")
    http = login(manager)

    everything = http.get(MAPPINGS)
    by_channel = http.get(MAPPINGS, {"channel": amazon.pk})
    inactive = http.get(MAPPINGS, {"active": "false"})
    search = http.get(MAPPINGS, {"q": "p-1"})

    assert [m.channel_sku for m in everything.context["mappings"]] == ["A-2", "S-1"]
    assert [m.channel_sku for m in by_channel.context["mappings"]] == ["A-2"]
    assert [m.channel_sku for m in inactive.context["mappings"]] == ["A-2"]
    assert [m.channel_sku for m in search.context["mappings"]] == ["S-1"]
    assert f"?kind={MAPPINGS_KIND}" in everything.content.decode()


def test_mapping_create_edit_and_deactivate(login, manager, shop, parts):
    http = login(manager)

    created = http.post(
        CREATE,
        {"channel": shop.pk, "sku": "P-1", "channel_sku": "S-1", "channel_product_id": "gid://1",
         "back_order_quantity": 0, "is_active": "on"},
    )  # fmt: skip
    saved = SkuMapping.objects.get()
    edited = http.post(
        reverse("channels:mapping_edit", args=[saved.pk]),
        {"sku": "P-2", "channel_sku": "S-2", "channel_product_id": "", "buffer_override": 4, "back_order_quantity": 1,
         "is_active": "on"},
    )  # fmt: skip
    saved.refresh_from_db()
    deactivated = http.post(reverse("channels:mapping_deactivate", args=[saved.pk]))

    assert created.status_code == 302
    assert edited.status_code == 302
    assert (saved.part_id, saved.channel_sku, saved.buffer_override, saved.back_order_quantity) == (
        parts["P-2"].pk,
        "S-2",
        4,
        1,
    )
    assert deactivated.status_code == 302
    saved.refresh_from_db()
    assert saved.is_active is False


def test_mapping_create_refuses_a_taken_channel_sku_and_unknown_sku(login, manager, shop, parts):
    mapping(shop, parts["P-1"], "S-1")
    http = login(manager)

    taken = http.post(CREATE, {"channel": shop.pk, "sku": "P-2", "channel_sku": "S-1", "back_order_quantity": 0})
    unknown = http.post(CREATE, {"channel": shop.pk, "sku": "NOPE", "channel_sku": "S-9", "back_order_quantity": 0})

    assert taken.status_code == 200
    assert "already maps part P-1" in taken.content.decode()
    assert "No part with SKU NOPE" in unknown.content.decode()
    assert SkuMapping.objects.count() == 1


def test_mapping_pages_refused_to_coordinator_and_other_clients_mapping_is_404(
    login, coordinator, manager, shop, parts, client_b
):
    other = mapping(make_channel(client_b, "shop-b"), Part.objects.create(client=client_b, sku="X"), "X")

    assert login(coordinator).get(CREATE).status_code == 403
    assert login(coordinator).post(reverse("channels:mapping_deactivate", args=[other.pk])).status_code == 403
    assert login(manager).get(reverse("channels:mapping_edit", args=[other.pk])).status_code == 404
    assert login(manager).post(reverse("channels:mapping_deactivate", args=[other.pk])).status_code == 404
    other.refresh_from_db()
    assert other.is_active is True


def test_mapping_create_cannot_use_another_clients_channel(login, manager, parts, client_b):
    foreign = make_channel(client_b, "shop-b")

    response = login(manager).post(
        CREATE, {"channel": foreign.pk, "sku": "P-1", "channel_sku": "S-1", "back_order_quantity": 0}
    )

    assert response.status_code == 200
    assert "channel" in response.context["form"].errors
    assert not SkuMapping.objects.exists()


# --- CSV import ------------------------------------------------------------------------------


def test_mapping_import_creates_and_updates_all_or_nothing(manager, client_a, shop, amazon, parts):
    existing = mapping(shop, parts["P-1"], "OLD-1", buffer_override=5)
    csv = (
        "channel,sku,channel_sku,channel_product_id,active,buffer,back_order_quantity\n"
        "shop-a,P-1,S-1,gid://1,,,2\n"
        "shop-a,P-2,S-2,gid://2,no,3,\n"
        "amz-a,P-1,A-1,B00X,,,\n"
    )

    batch = upload(MAPPINGS_KIND, csv, user=manager, client=client_a)
    assert batch.errors == []
    assert batch.summary == {"rows": 3, "new mappings": 2, "existing mappings": 1}
    batch = apply_import(batch.pk, manager)

    assert batch.status == ImportBatch.Status.APPLIED
    assert batch.summary == {"created": 2, "updated": 1}
    rows = set(
        SkuMapping.objects.values_list(
            "channel__code", "part__sku", "channel_sku", "channel_product_id", "is_active", "buffer_override",
            "back_order_quantity",
        )
    )  # fmt: skip
    assert rows == {
        ("shop-a", "P-1", "S-1", "gid://1", True, 5, 2),
        ("shop-a", "P-2", "S-2", "gid://2", False, 3, 0),
        ("amz-a", "P-1", "A-1", "B00X", True, None, 0),
    }
    existing.refresh_from_db()
    assert existing.channel_sku == "S-1"


def test_mapping_import_with_row_errors_writes_nothing_and_names_each_row(manager, client_a, client_b, shop, parts):
    make_channel(client_b, "shop-b")
    mapping(shop, parts["P-3"], "TAKEN")
    csv = (
        "channel,sku,channel_sku,channel_product_id,buffer\n"
        "shop-a,P-1,S-1,1,\n"  # fine
        "nope,P-2,S-2,2,\n"  # unknown channel
        "shop-b,P-2,S-3,3,\n"  # another client's channel
        "shop-a,GHOST,S-4,4,\n"  # unknown part
        "shop-a,P-1,S-5,5,-1\n"  # duplicate part on the channel, negative buffer
        "shop-a,P-3,S-1,6,\n"  # duplicate channel SKU
        "shop-a,P-2,TAKEN,7,\n"  # channel SKU of P-3's mapping
    )
    before = set(SkuMapping.objects.values_list("pk", "channel_sku"))

    batch = upload(MAPPINGS_KIND, csv, user=manager, client=client_a)
    applied = apply_import(batch.pk, manager)

    problems = {(error["row"], error["column"]) for error in batch.errors}
    assert problems == {
        (3, "channel"),
        (4, "channel"),
        (5, "sku"),
        (6, "sku"),
        (6, "buffer"),
        (7, "channel_sku"),
        (8, "channel_sku"),
    }
    assert applied.status != ImportBatch.Status.APPLIED
    assert set(SkuMapping.objects.values_list("pk", "channel_sku")) == before


def test_open_order_import_sets_quantities(manager, client_a, shop):
    OpenOrder.objects.create(channel=shop, channel_sku="S-1", quantity=9)

    batch = upload(OPEN_ORDERS_KIND, "channel,channel_sku,quantity\nshop-a,S-1,2\nshop-a,S-2,0\n", user=manager,
                   client=client_a)  # fmt: skip
    apply_import(batch.pk, manager)

    assert set(OpenOrder.objects.values_list("channel_sku", "quantity")) == {("S-1", 2), ("S-2", 0)}


def test_open_order_import_rejects_bad_rows(manager, client_a, shop):
    batch = upload(OPEN_ORDERS_KIND, "channel,channel_sku,quantity\nshop-a,S-1,-2\nshop-x,S-2,1\nshop-a,S-1,3\n",
                   user=manager, client=client_a)  # fmt: skip

    assert {(error["row"], error["column"]) for error in batch.errors} == {
        (2, "quantity"),
        (3, "channel"),
        (4, "channel_sku"),
    }
    assert not OpenOrder.objects.exists()


# --- unmapped queue ---------------------------------------------------------------------------


def test_unmapped_queue_lists_active_parts_without_mapping_per_channel(login, manager, shop, amazon, parts, client_b):
    mapping(shop, parts["P-1"], "S-1")
    mapping(amazon, parts["P-2"], "A-2", is_active=False)  # inactive still counts as mapped
    Part.objects.filter(pk=parts["P-3"].pk).update(is_active=False)
    Part.objects.create(client=client_b, sku="B-ONLY")
    make_channel(client_b, "shop-b")
    http = login(manager)

    response = http.get(UNMAPPED)
    one_channel = http.get(UNMAPPED, {"channel": amazon.pk})

    rows = [(row["channel_code"], row["sku"]) for row in response.context["rows"]]
    assert rows == [("amz-a", "P-1"), ("shop-a", "P-2")]
    assert [(row["channel_code"], row["sku"]) for row in one_channel.context["rows"]] == [("amz-a", "P-1")]
    assert f"{CREATE}?channel={amazon.pk}&amp;sku=P-1" in response.content.decode()


def test_unmapped_map_link_prefills_the_form(login, manager, shop, parts):
    response = login(manager).get(CREATE, {"channel": shop.pk, "sku": "P-2"})

    form = response.context["form"]
    assert (form.initial["channel"], form.initial["sku"], form.initial["channel_sku"]) == (shop.pk, "P-2", "P-2")


def test_unmapped_queue_is_one_query_for_the_rows(
    login, manager, shop, amazon, client_a, django_assert_max_num_queries
):
    Part.objects.bulk_create([Part(client=client_a, sku=f"Q-{i:03d}") for i in range(120)])
    http = login(manager)
    http.get(UNMAPPED)

    with django_assert_max_num_queries(10):
        response = http.get(UNMAPPED, {"page": 2})

    assert response.context["page_obj"].paginator.count == 240
    assert len(response.context["rows"]) == 50
