"""Inventory pages: the list, the part page with its manual operations, the export. Thin: forms, services, render."""

from collections import defaultdict
from types import SimpleNamespace

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.template import engines
from django.urls import reverse
from django.utils.formats import get_format, number_format
from django.utils.functional import cached_property
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_POST

from bom.selectors import can_build
from core.scoping import get_scoped_or_404, user_sees_many_clients
from inventory import figures, services
from inventory.errors import StockError
from inventory.exports import csv_response, export_rows, xlsx_response
from inventory.figures import Figure
from inventory.filters import InventoryFilter, inventory_scope, sort_keys, warehouse_from_params, with_list_columns
from inventory.forms import OPERATION_FORMS, PartImageForm
from inventory.models import Movement, Part, StockLevel, StockType, Warehouse
from inventory.selectors import on_hand_history, part_location_figures, stock_chart_svg_data

PAGE_SIZE = 50


def _querystring(params, *, drop=()) -> str:
    params = params.copy()
    for key in drop:
        params.pop(key, None)
    return params.urlencode()


def _list_figures(chosen) -> list[Figure]:
    """The figures the list shows: those it always shows and the optional ones chosen, in the registry's order."""
    return [figure for figure in figures.all_figures() if figure.list_column == "always" or figure.key in chosen]


def _sort_links(params, current: str | None) -> dict[str, dict]:
    """For each sortable column: the URL that sorts by it (toggling direction) and the aria-sort state."""
    base = _querystring(params, drop=("sort", "page"))
    links = {}
    for key in sort_keys():
        if current == key:
            target, state = f"-{key}", "ascending"
        elif current == f"-{key}":
            target, state = key, "descending"
        else:
            target, state = key, "none"
        links[key] = {"url": "?" + (base + "&" if base else "") + f"sort={target}", "state": state}
    return links


class _InventoryPaginator(Paginator):
    """Pages the figures rows; counts `matching`, the filtered rows without the figures no filter needs.

    (Counting in the page query with COUNT(*) OVER () would save a pass when a Stock Balance
    filter makes both queries read every row, but PostgreSQL 15 costs a window as if the
    LIMIT could stop it early, and may then pick a row-by-row plan that takes seconds.)
    A first page with fewer rows than a page holds is every matching row: then nothing is counted.
    """

    def __init__(self, rows, per_page, *, matching):
        super().__init__(rows, per_page)
        self._matching = matching

    @cached_property
    def count(self):
        return self._matching.count()

    def get_page(self, number):
        try:
            is_first = number in (None, "") or int(number) <= 1
        except (TypeError, ValueError):
            is_first = True  # get_page shows the first page for a page that is not a number
        if not is_first:
            return super().get_page(number)
        rows = list(self.object_list[: self.per_page])
        if len(rows) < self.per_page:
            self.count = len(rows)  # cached_property: set on the instance
        return self._get_page(rows, 1, self)


def _thousands():
    """intcomma's formatting of an integer in the active language, without its per-call lookups."""
    separator, grouping = get_format("THOUSAND_SEPARATOR"), get_format("NUMBER_GROUPING")
    if grouping == 3:
        return lambda value: f"{value:,}".replace(",", separator)
    return lambda value: number_format(value, force_grouping=True)


_KIND_TAGS = {Part.Kind.GENERIC: "Generic", Part.Kind.IN_HOUSE: "In-house"}


# What a list row reads: values, not model instances (50 rows of StockLevel + Part + Warehouse instances,
# with the image fields' post_init work, cost more than the page's SQL). The part's and warehouse's
# fields first, in the order `_list_rows` unpacks them, then the figures.
_ROW_PART_FIELDS = (
    "part_id",
    "warehouse_id",
    "part__sku",
    "part__description",
    "part__kind",
    "part__thumbnail",
    "warehouse__code",
)


class ListRow(SimpleNamespace):
    """One row of the list: its figures as attributes, `part` and `warehouse` with the few fields shown, and
    what the template writes: `thumbnail_url`, `kind_tag`, `warehouse_label` and `cells` (text, is_short)."""


def _list_rows(values, figure_keys, shown_keys) -> list[ListRow]:
    """The page's rows, with the shown figures formatted once here (the template escapes every value)."""
    thousands = _thousands()
    thumbnails = Part._meta.get_field("thumbnail").storage
    rows = []
    for part_id, warehouse_id, sku, description, kind, thumbnail, code, *figure_values in values:
        row = ListRow(
            part_id=part_id,
            warehouse_id=warehouse_id,
            part=SimpleNamespace(id=part_id, sku=sku, description=description, kind=kind, thumbnail=thumbnail),
            warehouse=SimpleNamespace(code=code) if warehouse_id is not None else None,
            thumbnail_url=thumbnails.url(thumbnail) if thumbnail else "",
            kind_tag=_KIND_TAGS.get(kind, ""),
            warehouse_label=code if warehouse_id is not None else "All",
            **dict(zip(figure_keys, figure_values, strict=True)),
        )
        row.cells = [_cell(key, getattr(row, key), thousands) for key in shown_keys]
        rows.append(row)
    return rows


