"""Job pages: list, form (with live Available), detail with its actions, and the job board. Thin: forms, services."""

from collections import defaultdict

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import reswap

from bom.explosion import build_lines
from bom.models import BillOfMaterials
from core.scoping import clients_for, get_scoped_or_404, user_sees_many_clients
from inventory.errors import InsufficientStock, StockError
from inventory.models import Location, Part, StockLevel, Warehouse
from jobs import planning, production, services
from jobs.errors import IllegalTransition, JobError, LocationRequired
from jobs.filters import JobFilter
from jobs.forms import JobForm, JobLineFormSet
from jobs.models import Job, JobLine, ProductionStage

PAGE_SIZE = 50
BOARD_DONE_LIMIT = 30


def _querystring(params, *, drop=("page",)) -> str:
    params = params.copy()
    for key in drop:
        params.pop(key, None)
    return params.urlencode()


# ---------------------------------------------------------------------------------------------------------------
# list


@login_required
@permission_required("jobs.view_job", raise_exception=True)
@require_GET
def job_list(request):
    queryset = (
        Job.objects.for_user(request.user)
        .select_related("client", "created_by", "stage", "order_push")
        .with_totals()
        .order_by("-created_at", "-id")
    )
    filterset = JobFilter(request.GET or None, queryset=queryset, request=request)
    jobs = filterset.qs if filterset.is_bound and filterset.is_valid() else queryset
    page = Paginator(jobs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "jobs/list.html",
        {
            "filter": filterset,
            "page_obj": page,
            "jobs": page.object_list,
            "querystring": _querystring(request.GET),
            "show_client": user_sees_many_clients(request.user),
        },
    )


# ---------------------------------------------------------------------------------------------------------------
# form


def _line_errors(formset, shortages) -> None:
    """Put each shortage next to its line."""
    by_key = {(s.part_id, s.warehouse_code): s for s in shortages}
    for form in formset.forms:
        data = getattr(form, "cleaned_data", None) or {}
        warehouse = data.get("warehouse")
        part_sku = (data.get("part") or "").strip()
        for (part_id, code), shortage in by_key.items():
            if warehouse is not None and warehouse.code == code and shortage.sku == part_sku:
                form.add_error(
                    "quantity", f"Only {shortage.available} available at {code}; {shortage.requested} needed."
                )
                del by_key[(part_id, code)]
                break


def _initial_lines(job: Job) -> list[dict]:
    return [
        {"part": line.part.sku, "warehouse": line.warehouse, "quantity": line.quantity}
        for line in job.lines.select_related("part", "warehouse")
    ]


