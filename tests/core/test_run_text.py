"""Runs' counts under labels and the marketplace's message out of an error body, on the pages that show them."""

import pytest
from django.urls import reverse

from core.models import SyncRun
from core.run_text import ErrorText, labelled_counts, split_error
from tests.channels.ui_factories import Status, make_channel, make_record


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'createFeed: HTTP 400: {"errors": [{"code": "InvalidInput", "message": "Invalid marketplaceIds", '
            '"details": ""}]}',
            "createFeed: HTTP 400: Invalid marketplaceIds",
        ),
        (
            'LWA token: access denied (HTTP 401): {"error_description": "Client authentication failed", '
            '"error": "invalid_client"}',
            "LWA token: access denied (HTTP 401): Client authentication failed; invalid_client",
        ),
        # cut short by the adapter (200 characters): not JSON any more, the quoted message still reads
        (
            'Shopify answered HTTP 422: {"errors": [{"message": "Quantity \\"-1\\" is invalid", "locations": [{"li',
            'Shopify answered HTTP 422: Quantity "-1" is invalid',
        ),
        (
            "Shopify answered HTTP 502: <html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
            "Shopify answered HTTP 502: 502 Bad Gateway",
        ),
        ('Shopify answered HTTP 500: {"data": null}', "Shopify answered HTTP 500"),
    ],
)
def test_split_error_reads_the_services_message_and_keeps_the_body(text, expected):
    assert split_error(text) == ErrorText(expected, text)


def test_split_error_survives_an_escape_cut_in_half():
    text = 'Shopify answered HTTP 422: {"errors": [{"message": "bad \\u12"'

    assert split_error(text) == ErrorText("Shopify answered HTTP 422: bad \\u12", text)


def test_split_error_leaves_plain_messages_alone():
    text = "NOT_FOUND: The specified inventory item could not be found."

    assert split_error(text) == ErrorText(text, "")
    assert split_error("") == ErrorText("", "")


def test_labelled_counts_of_a_pull_read_as_words_in_the_labels_order():
    counts = {"something_new": 2, "reservations_dropped": 0, "rows_changed": 3, "items_fetched": 1200}

    assert labelled_counts("allocadence_pull", counts) == [
        ("Items read", "1,200"),
        ("Stock rows changed (In-Stock, On-Order)", "3"),
        ("Reserved units released (orders confirmed)", "0"),
        ("Something new", "2"),
    ]


def test_labelled_counts_hide_bookkeeping_and_read_booleans():
    assert labelled_counts("export", {"user_id": 4, "params": "view=normal", "rows": 10, "expired": True}) == [
        ("Rows", "10"),
        ("File expired", "yes"),
    ]
    assert labelled_counts("channel_sync", {"planned": 5, "full": False}) == [
        ("Records planned", "5"),
        ("Full reconciliation", "no"),
    ]
    assert labelled_counts("channel_sync", None) == []


def test_system_and_allocadence_pages_show_labels_not_keys(admin_user, login):
    SyncRun.objects.create(
        kind=SyncRun.Kind.ALLOCADENCE_PULL,
        status=SyncRun.Status.FAILED,
        counts={"rows_changed": 3, "parts_created": 1},
        error='Allocadence answered HTTP 400: {"message": "Invalid API key"}',
    )
    http = login(admin_user)

    for url in (reverse("system"), reverse("allocadence:runs")):
        html = http.get(url).content.decode()
        assert '<span class="run-count">Stock rows changed (In-Stock, On-Order): 3</span>' in html
        assert '<span class="run-count">New parts: 1</span>' in html
        assert "rows_changed" not in html
        assert '<div class="error-text">Allocadence answered HTTP 400: Invalid API key</div>' in html
        assert (
            '<details class="raw-error"><summary>Details</summary>'
            "<pre>Allocadence answered HTTP 400: {&quot;message&quot;: &quot;Invalid API key&quot;}</pre></details>"
        ) in html


def test_sync_log_shows_the_marketplace_message_with_the_raw_body_behind_details(admin_user, login, client_a):
    channel = make_channel(client_a, "errs")
    body = 'createFeed: HTTP 400: {"errors": [{"code": "InvalidInput", "message": "Invalid seller"}]}'
    record = make_record(channel, status=Status.ERROR, error=body)
    plain = make_record(channel, status=Status.ERROR, error="NOT_FOUND: no such item")

    html = login(admin_user).get(reverse("channels:sync"), {"view": "archival"}).content.decode()

    row = html[html.index(f'id="record-{record.pk}"') :]
    row = row[: row.index("</tr>")]
    assert '<div class="error-text">createFeed: HTTP 400: Invalid seller</div>' in row
    assert '<details class="raw-error"><summary>Details</summary><pre>createFeed: HTTP 400: {&quot;errors&quot;' in row
    plain_row = html[html.index(f'id="record-{plain.pk}"') :]
    plain_row = plain_row[: plain_row.index("</tr>")]
    assert '<div class="error-text">NOT_FOUND: no such item</div>' in plain_row
    assert "<details" not in plain_row
