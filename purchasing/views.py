"""Purchasing pages: purchase orders (list, form, detail and its actions), suppliers, and the reorder view.

Thin: forms in, one service call, messages out. Everything is scoped to the user's clients (404 elsewhere).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Sum
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.scoping import clients_for, get_scoped_or_404, user_sees_many_clients
from inventory.errors import StockError
from inventory.models import Location, Warehouse
from purchasing import selectors, services
from purchasing.errors import PurchasingError
from purchasing.filters import PurchaseOrderFilter
from purchasing.forms import PurchaseOrderForm, PurchaseOrderLineFormSet, SupplierForm
from purchasing.models import PurchaseOrder, PurchaseOrderPush, Supplier

PAGE_SIZE = 50
REORDER_PAGE_SIZE = 100


def _querystring(params) -> str:
    params = params.copy()
    params.pop("page", None)
    return params.urlencode()


def _form_errors(form, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        for error in errors:
            form.add_error(field if field in form.fields else None, error)


# --- purchase orders ------------------------------------------------------------------------------------------


@login_required
@permission_required("purchasing.view_purchaseorder", raise_exception=True)
@require_GET
def po_list(request):
    queryset = (
        PurchaseOrder.objects.for_user(request.user)
        .select_related("client", "supplier", "warehouse", "push")
        .annotate(line_count=Count("lines"), total_quantity=Sum("lines__quantity"))
        .order_by("-created_at", "-id")
    )
    filterset = PurchaseOrderFilter(request.GET or None, queryset=queryset, request=request)
    orders = filterset.qs if filterset.is_bound and filterset.is_valid() else queryset
    page = Paginator(orders, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "purchasing/list.html",
        {
            "filter": filterset,
            "page_obj": page,
            "orders": page.object_list,
            "querystring": _querystring(request.GET),
            "show_client": user_sees_many_clients(request.user),
        },
    )


def _initial_lines(po: PurchaseOrder) -> list[dict]:
    return [
        {
            "part": line.part.sku,
            "quantity": line.quantity,
            "unit_cost": line.unit_cost,
            "expected_date": line.expected_date,
        }
        for line in po.lines.select_related("part")
    ]


@login_required
@require_http_methods(["GET", "POST"])
def po_form(request, pk=None):
    po = None
    if pk is not None:
        po = get_scoped_or_404(PurchaseOrder.objects.select_related("client"), request.user, pk=pk)
        if not request.user.has_perm("purchasing.change_purchaseorder"):
            raise PermissionDenied
        if not po.is_draft:
            messages.error(request, f"{po.number} is {po.get_state_display()}; only a Draft can be edited.")
            return redirect("purchasing:detail", pk=po.pk)
    elif not request.user.has_perm("purchasing.add_purchaseorder"):
        raise PermissionDenied
    if request.method == "POST":
        form = PurchaseOrderForm(request.POST, user=request.user, po=po, initial={"client": po.client} if po else None)
        formset = PurchaseOrderLineFormSet(request.POST, prefix="lines")
        if form.is_valid() and formset.is_valid():
            client = po.client if po else form.cleaned_data["client"]
            specs = formset.resolve(client)
            if specs is not None:
                try:
                    saved = services.save_purchase_order(
                        client=client,
                        user=request.user,
                        supplier=form.cleaned_data["supplier"],
                        warehouse=form.cleaned_data["warehouse"],
                        lines=specs,
                        expected_date=form.cleaned_data.get("expected_date"),
                        notes=form.cleaned_data.get("notes") or "",
                        po=po,
                    )
                except ValidationError as exc:
                    _form_errors(form, exc)
                except (PurchasingError, StockError) as exc:
                    form.add_error(None, str(exc))
                else:
                    messages.success(request, f"{saved.number} saved as a draft: its lines are Planned.")
                    return redirect("purchasing:detail", pk=saved.pk)
    else:
        initial = {}
        if po is not None:
            initial = {
                "client": po.client,
                "supplier": po.supplier,
                "warehouse": po.warehouse,
                "expected_date": po.expected_date,
                "notes": po.notes,
            }
        else:
            clients = list(clients_for(request.user)[:2])
            if len(clients) == 1:
                initial["client"] = clients[0]
        form = PurchaseOrderForm(initial=initial, user=request.user, po=po)
        lines = _initial_lines(po) if po else [{"quantity": None, "unit_cost": 0}] * 3
        formset = PurchaseOrderLineFormSet(prefix="lines", initial=lines)
    return render(request, "purchasing/form.html", {"po": po, "form": form, "formset": formset})


@login_required
@permission_required("purchasing.view_purchaseorder", raise_exception=True)
@require_GET
def po_detail(request, pk):
    po = get_scoped_or_404(
        PurchaseOrder.objects.select_related("client", "supplier", "warehouse", "created_by"), request.user, pk=pk
    )
    lines = list(po.lines.select_related("part").order_by("id"))
    push = PurchaseOrderPush.objects.filter(po=po).first()
    locations = []
    if po.can_receive:
        locations = list(Location.objects.filter(warehouse=po.warehouse).select_related("warehouse").order_by("code"))
    return render(
        request,
        "purchasing/detail.html",
        {
            "po": po,
            "lines": lines,
            "push": push,
            "locations": locations,
            "default_location_id": next((loc.id for loc in locations if loc.is_default), None),
        },
    )


ACTIONS = {
    "order": ("purchasing.change_purchaseorder", services.order_purchase_order, "{number} ordered: On-Order rose."),
    "cancel": ("purchasing.change_purchaseorder", services.cancel_purchase_order, "{number} cancelled."),
}


@login_required
@require_POST
def po_action(request, pk, action):
    permission, service, text = ACTIONS[action]
    po = get_scoped_or_404(PurchaseOrder.objects.all(), request.user, pk=pk)
    if not request.user.has_perm(permission):
        raise PermissionDenied
    try:
        service(po=po, user=request.user)
    except (PurchasingError, StockError) as exc:
        messages.error(request, str(exc))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, text.format(number=po.number))
    return redirect("purchasing:detail", pk=po.pk)


def _int(value) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() else None


@login_required
@permission_required("purchasing.receive_purchaseorder", raise_exception=True)
@require_POST
def po_receive(request, pk):
    po = get_scoped_or_404(PurchaseOrder.objects.select_related("warehouse"), request.user, pk=pk)
    locations = {loc.id: loc for loc in Location.objects.filter(warehouse_id=po.warehouse_id)}
    receipts, problems = [], []
    for line in po.lines.select_related("part").order_by("id"):
        raw = (request.POST.get(f"quantity-{line.id}") or "").strip()
        if not raw or raw == "0":
            continue
        quantity = _int(raw)
        location = locations.get(_int(request.POST.get(f"location-{line.id}")) or 0)
        if quantity is None:
            problems.append(f"{line.part.sku}: the quantity must be a positive whole number.")
        elif location is None:
            problems.append(f"{line.part.sku}: choose a location in {po.warehouse.code}.")
        else:
            receipts.append(services.Receipt(line_id=line.id, quantity=quantity, location=location))
    if problems:
        messages.error(request, " ".join(problems))
        return redirect("purchasing:detail", pk=po.pk)
    try:
        po = services.receive_purchase_order(po=po, receipts=receipts, user=request.user)
    except (PurchasingError, StockError) as exc:
        messages.error(request, str(exc))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        total = sum(r.quantity for r in receipts)
        messages.success(request, f"Received {total} on {po.number}: now {po.get_state_display()}.")
    return redirect("purchasing:detail", pk=po.pk)


@login_required
@permission_required("purchasing.change_purchaseorder", raise_exception=True)
@require_POST
def retry_push(request, pk):
    po = get_scoped_or_404(PurchaseOrder.objects.all(), request.user, pk=pk)
    push = PurchaseOrderPush.objects.filter(po=po).first()
    if push is not None and services.retry_push(push=push):
        messages.success(request, f"{po.number} queued for Allocadence again.")
    else:
        messages.error(request, f"{po.number} has no failed push to retry.")
    return redirect("purchasing:detail", pk=po.pk)


# --- suppliers ------------------------------------------------------------------------------------------------


@login_required
@permission_required("purchasing.view_supplier", raise_exception=True)
@require_GET
def supplier_list(request):
    suppliers = Supplier.objects.for_user(request.user).select_related("client").order_by("name", "id")
    q = (request.GET.get("q") or "").strip()
    if q:
        suppliers = suppliers.filter(name__icontains=q) | suppliers.filter(code__icontains=q)
    page = Paginator(suppliers, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "purchasing/suppliers.html",
        {
            "page_obj": page,
            "suppliers": page.object_list,
            "q": q,
            "querystring": _querystring(request.GET),
            "show_client": user_sees_many_clients(request.user),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def supplier_form(request, pk=None):
    supplier = None
    if pk is not None:
        supplier = get_scoped_or_404(Supplier.objects.all(), request.user, pk=pk)
        if not request.user.has_perm("purchasing.change_supplier"):
            raise PermissionDenied
    elif not request.user.has_perm("purchasing.add_supplier"):
        raise PermissionDenied
    initial = {}
    if supplier is not None:
        fields = ("client", "name", "code", "email", "lead_time_days", "is_active")
        initial = {field: getattr(supplier, field) for field in fields}
    form = SupplierForm(request.POST or None, user=request.user, supplier=supplier, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            saved = services.save_supplier(
                client=supplier.client if supplier else data["client"],
                name=data["name"],
                code=data["code"],
                email=data.get("email") or "",
                lead_time_days=data.get("lead_time_days") or 0,
                is_active=data.get("is_active", False),
                supplier=supplier,
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, f"Supplier {saved.code} saved.")
            return redirect("purchasing:suppliers")
    return render(request, "purchasing/supplier_form.html", {"form": form, "supplier": supplier})


# --- reorder --------------------------------------------------------------------------------------------------


@login_required
@permission_required("purchasing.view_purchaseorder", raise_exception=True)
@require_http_methods(["GET", "POST"])
def reorder(request):
    """Parts with a negative Stock Balance over all warehouses, and draft POs for the chosen ones."""
    if request.method == "POST":
        if not request.user.has_perm("purchasing.add_purchaseorder"):
            raise PermissionDenied
        return _create_reorders(request)
    for_planned_builds = request.GET.get("for") == "planned-builds"
    levels = (
        selectors.planned_build_levels(request.user) if for_planned_builds else selectors.reorder_levels(request.user)
    )
    page = Paginator(levels, REORDER_PAGE_SIZE).get_page(request.GET.get("page"))
    candidates = selectors.reorder_candidates(page.object_list, for_planned_builds=for_planned_builds)
    client_ids = {c.level.part.client_id for c in candidates}
    suppliers = list(selectors.suppliers_for(request.user, client_ids=client_ids)) if client_ids else []
    warehouses = {w.id: w for w in Warehouse.objects.active()}
    fallback = next((w for w in warehouses.values() if not w.is_allocadence), None)
    for candidate in candidates:
        candidate.suppliers = [s for s in suppliers if s.client_id == candidate.level.part.client_id]
        candidate.warehouse = warehouses.get(candidate.warehouse_id) or fallback
    return render(
        request,
        "purchasing/reorder.html",
        {
            "candidates": candidates,
            "for_planned_builds": for_planned_builds,
            "page_obj": page,
            "querystring": _querystring(request.GET),
            "show_client": user_sees_many_clients(request.user),
        },
    )


def _create_reorders(request):
    part_ids = [int(value) for value in request.POST.getlist("part") if value.isdigit()]
    parts = {part.id: part for part in selectors.parts_for(request.user, part_ids)}
    client_ids = {part.client_id for part in parts.values()}
    suppliers = {s.id: s for s in selectors.suppliers_for(request.user, client_ids=client_ids)}
    warehouses = {w.id: w for w in Warehouse.objects.active()}
    lines, problems = [], []
    for part_id in part_ids:
        part = parts.get(part_id)
        if part is None:
            continue
        supplier = suppliers.get(_int(request.POST.get(f"supplier-{part_id}")) or 0)
        warehouse = warehouses.get(_int(request.POST.get(f"warehouse-{part_id}")) or 0)
        quantity = _int(request.POST.get(f"quantity-{part_id}"))
        if supplier is None or supplier.client_id != part.client_id:
            problems.append(f"{part.sku}: choose a supplier.")
        elif warehouse is None:
            problems.append(f"{part.sku}: choose a warehouse.")
        elif not quantity:
            problems.append(f"{part.sku}: the quantity must be at least 1.")
        else:
            lines.append(services.ReorderLine(part=part, supplier=supplier, warehouse=warehouse, quantity=quantity))
    if problems or not lines:
        messages.error(request, " ".join(problems) or "Choose at least one part to reorder.")
        return redirect("purchasing:reorder")
    try:
        created = services.create_reorder_purchase_orders(user=request.user, lines=lines)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("purchasing:reorder")
    messages.success(request, f"{len(created)} draft purchase order(s) created.")
    orders = (
        PurchaseOrder.objects.filter(id__in=[po.id for po in created])
        .select_related("client", "supplier", "warehouse")
        .annotate(line_count=Count("lines"), total_quantity=Sum("lines__quantity"))
        .order_by("id")
    )
    return render(request, "purchasing/reorder_done.html", {"orders": orders})
