from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import redirect, render
from django.utils import timezone

from core.models import SyncRun, WorkerHeartbeat
from core.system import ping_workers, queue_lengths


@login_required
def home(request):
    return redirect("inventory:list")


@login_required
@permission_required("core.view_system", raise_exception=True)
def system(request):
    workers, ping_note = ping_workers(timeout=1.0)
    heartbeats = list(WorkerHeartbeat.objects.order_by("queue"))
    now = timezone.now()
    for beat in heartbeats:
        beat.is_fresh = (now - beat.seen_at).total_seconds() < 120
    context = {
        "workers": workers,
        "ping_note": ping_note,
        "heartbeats": heartbeats,
        "queues": queue_lengths(),
        "runs": SyncRun.objects.latest_first()[:25],
    }
    template = "core/_sync_runs.html" if request.htmx else "core/system.html"
    return render(request, template, context)


def healthz(request):
    from django.http import JsonResponse

    return JsonResponse({"ok": True})
