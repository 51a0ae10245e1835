"""The Allocadence sync page (runs, warehouses to review, failed pushes), Pull now and Retry."""

from functools import partial

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from allocadence.freshness import stock_freshness
from allocadence.orders import retry_push
from core.enqueue import enqueue_on_commit
from core.models import SyncRun
from core.runs import finish_run
from core.scoping import get_scoped_or_404, scope_to_user
from inventory.models import Warehouse
from jobs.models import OrderPush

RUN_KINDS = [SyncRun.Kind.ALLOCADENCE_PULL, SyncRun.Kind.ALLOCADENCE_PUSH, SyncRun.Kind.ALLOCADENCE_POLL]


def _can_view(user) -> bool:
    return user.has_perm("core.view_system") or user.has_perm("jobs.view_orderpush")


def _runs():
    return SyncRun.objects.filter(kind__in=RUN_KINDS).latest_first()[:30]


@login_required
def runs(request):
    if not _can_view(request.user):
        raise PermissionDenied
    context = {"runs": _runs(), "has_running": SyncRun.objects.filter(kind__in=RUN_KINDS).running().exists()}
    if request.htmx and request.GET.get("part") == "runs":
        return render(request, "allocadence/_runs.html", context)
    failed = (
        scope_to_user(OrderPush.objects.failed(), request.user, client_field="job__client")
        .select_related("job", "warehouse")
        .order_by("-updated_at")
    )
    context.update(
        failed_pushes=failed[:100],
        review_warehouses=Warehouse.objects.allocadence().filter(needs_review=True).order_by("code"),
        can_pull=request.user.has_perm("core.view_system"),
    )
    return render(request, "allocadence/runs.html", context)


def _pull_not_queued(run: SyncRun, error: Exception) -> None:
    finish_run(
        run,
        SyncRun.Status.FAILED,
        error=f"Not queued: the task queue is unreachable ({error}). Pull again "
        "once /system/ shows the workers; the scheduled pull also runs by itself.",
    )


@login_required
@require_POST
def pull_now(request):
    if not request.user.has_perm("core.view_system"):
        raise PermissionDenied
    run = SyncRun.objects.create(kind=SyncRun.Kind.ALLOCADENCE_PULL, detail="queued from the sync page")
    enqueue_on_commit("allocadence.tasks.pull_stock_task", run.pk, if_unsent=partial(_pull_not_queued, run))
    messages.success(request, f"Allocadence pull #{run.pk} queued.")
    return redirect("allocadence:runs")


@login_required
@require_POST
def retry(request, push_id: int):
    if not request.user.has_perm("jobs.retry_push"):
        raise PermissionDenied
    push = get_scoped_or_404(
        OrderPush.objects.select_related("job"), request.user, client_field="job__client", pk=push_id
    )
    if retry_push(push=push):
        enqueue_on_commit("allocadence.tasks.push_job_order_task", push.pk)
        messages.success(request, f"Order {push.order_number} queued for Allocadence again.")
    else:
        messages.info(request, f"Order {push.order_number} is not failed any more ({push.get_status_display()}).")
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("allocadence:runs")


@login_required
@permission_required("inventory.view_part", raise_exception=True)
@require_GET
def as_of(request):
    """The "Allocadence stock as of" line of the inventory page and the job form (nothing without an
    Allocadence warehouse)."""
    show = Warehouse.objects.allocadence().filter(is_active=True).exists()
    freshness = stock_freshness() if show else None
    today = timezone.localdate()
    as_of_today = bool(freshness and freshness.as_of and timezone.localtime(freshness.as_of).date() == today)
    return render(
        request, "allocadence/_as_of.html", {"show": show, "freshness": freshness, "as_of_today": as_of_today}
    )
