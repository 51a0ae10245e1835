"""Concurrent receipts of one line from 8 real connections never over-receive."""

from __future__ import annotations

import threading

import pytest
from django.core.management import call_command
from django.db import connection

from purchasing.errors import OverReceipt
from purchasing.models import PurchaseOrder
from purchasing.services import Receipt, order_purchase_order, receive_purchase_order

from .conftest import draft, fig, figures

pytestmark = pytest.mark.postgresql  # real connections racing for row locks

THREADS = 8


@pytest.mark.django_db(transaction=True)
def test_receive_purchase_order_concurrent_receipts_never_over_receive(client_a, manager, supplier, main, shelf, part):
    po = draft(client_a, manager, supplier, main, [(part, 20)])
    order_purchase_order(po=po, user=manager)
    line_id = po.lines.get().id
    barrier = threading.Barrier(THREADS)
    results: list[str] = []
    lock = threading.Lock()

    def receive():
        try:
            barrier.wait()
            try:
                receive_purchase_order(
                    po=PurchaseOrder.objects.get(pk=po.pk), receipts=[Receipt(line_id, 3, shelf)], user=manager
                )
                outcome = "ok"
            except OverReceipt:
                outcome = "over"
            with lock:
                results.append(outcome)
        finally:
            connection.close()

    threads = [threading.Thread(target=receive) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == ["ok"] * 6 + ["over"] * 2
    line = po.lines.get()
    assert line.received_quantity == 18
    po.refresh_from_db()
    assert po.state == "partially_received"
    assert figures(part, main) == fig(available=18, ordered=2)
    call_command("check_ledger")
