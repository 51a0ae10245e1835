from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from core import services, timezones
from core.forms import ApiTokenForm, PreferencesForm
from core.models import ApiToken, Preferences
from core.selectors import token_users_for, tokens_for_admin
from core.system import beat_health, ping_workers, queue_lengths, recent_runs, worker_heartbeats


@login_required
@permission_required("core.view_system", raise_exception=True)
def system(request):
    workers, ping_note = ping_workers(timeout=1.0)
    heartbeats = worker_heartbeats()
    context = {
        "workers": workers,
        "ping_note": ping_note,
        "heartbeats": heartbeats,
        "beat": beat_health(heartbeats),
        "queues": queue_lengths(),
        "runs": recent_runs(),
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


def _render_tokens(request, *, form, tokens, is_admin_page, issued=None, status=200):
    now = timezone.now()
    tokens = list(tokens)
    for token in tokens:
        token.current_status = token.status(now)
    response = render(
        request,
        "core/tokens.html",
        {"form": form, "tokens": tokens, "is_admin_page": is_admin_page, "issued": issued},
        status=status,
    )
    if issued is not None:
        response["Cache-Control"] = "no-store"
    return response


def _issue_from(request, form, *, user, is_admin_page, tokens):
    """Issue the token the valid form describes and show its key once (never stored, never redirected with)."""
    try:
        issued = services.issue_api_token(
            user=user, name=form.cleaned_data["name"], expires_at=form.expires_at, issued_by=request.user
        )
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
        return _render_tokens(request, form=form, tokens=tokens, is_admin_page=is_admin_page, status=400)
    blank = ApiTokenForm(users=form.fields["user"].queryset if is_admin_page else None)
    return _render_tokens(request, form=blank, tokens=tokens, is_admin_page=is_admin_page, issued=issued)


@login_required
def account_tokens(request):
    """The user's own API tokens: issue one (the key is shown once), see when each was last used, revoke."""
    tokens = request.user.api_tokens.select_related("user", "created_by")
    form = ApiTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        return _issue_from(request, form, user=request.user, is_admin_page=False, tokens=tokens)
    status = 400 if request.method == "POST" else 200
    return _render_tokens(request, form=form, tokens=tokens, is_admin_page=False, status=status)


@login_required
@permission_required("core.manage_apitoken", raise_exception=True)
def api_tokens(request):
    """Every token of the users this admin manages (see selectors.token_users_for)."""
    users = token_users_for(request.user)
    tokens = tokens_for_admin(request.user)
    form = ApiTokenForm(request.POST or None, users=users)
    if request.method == "POST" and form.is_valid():
        return _issue_from(request, form, user=form.cleaned_data["user"], is_admin_page=True, tokens=tokens)
    status = 400 if request.method == "POST" else 200
    return _render_tokens(request, form=form, tokens=tokens, is_admin_page=True, status=status)


@login_required
@require_POST
def revoke_token(request, pk):
    """Revoke one's own token, or (with manage_apitoken) one of a managed user's; anything else is 404."""
    token = get_object_or_404(ApiToken.objects.select_related("user"), pk=pk)
    is_managed = (
        request.user.has_perm("core.manage_apitoken")
        and token_users_for(request.user).filter(pk=token.user_id).exists()
    )
    if token.user_id != request.user.pk and not is_managed:
        raise Http404("No such token.")
    if services.revoke_api_token(token=token):
        messages.success(request, f"Revoked the token “{token.name}” of {token.user.get_username()}.")
    else:
        messages.info(request, f"The token “{token.name}” was already revoked.")
    back = "api-tokens" if request.POST.get("from") == "admin" else "account-tokens"
    return redirect(back)
