"""Channel pages: the sync log (Normal/Archival) with Force Push and Excel export, mappings, the unmapped queue.

Thin: filters and forms validate, `channels.services` / `channels.mapping_services` write, templates render.
Every queryset is scoped to the user's clients; another client's record is a 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Exists, F, OuterRef
from django.http import FileResponse, Http404, HttpResponseBadRequest, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from channels import exports
from channels.export_tasks import export_path, start_export
from channels.filters import FILTER_PARAMS, SkuMappingFilter, sync_log_filter
from channels.forms import SkuMappingForm
from channels.importers import MAPPINGS_KIND, OPEN_ORDERS_KIND, upload_url
from channels.mapping_services import MappingConflict, create_mapping, deactivate_mapping, update_mapping
from channels.models import Channel, SkuMapping, SyncRecord
from channels.services import force_push
from core.models import SyncRun
from core.scoping import get_scoped_or_404, scope_to_user, user_sees_many_clients
from inventory.models import Part

PAGE_SIZE = 50
STATUS_COUNT_CAP = 10_000  # the status tabs count up to this many records each, then say "10,000+"
FORCE_PUSH_PERMISSION = "channels.force_push_syncrecord"
MESSAGE_SKUS = 3  # a Force Push of at most this many records of one channel names their SKUs


def _filters_querystring(params) -> str:
    """The filter state of a URL (page and anything unknown dropped), to carry into links and forms."""
    kept = QueryDict(mutable=True)
    for key in FILTER_PARAMS:
        for value in params.getlist(key):
            if value != "":
                kept.appendlist(key, value)
    return kept.urlencode()


def _with(querystring: str, **changes) -> str:
    params = QueryDict(querystring, mutable=True)
    for key, value in changes.items():
        params.pop(key, None)
        if value:
            params[key] = value
    return params.urlencode()


class _CountedPaginator(Paginator):
    def __init__(self, object_list, per_page, *, count: int):
        super().__init__(object_list, per_page)
        self.count = count  # Paginator.count is a cached_property: set on the instance, never queried


def _sync_log_context(request, params, *, notice: str = "") -> dict:
    filterset = sync_log_filter(request.user, params, request=request)
    filterset.is_valid()
    records = filterset.qs.select_related("client")
    # Counted up to the cap and no further: above it a status shows "10,000+" (an exact count reads every record).
    cap = STATUS_COUNT_CAP
    counted = filterset.counts_queryset.counts_by_status(at_most=cap)
    capped = {value for value, n in counted.items() if n > cap}
    counts = {value: min(n, cap) for value, n in counted.items()}
    view = filterset.view_name
    status = filterset.status_value
    querystring = _filters_querystring(params)
    # The page's total is the sum of the counts per status already read (not a second COUNT over the log);
    # when one is capped it is a lower bound, and the pager stops there.
    shown = [value for value in SyncRecord.Status.values if _view_of(value) == view and status in ("", value)]
    page = _CountedPaginator(records, PAGE_SIZE, count=sum(counts[value] for value in shown)).get_page(
        params.get("page")
    )
    errors_shown = status in ("", SyncRecord.Status.ERROR)
    matching_errors = counts[SyncRecord.Status.ERROR] if errors_shown else 0
    base = _with(querystring, view=None, status=None, page=None)
    status_links = [
        {
            "value": value,
            "label": label,
            "count": counts[value],
            "is_capped": value in capped,
            "url": "?" + _with(base, view=_view_of(value), status=value),
            "current": value == status,
        }
        for value, label in SyncRecord.Status.choices
    ]
    return {
        "filter": filterset,
        "view": view,
        "status": status,
        "page_obj": page,
        "records": page.object_list,
        "counts": counts,
        "capped_statuses": capped,
        "total_is_capped": any(value in capped for value in shown),
        "status_links": status_links,
        "view_statuses": [(value, label) for value, label in SyncRecord.Status.choices if _view_of(value) == view],
        "channel_choices": list(
            Channel.objects.for_user(request.user).order_by("name", "code").values_list("code", "name").distinct()
        ),
        "show_client": user_sees_many_clients(request.user),
        "can_force_push": request.user.has_perm(FORCE_PUSH_PERMISSION),
        "can_export": request.user.has_perm("channels.export_syncrecord"),
        "querystring": querystring,
        "normal_url": "?" + _with(base, view="normal"),
        "archival_url": "?" + _with(base, view="archival"),
        "export_url": reverse("channels:export") + ("?" + querystring if querystring else ""),
        "matching_errors": matching_errors,
        "matching_errors_capped": errors_shown and SyncRecord.Status.ERROR in capped,
        "filters_valid": not filterset.errors,
        "notice": notice,
    }


def _view_of(status: str) -> str:
    return "archival" if status in SyncRecord.ARCHIVAL_STATUSES else "normal"


@login_required
@permission_required("channels.view_syncrecord", raise_exception=True)
@require_GET
def sync_log(request):
    context = _sync_log_context(request, request.GET)
    template = "channels/_sync_log.html" if request.htmx else "channels/sync_log.html"
    return render(request, template, context)


# --- Force Push --------------------------------------------------------------------------


def _require_force_push(user) -> None:
    if not user.has_perm(FORCE_PUSH_PERMISSION):
        raise PermissionDenied("Force Push is for admins.")


def force_push_message(user, moved: int, since) -> str:
    """ "Force Push: 1 record (SKU AC-BAN-037 on Acme Shopify store) queued", from the records this user's
    Force Push just moved (one small read: at most a page of them, grouped by channel)."""
    if not moved:
        return "Force Push: nothing queued (none of those records is in Error any more)."
    rows = list(
        SyncRecord.objects.for_user(user)
        .filter(force_pushed_by=user, force_pushed_at__gte=since)
        .values_list("channel_name", "sku")
        .order_by("channel_name", "sku")[: MESSAGE_SKUS + 1]
        if moved <= MESSAGE_SKUS
        else SyncRecord.objects.none()
    )
    noun = f"{moved:,} record{'' if moved == 1 else 's'}"
    channels = sorted({name for name, _ in rows})
    if rows and len(rows) == moved and len(channels) == 1:
        return f"Force Push: {noun} (SKU {', '.join(sku for _, sku in rows)} on {channels[0]}) queued"
    per_channel = (
        SyncRecord.objects.for_user(user)
        .filter(force_pushed_by=user, force_pushed_at__gte=since)
        .values("channel_name")
        .annotate(n=Count("id"))
        .order_by("-n", "channel_name")
    )
    said = ", ".join(f"{row['n']:,} on {row['channel_name']}" for row in per_channel)
    return f"Force Push: {noun} ({said}) queued"


def _after_force_push(request, moved: int, since):
    """htmx: the refreshed log region in place; otherwise a message and back to the same filters."""
    querystring = _filters_querystring(QueryDict(request.POST.get("querystring", "")))
    notice = force_push_message(request.user, moved, since)
    if request.htmx:
        params = QueryDict(querystring)
        return render(request, "channels/_sync_log.html", _sync_log_context(request, params, notice=notice))
    messages.success(request, notice)
    return redirect(reverse("channels:sync") + ("?" + querystring if querystring else ""))


@login_required
@require_POST
def force_push_records(request):
    """The selected records (`ids`), or with `all_matching` every Error record matching the carried filters."""
    _require_force_push(request.user)
    since = timezone.now()
    if request.POST.get("all_matching"):
        filterset = sync_log_filter(request.user, QueryDict(request.POST.get("querystring", "")), request=request)
        if not filterset.is_valid():
            return HttpResponseBadRequest("Invalid filters.")
        moved = force_push(records_qs_or_ids=filterset.matching_errors(), user=request.user)
        return _after_force_push(request, moved, since)
    try:
        ids = sorted({int(value) for value in request.POST.getlist("ids")})
    except ValueError:
        return HttpResponseBadRequest("Record ids must be numbers.")
    if not ids:
        if request.htmx:
            return _after_force_push(request, 0, since)
        messages.warning(request, "Select the records to Force Push.")
        return redirect(
            reverse("channels:sync") + "?" + _filters_querystring(QueryDict(request.POST.get("querystring", "")))
        )
    visible = SyncRecord.objects.for_user(request.user).filter(pk__in=ids).count()
    if visible != len(ids):
        raise Http404("No such sync record.")
    moved = force_push(records_qs_or_ids=ids, user=request.user)
    return _after_force_push(request, moved, since)


@login_required
@require_POST
def force_push_record(request, pk: int):
    _require_force_push(request.user)
    record = get_scoped_or_404(SyncRecord.objects.only("pk", "client_id"), request.user, pk=pk)
    since = timezone.now()
    moved = force_push(records_qs_or_ids=[record.pk], user=request.user)
    return _after_force_push(request, moved, since)


# --- Export ------------------------------------------------------------------------------


@login_required
@permission_required("channels.export_syncrecord", raise_exception=True)
@require_GET
def export(request):
    """Every row of the view and filters. Small: streamed now. Large: a background run with progress."""
    filterset = sync_log_filter(request.user, request.GET, request=request)
    if not filterset.is_valid():
        return HttpResponseBadRequest("Invalid filters: " + filterset.errors.as_text())
    records = filterset.qs
    total = records.count()
    if total > exports.EXPORT_INLINE_MAX_ROWS:
        run = start_export(
            user=request.user,
            querystring=_filters_querystring(request.GET),
            total=total,
            view=filterset.view_name,
        )
        messages.info(request, f"Exporting {total:,} records in the background.")
        return redirect("channels:export_status", run_id=run.pk)
    return exports.xlsx_response(records, view=filterset.view_name, show_client=user_sees_many_clients(request.user))


def _export_run(request, run_id: int) -> SyncRun:
    """Only the requester sees an export run and its file; anyone else gets a 404."""
    run = SyncRun.objects.filter(pk=run_id, kind=SyncRun.Kind.EXPORT, counts__user_id=request.user.pk).first()
    if run is None:
        raise Http404("No such export.")
    return run


@login_required
@permission_required("channels.export_syncrecord", raise_exception=True)
@require_GET
def export_status(request, run_id: int):
    run = _export_run(request, run_id)
    context = {"run": run, "back_url": reverse("channels:sync") + "?" + run.counts.get("params", "")}
    template = "channels/_export_progress.html" if request.htmx else "channels/export_status.html"
    return render(request, template, context)


@login_required
@permission_required("channels.export_syncrecord", raise_exception=True)
@require_GET
def export_download(request, run_id: int):
    run = _export_run(request, run_id)
    relative = run.counts.get("file")
    if run.counts.get("expired"):
        raise Http404("This export has expired; export the log again.")
    if run.status != SyncRun.Status.SUCCESS or not relative:
        raise Http404("This export has no file (yet).")
    path = export_path(relative)
    if not path.is_file():
        raise Http404("This export's file is gone.")
    return FileResponse(
        open(path, "rb"),  # noqa: SIM115 - FileResponse closes it
        as_attachment=True,
        filename=run.counts.get("filename") or path.name,
        content_type=exports.XLSX_CONTENT_TYPE,
    )


# --- Mappings ----------------------------------------------------------------------------


@login_required
@permission_required("channels.view_skumapping", raise_exception=True)
@require_GET
def mapping_list(request):
    queryset = (
        SkuMapping.objects.for_user(request.user)
        .select_related("channel", "part", "client")
        .order_by("channel__name", "channel_sku", "id")
    )
    filterset = SkuMappingFilter(request.GET or None, queryset=queryset, request=request)
    mappings = filterset.qs if filterset.is_bound and filterset.is_valid() else queryset
    page = Paginator(mappings, PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    context = {
        "filter": filterset,
        "page_obj": page,
        "mappings": page.object_list,
        "querystring": params.urlencode(),
        "show_client": user_sees_many_clients(request.user),
        "can_add": request.user.has_perm("channels.add_skumapping"),
        "can_change": request.user.has_perm("channels.change_skumapping"),
        "import_url": upload_url(MAPPINGS_KIND),
        "open_orders_import_url": upload_url(OPEN_ORDERS_KIND),
        "can_set_open_orders": request.user.has_perm("channels.set_open_orders"),
    }
    return render(request, "channels/mappings.html", context)


@login_required
@permission_required("channels.add_skumapping", raise_exception=True)
@require_http_methods(["GET", "POST"])
def mapping_create(request):
    if request.method == "POST":
        form = SkuMappingForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                mapping = create_mapping(
                    channel=form.cleaned_data["channel"], part=form.cleaned_data["part"], **form.mapping_fields()
                )
            except MappingConflict as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, f"Mapped {mapping.part.sku} to {mapping.channel_sku} on {mapping.channel}.")
                return redirect("channels:mappings")
    else:
        initial = {"is_active": True, "back_order_quantity": 0}
        channel = Channel.objects.for_user(request.user).filter(pk=_int(request.GET.get("channel"))).first()
        if channel is not None:
            initial["channel"] = channel.pk
        if request.GET.get("sku"):
            initial["sku"] = request.GET["sku"]
            initial["channel_sku"] = request.GET["sku"]
        form = SkuMappingForm(initial=initial, user=request.user)
    return render(request, "channels/mapping_form.html", {"form": form, "mapping": None})


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _scoped_mapping(request, pk: int) -> SkuMapping:
    return get_scoped_or_404(SkuMapping.objects.select_related("channel", "part"), request.user, pk=pk)


@login_required
@permission_required("channels.change_skumapping", raise_exception=True)
@require_http_methods(["GET", "POST"])
def mapping_edit(request, pk: int):
    mapping = _scoped_mapping(request, pk)
    initial = SkuMappingForm.initial_for(mapping)
    if request.method == "POST":
        form = SkuMappingForm(request.POST, initial=initial, user=request.user, mapping=mapping)
        if form.is_valid():
            try:
                update_mapping(mapping=mapping, part=form.cleaned_data["part"], **form.mapping_fields())
            except MappingConflict as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, f"Saved the mapping of {mapping.part.sku} on {mapping.channel}.")
                return redirect("channels:mappings")
    else:
        form = SkuMappingForm(initial=initial, user=request.user, mapping=mapping)
    return render(request, "channels/mapping_form.html", {"form": form, "mapping": mapping})


@login_required
@permission_required("channels.change_skumapping", raise_exception=True)
@require_POST
def mapping_deactivate(request, pk: int):
    mapping = _scoped_mapping(request, pk)
    if deactivate_mapping(mapping=mapping):
        messages.success(request, f"Deactivated {mapping.channel_sku} on {mapping.channel}: it is no longer pushed.")
    else:
        messages.info(request, f"{mapping.channel_sku} on {mapping.channel} was already inactive.")
    return redirect(reverse("channels:mappings") + "?" + _filters_of_mappings(request))


def _filters_of_mappings(request) -> str:
    return QueryDict(request.POST.get("querystring", "")).urlencode()


def unmapped_parts(user, *, channel: Channel | None = None, q: str = ""):
    """Active parts with no mapping on an active channel of their client: one row per (channel, part), one query."""
    mapped = SkuMapping.objects.filter(channel_id=OuterRef("channel_id"), part_id=OuterRef("pk"))
    rows = (
        scope_to_user(Part.objects.filter(is_active=True), user)
        .annotate(
            channel_id=F("client__channels__id"),
            channel_name=F("client__channels__name"),
            channel_code=F("client__channels__code"),
            channel_is_active=F("client__channels__is_active"),
        )
        .filter(channel_is_active=True)
        .filter(~Exists(mapped))
    )
    if channel is not None:
        rows = rows.filter(channel_id=channel.pk)
    if q:
        rows = rows.filter(sku__icontains=q)
    return rows.order_by("channel_name", "channel_id", "sku", "id").values(
        "id", "sku", "description", "channel_id", "channel_name", "channel_code"
    )


@login_required
@permission_required("channels.view_skumapping", raise_exception=True)
@require_GET
def unmapped(request):
    channels = list(Channel.objects.for_user(request.user).active().order_by("name", "id"))
    channel = next((c for c in channels if c.pk == _int(request.GET.get("channel"))), None)
    q = (request.GET.get("q") or "").strip()
    page = Paginator(unmapped_parts(request.user, channel=channel, q=q), PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    context = {
        "page_obj": page,
        "rows": page.object_list,
        "channels": channels,
        "channel": channel,
        "q": q,
        "querystring": params.urlencode(),
        "can_add": request.user.has_perm("channels.add_skumapping"),
    }
    return render(request, "channels/unmapped.html", context)