@login_required
@require_http_methods(["GET", "POST"])
def job_form(request, pk=None):
    job = None
    if pk is not None:
        job = get_scoped_or_404(Job.objects.select_related("client", "output_part"), request.user, pk=pk)
        if not request.user.has_perm("jobs.change_job"):
            raise PermissionDenied
        if job.state != Job.State.RESERVED:
            messages.error(request, f"Job {job.number} is {job.get_state_display()}; only Reserved jobs can be edited.")
            return redirect("jobs:detail", pk=job.pk)
    elif not request.user.has_perm("jobs.add_job"):
        raise PermissionDenied
    can_shortfall = request.user.has_perm("jobs.save_with_shortfall_job")
    shortage = None
    if request.method == "POST":
        form = JobForm(request.POST, user=request.user, job=job, initial={"client": job.client} if job else None)
        formset = JobLineFormSet(request.POST, prefix="lines")
        if form.is_valid() and formset.is_valid():
            client = job.client if job else form.cleaned_data["client"]
            specs = formset.resolve(client)
            if specs is not None and not form.errors:
                allow_shortfall = "save_with_shortfall" in request.POST
                if allow_shortfall and not can_shortfall:
                    raise PermissionDenied
                if "save_as_planned" in request.POST and job is None:
                    try:
                        planned = planning.plan_job(
                            client=client,
                            user=request.user,
                            title=form.cleaned_data["title"],
                            lines=specs,
                            output=form.output,
                        )
                    except ValidationError as exc:
                        for field, errors in exc.message_dict.items():
                            for error in errors:
                                form.add_error(field if field in form.fields else None, error)
                    else:
                        messages.success(request, f"Job {planned.number} saved as planned: its lines are Allocated.")
                        return redirect("jobs:detail", pk=planned.pk)
                    context = {"job": job, "form": form, "formset": formset, "can_shortfall": can_shortfall}
                    return render(request, "jobs/form.html", context)
                try:
                    saved = services.save_job(
                        client=client,
                        user=request.user,
                        title=form.cleaned_data["title"],
                        lines=specs,
                        output=form.output,
                        allow_shortfall=allow_shortfall,
                        job=job,
                    )
                except InsufficientStock as exc:
                    shortage = exc
                    _line_errors(formset, exc.shortages)
                except ValidationError as exc:
                    for field, errors in exc.message_dict.items():
                        target = field if field in form.fields else None
                        for error in errors:
                            form.add_error(target, error)
                except (IllegalTransition, StockError) as exc:
                    form.add_error(None, str(exc))
                else:
                    short = saved.lines.filter(allocated__gt=0).exists()
                    verb = "saved" if job is None else "updated"
                    text = f"Job {saved.number} {verb}: stock reserved."
                    if short:
                        text = f"Job {saved.number} {verb} with a shortfall: the uncovered sheets are Allocated."
                    messages.success(request, text)
                    return redirect("jobs:detail", pk=saved.pk)
    else:
        initial = {"client": job.client, "title": job.title} if job else {}
        if job and job.output_part_id:
            initial.update(
                output_part=job.output_part.sku, output_warehouse=job.output_warehouse, batch_size=job.batch_size
            )
        clients = clients_for(request.user)
        if job is None and len(clients) == 1:
            initial["client"] = clients[0]
        form = JobForm(initial=initial, user=request.user, job=job)
        formset = JobLineFormSet(prefix="lines", initial=_initial_lines(job) if job else [{"quantity": None}])
    return render(
        request,
        "jobs/form.html",
        {
            "job": job,
            "form": form,
            "formset": formset,
            "shortage": shortage,
            "can_shortfall": can_shortfall,
        },
    )


@login_required
@require_GET
def line_form(request):
    """One more empty line (htmx): the row, plus the formset's TOTAL_FORMS swapped out of band."""
    if not (request.user.has_perm("jobs.add_job") or request.user.has_perm("jobs.change_job")):
        raise PermissionDenied
    try:
        index = max(0, int(request.GET.get("lines-TOTAL_FORMS", "0")))
    except ValueError:
        index = 0
    formset = JobLineFormSet(prefix="lines")
    return render(
        request,
        "jobs/_line_row.html",
        {
            "line": formset._construct_form(index, empty_permitted=False, use_required_attribute=False),
            "total_forms": index + 1,
            "oob": True,
            "job": None,
        },
    )


@login_required
@require_GET
def bom_lines(request):
    """The lines of a build (htmx): the output's BOM × batch size at the output warehouse, replacing the lines."""
    if not (request.user.has_perm("jobs.add_job") or request.user.has_perm("jobs.change_job")):
        raise PermissionDenied
    sku = (request.GET.get("output_part") or "").strip()
    warehouse_id, batch = request.GET.get("output_warehouse") or "", request.GET.get("batch_size") or ""
    client_id = request.GET.get("client") or ""
    parts = Part.objects.filter(client__in=clients_for(request.user), sku=sku)
    if client_id.isdigit():
        parts = parts.filter(client_id=int(client_id))
    part = parts.first() if sku else None
    warehouse = Warehouse.objects.active().filter(pk=int(warehouse_id)).first() if warehouse_id.isdigit() else None
    bom = BillOfMaterials.objects.filter(product=part).first() if part else None
    problem = ""
    if part is None:
        problem = f"No part {sku}." if sku else "Choose the output part first."
    elif bom is None or not bom.components.exists():
        problem = f"{part.sku} has no bill of materials."
    elif warehouse is None:
        problem = "Choose the output warehouse: the lines take their components from it."
    elif not batch.isdigit() or int(batch) < 1:
        problem = "The batch size must be a whole number of at least 1."
    if problem:  # the lines stay as they are; only the status line says why
        return reswap(render(request, "jobs/_bom_lines.html", {"problem": problem}), "none")
    lines = build_lines(part, warehouse.id, int(batch))
    formset = JobLineFormSet(
        prefix="lines",
        initial=[{"part": line.sku, "warehouse": warehouse, "quantity": line.quantity} for line in lines],
    )
    notes = [
        f"For generic {line.generic_sku}: any of {', '.join(line.alternates)}" if line.generic_sku else ""
        for line in lines
    ]
    return render(
        request,
        "jobs/_bom_lines.html",
        {
            "rows": list(zip(formset.forms, notes, strict=True)),
            "formset": formset,
            "bom": bom,
            "part": part,
            "warehouse": warehouse,
            "batch": int(batch),
        },
    )