CAN_BUILD = "can_build"
CAN_BUILD_COLUMN = {
    "key": CAN_BUILD,
    "label": "Can build",
    "help": "In-house parts: whole units the Available stock of the BOM's components allows (bom.selectors).",
    "url": "",
    "state": "none",
}


def _add_can_build_cells(levels: list[ListRow], warehouse) -> None:
    """The Can build cell of each row: in-house parts with a BOM get the number, in one statement for the page."""
    products = [row.part_id for row in levels if row.part.kind == Part.Kind.IN_HOUSE]
    scope = warehouse.id if warehouse is not None else None  # the list shows one scope: a warehouse, or All
    results = {(pid, scope): r for pid, r in can_build(products, warehouse).items()} if products else {}
    thousands = _thousands()
    for row in levels:
        result = results.get((row.part_id, row.warehouse_id))
        row.cells = [*row.cells, (thousands(result.batches) if result else "—", False)]


def _cell(key: str, value, thousands) -> tuple[str, bool]:
    if value is None:
        return "—", False
    return thousands(value), key == "stock_balance" and value < 0


_FROM_PARAMS = object()


def _filtered_inventory(request, *, warehouse=_FROM_PARAMS):
    """The warehouse, the filter set, the rows to show (with figures, sorted) and the matching rows to count."""
    if warehouse is _FROM_PARAMS:
        warehouse = warehouse_from_params(request.GET)
    queryset = inventory_scope(request.user, warehouse)
    filterset = InventoryFilter(request.GET or None, queryset=queryset, request=request)
    rows = matching = queryset
    if filterset.is_bound and filterset.is_valid():
        rows, matching = filterset.qs, filterset.matching
    return warehouse, filterset, with_list_columns(rows), matching


def _rows_html(levels: list[ListRow]):
    """The table's rows through a Jinja2 partial (autoescaped): 50 rows × up to 12 figures cost ~0.3–0.5 ms
    there and ~2.6–4 ms in Django's engine (docs/benchmarks.md), against a page budget of a few ms."""
    part_url = reverse("inventory:part", args=[0]).removesuffix("0/")  # once, not per row
    html = engines["jinja2"].get_template("inventory/_rows.html").render({"levels": levels, "part_url": part_url})
    return mark_safe(html)  # noqa: S308 (Jinja2 escaped every value)


@login_required
@permission_required("inventory.view_part", raise_exception=True)
@require_GET
def inventory_list(request):
    # One query for the dropdown and the chosen warehouse (which may be inactive).
    code = (request.GET.get("warehouse") or "").strip()
    warehouses = list(
        Warehouse.objects.filter(Q(is_active=True) | Q(code=code)).only("id", "code", "name", "is_active")
    )
    warehouse = next((w for w in warehouses if w.code == code), None) if code else None
    # Said, not ignored: the list then shows every warehouse, and says why.
    warehouse_error = f"No warehouse with the code “{code}”: showing all warehouses." if code and not warehouse else ""
    _warehouse, filterset, rows, matching = _filtered_inventory(request, warehouse=warehouse)
    show_client = user_sees_many_clients(request.user)
    figure_keys = [figure.key for figure in figures.all_figures()]
    page = _InventoryPaginator(
        rows.values_list(*_ROW_PART_FIELDS, *figure_keys), PAGE_SIZE, matching=matching
    ).get_page(request.GET.get("page"))
    chosen = set(request.GET.getlist("cols"))
    shown = _list_figures(chosen)
    levels = _list_rows(page.object_list, figure_keys, [figure.key for figure in shown])
    show_can_build = CAN_BUILD in chosen
    if show_can_build:
        _add_can_build_cells(levels, warehouse)
    sort_links = _sort_links(request.GET, request.GET.get("sort"))
    context = {
        "page_obj": page,
        "levels": levels,
        "rows_html": _rows_html(levels),
        "filter": filterset,
        "form_values": {
            name: filterset.form[name].value() for name in ("q", "kind", "client", "low_stock", "shortage")
        },
        "kind_choices": Part.Kind.choices,
        "client_choices": filterset.client_choices() if show_client else [],
        "warehouse": warehouse,
        "warehouse_error": warehouse_error,
        "warehouses": [w for w in warehouses if w.is_active],
        "optional_columns": [
            (figure.key, figure.label, figure.key in chosen)
            for figure in figures.all_figures()
            if figure.list_column == "optional"
        ]
        + [(CAN_BUILD, "Can build (in-house parts)", show_can_build)],
        "figures": figures.all_figures(),
        "figure_columns": [{"key": f.key, "label": f.label, "help": f.help_text, **sort_links[f.key]} for f in shown]
        + ([CAN_BUILD_COLUMN] if show_can_build else []),
        "sort_links": sort_links,
        "querystring": _querystring(request.GET, drop=("page",)),
        "export_querystring": _querystring(request.GET, drop=("page", "cols", "format")),
        "show_client": show_client,
        "can_export": request.user.has_perm("inventory.export_inventory"),
    }
    return render(request, "inventory/list.html", context)


