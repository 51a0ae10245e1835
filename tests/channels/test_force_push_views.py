"""Force Push from the sync log: admins only, only Error records, idempotent, scoped, htmx or plain POST."""

import pytest
from django.urls import reverse

from channels.models import SyncRecord
from tests.channels.ui_factories import Status, build_world

BULK = reverse("channels:force_push")


def one(record) -> str:
    return reverse("channels:force_push_one", args=[record.pk])


@pytest.fixture
def world(client_a, client_b):
    return build_world(client_a, client_b)


def snapshot() -> dict[int, tuple]:
    return {
        pk: rest
        for pk, *rest in SyncRecord.objects.order_by("pk").values_list(
            "pk", "status", "error", "attempts", "force_pushed_at", "force_pushed_by", "updated_at"
        )
    }


@pytest.mark.parametrize("role", ["coordinator", "manager"])
def test_force_push_refused_to_coordinator_and_manager_and_changes_nothing(request, login, world, role):
    user = request.getfixturevalue(role)
    http = login(user)
    before = snapshot()

    single = http.post(one(world.records["a_error"]))
    selected = http.post(BULK, {"ids": [world.records["a_error"].pk]})
    everything = http.post(BULK, {"all_matching": "1", "querystring": "view=archival"})

    assert (single.status_code, selected.status_code, everything.status_code) == (403, 403, 403)
    assert snapshot() == before


def test_force_push_another_clients_record_is_404(login, admin_user, world):
    before = snapshot()

    single = login(admin_user).post(one(world.records["b_error"]))
    selected = login(admin_user).post(BULK, {"ids": [world.records["a_error"].pk, world.records["b_error"].pk]})

    assert single.status_code == 404
    assert selected.status_code == 404
    assert snapshot() == before


def test_force_push_get_is_not_allowed(login, admin_user, world):
    response = login(admin_user).get(one(world.records["a_error"]))

    assert response.status_code == 405
    assert SyncRecord.objects.get(pk=world.records["a_error"].pk).status == Status.ERROR


def queued_one(record) -> str:
    return f"Force Push: 1 record (SKU {record.sku} on {record.channel_name}) queued"


def queued_two(world) -> str:
    first, second = sorted([world.records["a_error"].channel_name, world.records["a2_error"].channel_name])
    return f"Force Push: 2 records (1 on {first}, 1 on {second}) queued"


def test_force_push_one_moves_the_error_back_to_in_process_and_records_who_and_when(
    login, admin_user, world, django_capture_on_commit_callbacks
):
    record = world.records["a_error"]
    rejected_with = record.error

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = login(admin_user).post(one(record), {"querystring": "view=archival&status=error"})

    assert response.status_code == 302
    assert response["Location"] == "/channels/sync/?view=archival&status=error"
    record.refresh_from_db()
    assert record.status == Status.IN_PROCESS
    assert record.error == ""
    assert rejected_with != ""
    assert record.previous_error == rejected_with  # what the marketplace said is not lost
    assert record.attempts == 1
    assert record.force_pushed_by == admin_user
    assert record.force_pushed_at is not None
    assert len(callbacks) == 1  # its channel's push task is queued after commit
    followed = login(admin_user).get(response["Location"])
    assert [str(message) for message in followed.context["messages"]] == [queued_one(record)]


def test_force_push_one_on_a_success_record_moves_nothing(login, admin_user, world):
    before = snapshot()

    response = login(admin_user).post(one(world.records["a_success"]), follow=True)

    assert [str(message) for message in response.context["messages"]] == [
        "Force Push: nothing queued (none of those records is in Error any more)."
    ]
    assert snapshot() == before


def test_force_push_selected_moves_only_error_records(login, admin_user, world):
    chosen = [world.records[name].pk for name in ("a_error", "a2_error", "a_success", "a_in_process")]
    before = snapshot()

    response = login(admin_user).post(BULK, {"ids": chosen}, follow=True)

    after = snapshot()
    assert [str(message) for message in response.context["messages"]] == [queued_two(world)]
    changed = {pk for pk in after if after[pk] != before[pk]}
    assert changed == world.ids("a_error", "a2_error")
    assert {after[pk][0] for pk in changed} == {Status.IN_PROCESS}