def _param(request, suffix: str) -> str:
    for key, value in request.GET.items():
        if key == suffix or key.endswith(f"-{suffix}"):
            return value.strip()
    return ""


@login_required
@permission_required("jobs.view_job", raise_exception=True)
@require_GET
def availability(request):
    """Available of a part at a warehouse, from the same figures as the inventory page, and what would remain."""
    sku, warehouse_id = _param(request, "part"), _param(request, "warehouse")
    client_id = request.GET.get("client") or ""
    job_id = request.GET.get("job") or ""
    job = Job.objects.for_user(request.user).filter(pk=int(job_id)).first() if job_id.isdigit() else None
    if job is not None:
        client_id = str(job.client_id)
    context = {"state": "empty"}
    if sku and warehouse_id.isdigit():
        parts = Part.objects.filter(sku=sku, client__in=clients_for(request.user))
        if client_id.isdigit():
            parts = parts.filter(client_id=int(client_id))
        part = parts.first()
        warehouse = Warehouse.objects.filter(pk=int(warehouse_id)).first()
        if part is None or warehouse is None:
            context = {"state": "unknown", "sku": sku}
        else:
            level = StockLevel.objects.for_warehouse(warehouse).with_figures().filter(part=part).first()
            available = level.available if level else 0
            already = 0
            if job is not None:
                line = JobLine.objects.filter(job=job, part=part, warehouse=warehouse).first()
                already = line.quantity if line else 0
            quantity = _param(request, "quantity")
            wanted = int(quantity) if quantity.isdigit() else None
            remain = None if wanted is None else available - (wanted - already)
            context = {
                "state": "known",
                "part": part,
                "warehouse": warehouse,
                "available": available,
                "reserved": level.reserved if level else 0,
                "wanted": wanted,
                "remain": remain,
                "short_by": -remain if remain is not None and remain < 0 else 0,
            }
    return render(request, "jobs/_availability.html", context)


@login_required
@permission_required("jobs.view_job", raise_exception=True)
@require_GET
def part_search(request):
    """Datalist options for the part picker: SKUs of the user's clients matching the text typed."""
    query = request.GET.get("q") or _param(request, "part") or _param(request, "output_part")
    parts = Part.objects.filter(client__in=clients_for(request.user)).active()
    client_id = request.GET.get("client") or ""
    if client_id.isdigit():
        parts = parts.filter(client_id=int(client_id))
    parts = parts.search(query).order_by("sku").only("sku", "description")[:20]
    return render(request, "jobs/_part_options.html", {"parts": parts})


# ---------------------------------------------------------------------------------------------------------------
# detail and actions