@login_required
@permission_required("inventory.export_inventory", raise_exception=True)
@require_GET
def inventory_export(request):
    code = (request.GET.get("warehouse") or "").strip()
    warehouse, _filterset, rows, _matching = _filtered_inventory(request)
    if code and warehouse is None:
        # A file of every warehouse under a name that asked for one would mislead: refuse, and say why.
        return HttpResponseBadRequest(f"No warehouse with the code “{code}”.", content_type="text/plain; charset=utf-8")
    export_format = request.GET.get("format", "csv")
    if export_format == "xlsx":
        return xlsx_response(export_rows(rows))
    if export_format == "csv":
        return csv_response(export_rows(rows))
    raise Http404("Unknown export format; use csv or xlsx.")


def _part_context(request, part: Part, forms=None, image_form=None) -> dict:
    levels = list(
        StockLevel.objects.filter(part=part)
        .with_figures()
        .select_related("warehouse")
        .order_by("warehouse__code", "id")
    )
    totals = next((level for level in levels if level.warehouse_id is None), None)
    warehouse_levels = [level for level in levels if level.warehouse_id is not None]
    shown = figures.all_figures()

    def figure_row(level, label):
        return {"label": label, "cells": [(figure, getattr(level, figure.key)) for figure in shown]}

    movement_type = request.GET.get("type", "")
    movements = Movement.objects.filter(part=part).select_related("location", "warehouse", "user")
    if movement_type in StockType.values:
        movements = movements.filter(type=movement_type)
    else:
        movement_type = ""
    movement_page = Paginator(movements.order_by("-created_at", "-id"), 25).get_page(request.GET.get("page"))
    can_adjust = request.user.has_perm("inventory.adjust_stock")
    forms = forms or {}
    if can_adjust:
        forms = {name: forms.get(name) or form_class() for name, form_class in OPERATION_FORMS.items()}
    return {
        "part": part,
        "totals": totals,
        "warehouse_levels": warehouse_levels,
        "figures": shown,
        "warehouse_rows": [figure_row(level, level.warehouse.code) for level in warehouse_levels],
        "totals_row": figure_row(totals, "All warehouses") if totals else None,
        "balance_note": _balance_note(part, totals, warehouse_levels),
        "location_figures": part_location_figures(part),
        "figure_types": list(StockType),
        "movement_page": movement_page,
        "page_obj": movement_page,
        "movement_type": movement_type,
        "movement_types": list(StockType),
        "querystring": _querystring(request.GET, drop=("page",)),
        "chart": stock_chart_svg_data(on_hand_history(part)),
        "alternates": list(part.alternates.order_by("sku")) if part.kind == Part.Kind.GENERIC else [],
        "can_adjust": can_adjust,
        "operation_forms": list(forms.values()) if can_adjust else [],
        "can_change_part": request.user.has_perm("inventory.change_part"),
        "image_form": image_form or PartImageForm(),
    }


def _balance_note(part: Part, totals, warehouse_levels) -> str:
    """Why the All-warehouses Stock Balance is not the sum of the warehouses' (SPEC §2), when it is not."""
    if totals is None or not warehouse_levels:
        return ""
    summed = sum(level.stock_balance for level in warehouse_levels)
    if summed == totals.stock_balance:
        return ""
    thousands = _thousands()
    reasons = [f"the low-stock threshold ({thousands(part.low_stock_threshold)}) counts once over all warehouses"]
    if part.kind == Part.Kind.GENERIC:
        reasons.append("each alternate's Stock Balance counts only above zero, in each scope")
    return (
        f"All warehouses: Stock Balance {thousands(totals.stock_balance)}, not the sum of the warehouses' "
        f"({thousands(summed)}): {' and '.join(reasons)}."
    )


def _scoped_part(request, part_id: int) -> Part:
    return get_scoped_or_404(Part.objects.select_related("client"), request.user, client_field="client", pk=part_id)


