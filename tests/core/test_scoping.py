import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404

from core.models import SyncRun
from core.scoping import client_ids_for, clients_for, get_scoped_or_404, scope_to_user
from tests.conftest import make_user


@pytest.fixture
def runs(client_a, client_b):
    run_a = SyncRun.objects.create(kind=SyncRun.Kind.CHANNEL_SYNC, client=client_a)
    run_b = SyncRun.objects.create(kind=SyncRun.Kind.CHANNEL_SYNC, client=client_b)
    return run_a, run_b


def test_get_scoped_or_404_other_client_object_is_not_found(runs, coordinator):
    run_a, run_b = runs

    with pytest.raises(Http404):
        get_scoped_or_404(SyncRun.objects.all(), coordinator, pk=run_b.pk)

    assert get_scoped_or_404(SyncRun.objects.all(), coordinator, pk=run_a.pk) == run_a


def test_scope_to_user_lists_only_own_clients(runs, coordinator):
    run_a, _ = runs

    assert list(scope_to_user(SyncRun.objects.all(), coordinator)) == [run_a]


def test_scope_to_user_superuser_sees_every_client(runs, superuser):
    run_a, run_b = runs

    assert set(scope_to_user(SyncRun.objects.all(), superuser)) == {run_a, run_b}
    assert get_scoped_or_404(SyncRun.objects.all(), superuser, pk=run_b.pk) == run_b
    assert client_ids_for(superuser) is None


def test_scope_to_user_member_of_both_sees_both(runs, client_a, client_b):
    user = make_user("both", clients=[client_a, client_b])

    assert scope_to_user(SyncRun.objects.all(), user).count() == 2
    assert sorted(client_ids_for(user)) == sorted([client_a.id, client_b.id])


def test_scope_to_user_without_membership_sees_nothing(runs):
    user = make_user("nobody")

    assert scope_to_user(SyncRun.objects.all(), user).count() == 0
    with pytest.raises(Http404):
        get_scoped_or_404(SyncRun.objects.all(), user, pk=runs[0].pk)


def test_scope_to_user_anonymous_sees_nothing(runs):
    assert scope_to_user(SyncRun.objects.all(), AnonymousUser()).count() == 0


def test_clients_for_skips_inactive_clients(client_a, client_b, manager):
    client_b.memberships.create(user=manager)
    client_b.is_active = False
    client_b.save()

    assert list(clients_for(manager)) == [client_a]