@login_required
@permission_required("jobs.view_job", raise_exception=True)
@require_GET
def job_detail(request, pk):
    job = get_scoped_or_404(
        Job.objects.select_related("client", "created_by", "stage", "output_part", "output_warehouse", "order_push"),
        request.user,
        pk=pk,
    )
    lines = list(job.lines.select_related("part", "warehouse").order_by("id"))
    events = list(job.events.select_related("user", "from_stage", "to_stage"))
    reopen_to = _reopen_target(list(ProductionStage.objects.active())) if job.state == Job.State.DONE else ""
    return render(
        request,
        "jobs/detail.html",
        {
            "job": job,
            "lines": lines,
            "events": events,
            "shortfall": sum(line.allocated for line in lines),
            "done_form_locations": _output_locations([job]).get(job.output_warehouse_id, []),
            "release_confirm": release_confirmation(job, lines) if job.state == Job.State.RESERVED else "",
            "reopen_to": reopen_to,
            "reopen_confirm": reopen_confirmation(job, reopen_to) if reopen_to else "",
        },
    )


def _warehouse_list(codes) -> str:
    codes = sorted(set(codes))
    return ", ".join(codes[:-1]) + (" and " if len(codes) > 1 else "") + codes[-1] if codes else ""


def release_confirmation(job: Job, lines: list[JobLine]) -> str:
    """What Release does to this job's stock, for the question asked before it (it cannot be undone)."""
    local = [line.warehouse.code for line in lines if not line.warehouse.is_allocadence]
    remote = [line.warehouse.code for line in lines if line.warehouse.is_allocadence]
    effects = []
    if local:
        effects.append(f"its reserved sheets at {_warehouse_list(local)} are consumed now")
    if remote:
        effects.append(f"order {job.number} is sent to Allocadence for {_warehouse_list(remote)}")
    if job.output_part_id:
        effects.append(f"{job.batch_size} × {job.output_part.sku} is counted In-production")
    said = "; ".join(effects) or "it goes on the job board"
    return f"Release {job.number} to production? {said[0].upper()}{said[1:]}. This cannot be undone."


def done_confirmation(job: Job) -> str:
    if not job.output_part_id:
        effect = "it leaves production"
    elif job.output_warehouse.is_allocadence:
        effect = (
            f"its In-production {job.batch_size} × {job.output_part.sku} is cleared: "
            f"the goods arrive in {job.output_warehouse.code} with the next Allocadence pull"
        )
    else:
        effect = f"{job.batch_size} × {job.output_part.sku} become Available in the location chosen"
    return f"Move {job.number} to Done? {effect[0].upper()}{effect[1:]}."


def reopen_confirmation(job: Job, target: str) -> str:
    effect = ""
    if job.output_part_id:
        effect = (
            f" {job.output_part.sku} that Done put into Available is counted In-production again."
            if not job.output_warehouse.is_allocadence
            else f" {job.batch_size} × {job.output_part.sku} is counted In-production again."
        )
    return f"Move {job.number} back from Done to {target}?{effect}"


def _reopen_target(stages: list[ProductionStage]) -> str:
    return stages[-1].name if stages else "Released"


ACTIONS = {
    "reserve-now": ("jobs.change_job", services.reserve_now),
    "release": ("jobs.release_job", production.release_job),
    "cancel": ("jobs.cancel_job", services.cancel_job),
    "convert": ("jobs.change_job", planning.convert_planned_job),
    "cancel-plan": ("jobs.cancel_job", planning.cancel_planned_job),
}