@login_required
@permission_required("inventory.view_part", raise_exception=True)
@require_GET
def part_detail(request, part_id: int):
    part = _scoped_part(request, part_id)
    return render(request, "inventory/part.html", _part_context(request, part))


@login_required
@permission_required("inventory.adjust_stock", raise_exception=True)
@require_POST
def part_operation(request, part_id: int, operation: str):
    part = _scoped_part(request, part_id)
    form_class = OPERATION_FORMS.get(operation)
    if form_class is None:
        raise Http404("Unknown operation.")
    form = form_class(request.POST)
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        try:
            movements = _run_operation(operation, part=part, data=data, user=request.user)
        except ValidationError as exc:
            for field, errors in (exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}).items():
                form.add_error(field if field in form.fields else None, errors)
        except StockError as exc:
            form.add_error(None, str(exc))
            status = 409
        else:
            messages.success(request, operation_message(operation, part=part, data=data, movements=movements))
            return redirect(reverse("inventory:part", args=[part.id]))
    context = _part_context(request, part, forms={operation: form})
    context["open_operation"] = operation
    return render(request, "inventory/part.html", context, status=status)


def _place(location) -> str:
    """MAIN for a warehouse's default location, MAIN/A1 for another."""
    return location.warehouse.code if location.is_default else str(location)


def _signed(delta: int) -> str:
    return f"+{delta:,}" if delta > 0 else f"\u2212{-delta:,}"  # a real minus sign


def operation_message(operation: str, *, part: Part, data: dict, movements) -> str:
    """ "Adjusted AC-BAN-037 at MAIN by −6 (Available 166 → 160)": what changed and each figure before → after.

    After = the warehouse's figure read now; before = after − what these movements changed there.
    """
    net: dict[tuple[int, str], int] = defaultdict(int)
    for movement in movements:
        net[(movement.warehouse_id, movement.type)] += movement.delta
    levels = {
        level.warehouse_id: level
        for level in StockLevel.objects.filter(part=part, warehouse_id__in={w for w, _ in net}).select_related(
            "warehouse"
        )
    }
    many = len({w for w, _ in net}) > 1
    figures_said = []
    for (warehouse_id, type_), delta in sorted(
        net.items(), key=lambda item: (levels[item[0][0]].warehouse.code, item[0][1])
    ):
        level = levels[warehouse_id]
        after = getattr(level, type_)
        where = f" at {level.warehouse.code}" if many else ""
        figures_said.append(f"{StockType(type_).label}{where} {after - delta:,} \u2192 {after:,}")
    if operation == "move":
        source, target = _place(data["from_location"]), _place(data["to_location"])
        said = f"Moved {data['quantity']:,} {part.sku} from {source} to {target}"
    elif operation == "adjust":
        said = f"Adjusted {part.sku} at {_place(data['location'])} by {_signed(data['delta'])}"
    elif operation == "create":
        said = f"Added {data['quantity']:,} {part.sku} at {_place(data['location'])}"
    elif operation == "obsolete":
        said = f"Marked {data['quantity']:,} {part.sku} obsolete at {_place(data['location'])}"
    else:
        said = f"Removed {data['quantity']:,} {part.sku} from {_place(data['location'])}"
    return f"{said} ({', '.join(figures_said)})" if figures_said else f"{said}."


def _run_operation(operation: str, *, part: Part, data: dict, user):
    common = {"part": part, "reason": data["reason"], "user": user}
    if operation == "create":
        return services.create_stock(location=data["location"], type=data["type"], quantity=data["quantity"], **common)
    elif operation == "adjust":
        return services.adjust_stock(location=data["location"], type=data["type"], delta=data["delta"], **common)
    elif operation == "move":
        return services.move_stock(
            from_location=data["from_location"],
            to_location=data["to_location"],
            type=data["type"],
            quantity=data["quantity"],
            **common,
        )
    elif operation == "obsolete":
        return services.mark_obsolete(location=data["location"], quantity=data["quantity"], **common)
    elif operation == "remove":
        return services.remove_stock(location=data["location"], type=data["type"], quantity=data["quantity"], **common)


@login_required
@permission_required("inventory.change_part", raise_exception=True)
@require_POST
def part_image(request, part_id: int):
    part = _scoped_part(request, part_id)
    form = PartImageForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.set_part_image(part, form.cleaned_data["image"])
        except ValidationError as exc:
            form.add_error("image", exc.messages)
        else:
            messages.success(request, f"Image of {part.sku} updated.")
            return redirect(reverse("inventory:part", args=[part.id]))
    return render(request, "inventory/part.html", _part_context(request, part, image_form=form), status=400)
