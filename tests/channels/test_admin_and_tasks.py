"""Admin never shows credentials in full; periodic tasks never overlap."""

import threading

import pytest
from django.db import connection

from channels.locks import try_run_lock
from channels.models import Channel, mask_secret
from channels.tasks import poll_feeds_task, sweep_stuck_records_task, sync_channels_task


def test_mask_secret_keeps_only_the_last_four_characters_of_long_secrets():
    assert mask_secret("shpat_0123456789abcdef") == "••••cdef"
    assert mask_secret("short") == "••••"
    assert mask_secret("") == ""


def test_channel_admin_shows_credentials_masked(login, superuser, make_channel):
    channel = make_channel(credentials={"access_token": "shpat_secret_value_9876"})
    page = login(superuser).get(f"/admin/channels/channel/{channel.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "••••9876" in html
    assert "shpat_secret_value_9876" not in html


def test_channel_admin_keeps_credentials_when_replacement_left_empty(login, superuser, make_channel, make_warehouse):
    channel = make_channel(credentials={"access_token": "shpat_secret_value_9876"})
    data = {
        "client": channel.client_id, "name": "Renamed", "code": channel.code, "kind": channel.kind,
        "endpoint": channel.endpoint, "token_url": "", "location_id": "456", "seller_id": "",
        "marketplace_ids": "[]", "buffer_stock": 0, "is_active": "on", "new_credentials": "",
        "warehouses": [make_warehouse().pk],
    }  # fmt: skip
    response = login(superuser).post(f"/admin/channels/channel/{channel.pk}/change/", data)
    assert response.status_code == 302
    channel.refresh_from_db()
    assert (channel.name, channel.credentials) == ("Renamed", {"access_token": "shpat_secret_value_9876"})


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgresql
def test_periodic_tasks_skip_while_another_run_holds_the_lock(client_a):
    held, release = threading.Event(), threading.Event()

    def other_run(name):
        try:
            with try_run_lock(name) as acquired:
                assert acquired
                held.set()
                release.wait(10)
        finally:
            connection.close()

    for name, task in (("sync", sync_channels_task), ("poll", poll_feeds_task), ("sweep", sweep_stuck_records_task)):
        held.clear()
        release.clear()
        thread = threading.Thread(target=other_run, args=(name,))
        thread.start()
        assert held.wait(10)
        try:
            assert task.apply().get() == {"skipped": True}
        finally:
            release.set()
            thread.join()
    assert sync_channels_task.apply().get() == {"planned": 0, "channels": 0}
    assert not Channel.objects.exists()
