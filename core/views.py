from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from core import services, timezones
from core.context_processors import navigation
from core.forms import PreferencesForm
from core.models import Preferences, SyncRun, WorkerHeartbeat
from core.system import ping_workers, queue_lengths

HEARTBEAT_FRESH_SECONDS = 120


@login_required
def home(request):
    """Land on the first page the user's roles allow; a plain welcome page when none exists yet."""
    nav_items = navigation(request)["nav_items"]
    if nav_items:
        return redirect(nav_items[0][2])
    return render(request, "core/home.html")


@login_required
@permission_required("core.view_system", raise_exception=True)
def system(request):
    workers, ping_note = ping_workers(timeout=1.0)
    heartbeats = list(WorkerHeartbeat.objects.order_by("queue"))
    now = timezone.now()
    for beat in heartbeats:
        beat.is_fresh = (now - beat.seen_at).total_seconds() < HEARTBEAT_FRESH_SECONDS
    context = {
        "workers": workers,
        "ping_note": ping_note,
        "heartbeats": heartbeats,
        "queues": queue_lengths(),
        "runs": SyncRun.objects.latest_first()[:25],
    }
    template = "core/_sync_runs.html" if request.htmx else "core/system.html"
    return render(request, template, context)


@never_cache
def healthz(request):
    """Liveness for load balancers and compose healthchecks: the process answers and the database too."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:
        return JsonResponse({"ok": False, "database": type(exc).__name__}, status=503)
    return JsonResponse({"ok": True})


@login_required
def account(request):
    """The user's own settings: the time zone their dates are shown in."""
    current = Preferences.objects.filter(user=request.user).values_list("time_zone", flat=True).first() or ""
    form = PreferencesForm(request.POST or None, initial={"time_zone": current})
    if request.method == "POST" and form.is_valid():
        name = form.cleaned_data["time_zone"]
        services.set_time_zone(request.user, name)
        timezones.remember(request, name)
        messages.success(request, f"Saved: dates are now shown in {name or settings.TIME_ZONE}.")
        return redirect("account")
    return render(request, "core/account.html", {"form": form, "now": timezone.now()})
