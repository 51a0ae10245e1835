"""The bill of materials of a part: its lines (edited here), what the stock allows building, and planned builds.

The part page loads this section (htmx); opened directly it is a page of its own.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from bom import selectors
from bom.errors import BomInvalid
from bom.forms import ComponentFormSet, PlanBuildForm
from bom.models import BillOfMaterials
from bom.services import ComponentSpec, check_bom, set_bom
from core.scoping import get_scoped_or_404
from inventory.models import Part, Warehouse
from jobs import planning


def _part(request, part_id: int) -> Part:
    return get_scoped_or_404(Part.objects.select_related("client"), request.user, client_field="client", pk=part_id)


def _initial(part: Part) -> list[dict]:
    bom = BillOfMaterials.objects.filter(product=part).first()
    if bom is None:
        return []
    return [
        {
            "sku": c.part.sku,
            "quantity": str(c.quantity),
            "scrap_percent": f"{c.scrap_percent.normalize():f}",
            "note": c.note,
        }
        for c in bom.components.select_related("part").order_by("position", "id")
    ]


def _specs(formset) -> tuple[list[ComponentSpec], list]:
    """The lines as typed (blank and removed rows left out), and the form of each, in order."""
    specs, forms = [], []
    for form in formset.forms:
        if not form.is_valid() or form.is_blank() or form.cleaned_data.get("DELETE"):
            continue
        data = form.cleaned_data
        specs.append(ComponentSpec(data["sku"].strip(), data["quantity"], data["scrap_percent"] or "0", data["note"]))
        forms.append(form)
    return specs, forms


def _attach(problems, forms) -> list[str]:
    """Each problem on its row's field; the ones of the BOM as a whole returned."""
    general = []
    fields = {"quantity": "quantity", "scrap": "scrap_percent"}
    for problem in problems:
        if 1 <= problem.line <= len(forms):
            forms[problem.line - 1].add_error(fields.get(problem.code, "sku"), problem.message)
        else:
            general.append(problem.message)
    return general


def _context(request, part: Part, *, formset=None, plan_form=None, general=(), checked=False) -> dict:
    can_edit = request.user.has_perm("bom.change_billofmaterials") and part.kind == Part.Kind.IN_HOUSE
    bom = BillOfMaterials.objects.filter(product=part).first()
    components = list(bom.components.select_related("part").order_by("position", "id")) if bom else []
    warehouses = {w.id: w for w in Warehouse.objects.active().order_by("code")}
    per_warehouse = selectors.can_build_per_warehouse([part]) if components else {}
    total = selectors.can_build([part]).get(part.id) if components else None
    rows = [(warehouses[wid], result) for (pid, wid), result in sorted(per_warehouse.items()) if wid in warehouses]
    rows.sort(key=lambda row: row[0].code)
    return {
        "part": part,
        "bom": bom,
        "components": components,
        "can_build_rows": rows,
        "can_build_total": total,
        "can_edit": can_edit,
        "formset": formset if formset is not None else ComponentFormSet(prefix="c", initial=_initial(part)),
        "general_problems": list(general),
        "checked": checked,
        "can_plan": request.user.has_perm("jobs.add_job") and bool(components),
        "plan_form": plan_form or PlanBuildForm(),
    }


def _render(request, part: Part, status: int = 200, **kwargs):
    template = "bom/_section.html" if request.htmx else "bom/page.html"
    return render(request, template, _context(request, part, **kwargs), status=status)


@login_required
@permission_required("bom.view_billofmaterials", raise_exception=True)
@require_http_methods(["GET", "POST"])
def part_bom(request, part_id: int):
    part = _part(request, part_id)
    if request.method == "GET":
        return _render(request, part)
    if not request.user.has_perm("bom.change_billofmaterials"):
        raise PermissionDenied
    formset = ComponentFormSet(request.POST, prefix="c")
    formset.is_valid()
    specs, forms = _specs(formset)
    try:
        set_bom(product=part, components=specs, user=request.user)
    except BomInvalid as exc:
        general = _attach(exc.problems, forms)
        return _render(request, part, status=400, formset=formset, general=general)
    messages.success(
        request, f"Bill of materials of {part.sku} saved: {len(specs)} component{'s' if len(specs) != 1 else ''}."
    )
    return redirect("inventory:part", part_id=part.id)


@login_required
@permission_required("bom.change_billofmaterials", raise_exception=True)
@require_POST
def check(request, part_id: int):
    """Live validation of the editor (htmx): every problem of the lines as typed, nothing saved."""
    part = _part(request, part_id)
    formset = ComponentFormSet(request.POST, prefix="c")
    formset.is_valid()
    specs, forms = _specs(formset)
    try:
        check_bom(product=part, components=specs)
    except BomInvalid as exc:
        return render(request, "bom/_check.html", {"problems": exc.messages})
    return render(request, "bom/_check.html", {"problems": [], "count": len(specs)})


@login_required
@permission_required("jobs.add_job", raise_exception=True)
@require_POST
def plan(request, part_id: int):
    """A planned build of the part: its BOM exploded through sub-assemblies, saved as a Planned job."""
    part = _part(request, part_id)
    form = PlanBuildForm(request.POST)
    if form.is_valid():
        try:
            job = planning.plan_build(
                client=part.client,
                user=request.user,
                product=part,
                warehouse=form.cleaned_data["warehouse"],
                batch_size=form.cleaned_data["batch_size"],
                title=form.cleaned_data["title"],
            )
        except ValidationError as exc:
            for error in exc.messages:
                form.add_error(None, error)
        else:
            messages.success(
                request,
                f"Planned build {job.number} saved: {job.batch_size} × {part.sku} at {job.output_warehouse.code} "
                f"is Planned, its {job.lines.count()} component lines Allocated.",
            )
            return redirect("jobs:detail", pk=job.pk)
    return _render(request, part, status=400, plan_form=form)
