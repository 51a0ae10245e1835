"""The job page and board card show Allocadence's message on a failed push, with Retry for those allowed."""

from django.urls import reverse

from jobs.models import OrderPush

from .conftest import release


def _failed_push(client_a, coordinator, stocked, alc1):
    job, push = release(client_a, coordinator, [(stocked, alc1, 2)])
    OrderPush.objects.filter(pk=push.pk).update(
        status=OrderPush.Status.FAILED, last_error="Invalid value for parameter. (shipFromWarehouseId)"
    )
    return job, push


def test_job_detail_failed_push_shows_message_and_retry_for_admin(
    login, client_a, coordinator, admin_user, stocked, alc1
):
    job, push = _failed_push(client_a, coordinator, stocked, alc1)

    response = login(admin_user).get(reverse("jobs:detail", args=[job.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Invalid value for parameter. (shipFromWarehouseId)" in html
    assert reverse("allocadence:retry", args=[push.pk]) in html


def test_job_detail_failed_push_hides_retry_without_permission(login, client_a, coordinator, stocked, alc1):
    job, push = _failed_push(client_a, coordinator, stocked, alc1)

    response = login(coordinator).get(reverse("jobs:detail", args=[job.pk]))

    html = response.content.decode()
    assert "Invalid value for parameter. (shipFromWarehouseId)" in html
    assert reverse("allocadence:retry", args=[push.pk]) not in html