@login_required
@require_POST
def job_action(request, pk, action):
    permission, service = ACTIONS[action]
    job = get_scoped_or_404(Job.objects.all(), request.user, pk=pk)
    if not request.user.has_perm(permission):
        raise PermissionDenied
    try:
        result = service(job=job, user=request.user)
    except (JobError, StockError, ValidationError) as exc:
        messages.error(request, " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc))
    else:
        if action == "reserve-now":
            job.refresh_from_db()
            remaining = sum(job.lines.values_list("allocated", flat=True))
            messages.success(request, f"Reserved {result} more; {remaining} still short.")
        elif action == "convert":
            messages.success(request, f"Job {job.number} converted to a saved job: stock reserved.")
        elif action == "cancel-plan":
            messages.success(request, f"Planned job {job.number} cancelled.")
        elif action == "release":
            messages.success(request, f"Job {job.number} released to production.")
        else:
            messages.success(request, f"Job {job.number} cancelled: its stock is Available again.")
    return redirect("jobs:detail", pk=job.pk)


# ---------------------------------------------------------------------------------------------------------------
# board


def _output_locations(jobs) -> dict[int, list[Location]]:
    """Locations of the local output warehouses of these jobs, for the Done step (one query)."""
    warehouse_ids = {job.output_warehouse_id for job in jobs if job.output_warehouse_id}
    result: dict[int, list[Location]] = defaultdict(list)
    if warehouse_ids:
        for location in Location.objects.filter(
            warehouse_id__in=warehouse_ids, warehouse__source=Warehouse.Source.LOCAL
        ).order_by("code"):
            result[location.warehouse_id].append(location)
    return result


def _attach_lines(jobs) -> None:
    """Each card's SKUs and quantities: every board job's lines in one query."""
    by_job: dict[int, list[JobLine]] = defaultdict(list)
    if jobs:
        for line in (
            JobLine.objects.filter(job_id__in=[job.pk for job in jobs])
            .select_related("part", "warehouse")
            .only("job_id", "quantity", "part__id", "part__sku", "warehouse__id", "warehouse__code")
            .order_by("id")
        ):
            by_job[line.job_id].append(line)
    for job in jobs:
        job.card_lines = by_job.get(job.pk, [])


def _board_jobs(request):
    base = (
        Job.objects.for_user(request.user)
        .select_related("client", "stage", "output_part", "output_warehouse", "order_push")
        .order_by("released_at", "id")
    )
    active = list(base.filter(state__in=[Job.State.RELEASED, Job.State.IN_PRODUCTION]))
    done = list(base.filter(state=Job.State.DONE).order_by("-done_at", "-id")[:BOARD_DONE_LIMIT])
    return active, done


def _column_key(index: int, stages: list[ProductionStage]) -> str:
    """The board column of a position: -1 is Released, len(stages) is Done."""
    if index < 0:
        return "released"
    if index >= len(stages):
        return "done"
    return f"stage-{stages[index].id}"


def _board_context(request, error: str = "") -> dict:
    stages = list(ProductionStage.objects.active())
    active, done = _board_jobs(request)
    _attach_lines(active + done)
    locations = _output_locations(active)
    columns = [{"key": "released", "title": "Released", "jobs": []}]
    columns += [{"key": f"stage-{stage.id}", "title": stage.name, "jobs": []} for stage in stages]
    columns.append({"key": "done", "title": "Done", "jobs": done})
    can_advance = request.user.has_perm("jobs.advance_job")
    can_reopen = request.user.has_perm("jobs.reopen_job")
    for job in done:
        job.reopen_to = _reopen_target(stages) if can_reopen else ""
        job.reopen_confirm = reopen_confirmation(job, job.reopen_to) if can_reopen else ""
        job.drop_targets = _column_key(len(stages) - 1, stages) if can_reopen else ""
    for job in active:
        back, forward = production.board_moves(job, stages)
        job.can_back = back is not None
        job.next_is_done = forward == len(stages)
        job.done_locations = locations.get(job.output_warehouse_id, []) if job.next_is_done else []
        job.needs_location = bool(job.next_is_done and job.output_part_id and not job.output_warehouse.is_allocadence)
        job.done_confirm = done_confirmation(job)
        if job.state == Job.State.RELEASED:
            columns[0]["jobs"].append(job)
            current = "released"
        else:
            index = next((i for i, s in enumerate(stages) if s.id == job.stage_id), back)
            columns[1 + index]["jobs"].append(job)  # a retired stage shows in the active stage before it
            current = columns[1 + index]["key"]
        job.drop_targets = " ".join(c["key"] for c in columns if c["key"] != current) if can_advance else ""
    return {
        "columns": columns,
        "can_advance": can_advance,
        "can_reopen": can_reopen,
        "board_error": error,
        "board_job_ids": ",".join(str(job.pk) for job in active + done),
        "poll_seconds": settings.BOARD_POLL_SECONDS,
        "next_url": reverse("jobs:board"),
    }


@login_required
@permission_required("jobs.view_job", raise_exception=True)
@require_GET
def board(request):
    return render(request, "jobs/board.html", _board_context(request))


@login_required
@permission_required("jobs.view_job", raise_exception=True)
@require_GET
def board_statuses(request):
    """The Allocadence order status of the cards on the board (htmx polls it; each swaps in out of band)."""
    ids = [int(value) for value in (request.GET.get("jobs") or "").split(",") if value.isdigit()][:500]
    jobs = Job.objects.for_user(request.user).filter(pk__in=ids, order_push__isnull=False).select_related("order_push")
    return render(
        request, "jobs/_board_statuses.html", {"jobs": jobs.order_by("id"), "next_url": reverse("jobs:board")}
    )


def _position(job: Job, stages: list[ProductionStage]) -> int:
    if job.state == Job.State.RELEASED:
        return -1
    if job.state == Job.State.DONE:
        return len(stages)
    back, _forward = production.board_moves(job, stages)
    return next((i for i, s in enumerate(stages) if s.id == job.stage_id), back)


def _target_position(key: str, stages: list[ProductionStage]) -> int | None:
    if key == "released":
        return -1
    if key == "done":
        return len(stages)
    return next((i for i, s in enumerate(stages) if key == f"stage-{s.id}"), None)


def _move_to(job: Job, user, key: str, location) -> Job:
    """A card dropped on a column: one recorded step at a time until it is there (Done asks its location)."""
    stages = list(ProductionStage.objects.active())
    target = _target_position(key, stages)
    if target is None:
        raise IllegalTransition(f"There is no column {key!r} on the board any more; reload the board.")
    for _ in range(len(stages) + 2):
        current = _position(job, stages)
        if current == target or job.state == Job.State.DONE:
            break
        direction = 1 if target > current else -1
        job = production.advance_job(job=job, user=user, direction=direction, location=location)
    return job


@login_required
@permission_required("jobs.advance_job", raise_exception=True)
@require_POST
def board_move(request, pk):
    """Move a card one step, or (`to`, a column key: drag and drop) to that column, one recorded step at a time.

    htmx: answers the re-rendered board; without htmx: redirects to it.
    """
    job = get_scoped_or_404(Job.objects.select_related("output_warehouse"), request.user, pk=pk)
    direction = -1 if request.POST.get("direction") == "back" else 1
    location = None
    location_id = request.POST.get("location") or ""
    if location_id.isdigit() and job.output_warehouse_id:
        location = Location.objects.filter(pk=int(location_id), warehouse_id=job.output_warehouse_id).first()
    error = ""
    try:
        if request.POST.get("to"):
            _move_to(job, request.user, request.POST["to"], location)
        else:
            production.advance_job(job=job, user=request.user, direction=direction, location=location)
    except LocationRequired as exc:
        error = str(exc)
    except (JobError, StockError) as exc:
        error = str(exc)
    except ValidationError as exc:
        error = " ".join(exc.messages)
    if request.htmx:
        return render(request, "jobs/_board.html", _board_context(request, error))
    if error:
        messages.error(request, error)
    return redirect(reverse("jobs:board"))


@login_required
@permission_required("jobs.reopen_job", raise_exception=True)
@require_POST
def reopen(request, pk):
    """An admin takes a Done job back one stage (htmx from the board: the board; otherwise the job page)."""
    job = get_scoped_or_404(Job.objects.all(), request.user, pk=pk)
    error = ""
    try:
        job = production.reopen_job(job=job, user=request.user)
    except (JobError, StockError) as exc:
        error = f"{job.number} stays Done: {exc}"
    if request.htmx:
        return render(request, "jobs/_board.html", _board_context(request, error))
    if error:
        messages.error(request, error)
    else:
        where = job.stage.name if job.stage else job.get_state_display()
        messages.success(request, f"Job {job.number} moved back from Done to {where}.")
    return redirect("jobs:detail", pk=job.pk)