def test_force_push_all_matching_uses_the_carried_filters(login, admin_user, world):
    response = login(admin_user).post(
        BULK, {"all_matching": "1", "querystring": "view=archival&channel=amz-a"}, follow=True
    )

    assert [str(message) for message in response.context["messages"]] == [queued_one(world.records["a2_error"])]
    statuses = dict(SyncRecord.objects.values_list("pk", "status"))
    assert statuses[world.records["a2_error"].pk] == Status.IN_PROCESS
    assert statuses[world.records["a_error"].pk] == Status.ERROR  # other channel: not matching
    assert statuses[world.records["b_error"].pk] == Status.ERROR  # other client: never


def test_force_push_all_matching_with_a_non_error_status_filter_moves_nothing(login, admin_user, world):
    before = snapshot()

    response = login(admin_user).post(
        BULK, {"all_matching": "1", "querystring": "view=archival&status=success"}, follow=True
    )

    assert [str(message) for message in response.context["messages"]] == [
        "Force Push: nothing queued (none of those records is in Error any more)."
    ]
    assert snapshot() == before


def test_force_push_double_submit_is_idempotent(login, admin_user, world):
    http = login(admin_user)
    record = world.records["a_error"]

    first = http.post(BULK, {"all_matching": "1", "querystring": "view=archival"}, follow=True)
    after_first = snapshot()
    second = http.post(BULK, {"all_matching": "1", "querystring": "view=archival"}, follow=True)
    third = http.post(one(record), follow=True)

    assert [str(m) for m in first.context["messages"]] == [queued_two(world)]
    assert [str(m) for m in second.context["messages"]] == [
        "Force Push: nothing queued (none of those records is in Error any more)."
    ]
    assert [str(m) for m in third.context["messages"]] == [
        "Force Push: nothing queued (none of those records is in Error any more)."
    ]
    assert snapshot() == after_first  # attempts, force_pushed_at, updated_at unchanged


def test_force_push_with_htmx_answers_the_refreshed_log_in_place(login, admin_user, world):
    response = login(admin_user).post(
        one(world.records["a_error"]), {"querystring": "view=archival"}, headers={"HX-Request": "true"}
    )

    assert response.status_code == 200
    assert [template.name for template in response.templates][0] == "channels/_sync_log.html"
    content = response.content.decode()
    assert content.lstrip().startswith('<section id="sync-log"')
    assert queued_one(world.records["a_error"]) in content
    assert {record.pk for record in response.context["records"]} == world.ids("a_success", "a2_error")


def test_force_push_selected_with_bad_ids_is_400(login, admin_user, world):
    response = login(admin_user).post(BULK, {"ids": ["x"]})

    assert response.status_code == 400


def test_force_push_message_names_up_to_three_skus_of_one_channel(login, admin_user, client_a):
    from tests.channels.ui_factories import make_channel, make_record

    channel = make_channel(client_a, "msg-shop", name="Message shop")
    records = [make_record(channel, sku=f"MSG-{index}", status=Status.ERROR) for index in range(4)]
    http = login(admin_user)

    three = http.post(BULK, {"ids": [r.pk for r in records[:3]]}, follow=True)
    records[3].refresh_from_db()
    fourth_and_more = make_record(channel, sku="MSG-9", status=Status.ERROR)
    two_more = http.post(BULK, {"ids": [records[3].pk, fourth_and_more.pk]}, follow=True)

    assert [str(m) for m in three.context["messages"]] == [
        "Force Push: 3 records (SKU MSG-0, MSG-1, MSG-2 on Message shop) queued"
    ]
    assert [str(m) for m in two_more.context["messages"]] == [
        "Force Push: 2 records (SKU MSG-3, MSG-9 on Message shop) queued"
    ]
    for record in records[:3]:
        make_record(channel, sku=f"{record.sku}-B", status=Status.ERROR)
    make_record(channel, sku="MSG-LAST", status=Status.ERROR)
    many = http.post(BULK, {"all_matching": "1", "querystring": "view=archival&channel=msg-shop"}, follow=True)
    assert [str(m) for m in many.context["messages"]] == ["Force Push: 4 records (4 on Message shop) queued"]
