from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from core.scoping import get_scoped_or_404, scope_to_user
from imports.engine import Importer, all_importers, get_importer
from imports.forms import UploadForm
from imports.models import ImportBatch
from imports.services import BACKGROUND_ROWS, apply_import, preview_import, queue_import, queue_stale_import

ERRORS_PER_PAGE = 200


def _importers_for(user) -> list[Importer]:
    """The importers the user may use; none at all is a 403 on every import page."""
    importers = [importer for importer in all_importers() if user.has_perm(importer.permission)]
    if not importers:
        raise PermissionDenied("You may not import CSV files.")
    return importers


def _batch_for(request, pk: int) -> tuple[ImportBatch, Importer]:
    allowed = {importer.kind: importer for importer in _importers_for(request.user)}
    batch = get_scoped_or_404(ImportBatch.objects.select_related("client", "created_by"), request.user, pk=pk)
    try:
        importer = get_importer(batch.kind)
    except KeyError as exc:
        raise Http404("This kind of import no longer exists.") from exc
    if batch.kind not in allowed:
        raise PermissionDenied("You may not use this importer.")
    return batch, importer


@login_required
def upload(request):
    importers = _importers_for(request.user)
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES, user=request.user, importers=importers)
        if form.is_valid():
            batch = preview_import(
                kind=form.cleaned_data["kind"],
                client=form.cleaned_data["client"],
                user=request.user,
                uploaded_file=form.cleaned_data["file"],
            )
            return redirect("imports:preview", pk=batch.pk)
    else:
        initial = {key: request.GET[key] for key in ("kind", "client") if request.GET.get(key)}
        form = UploadForm(initial=initial, user=request.user, importers=importers)
    return render(request, "imports/upload.html", {"form": form, "importers": importers})


@login_required
def batch_list(request):
    _importers_for(request.user)
    batches = scope_to_user(ImportBatch.objects.select_related("client", "created_by"), request.user).latest_first()
    page = Paginator(batches, 50).get_page(request.GET.get("page"))
    labels = {importer.kind: importer.label for importer in all_importers()}
    for batch in page:
        batch.kind_label = labels.get(batch.kind, batch.kind)
    return render(request, "imports/list.html", {"page_obj": page})


@login_required
def preview(request, pk: int):
    batch, importer = _batch_for(request, pk)
    errors = Paginator(batch.errors, ERRORS_PER_PAGE).get_page(request.GET.get("page"))
    problems: dict[int, list[str]] = {}
    for error in batch.errors:
        problems.setdefault(error["row"], []).append(
            f"{error['column']}: {error['reason']}" if error["column"] else error["reason"]
        )
    changes = (batch.preview or {}).get("changes") or {}
    preview_rows = [
        {**row, "problems": problems.get(row["line"], []), "change": changes.get(str(row["line"]), "")}
        for row in (batch.preview or {}).get("rows", [])
    ]
    context = {
        "preview_rows": preview_rows,
        "show_changes": bool(changes),
        "batch": batch,
        "importer": importer,
        "errors_page": errors,
        "background": batch.row_count > BACKGROUND_ROWS,
    }
    return render(request, "imports/preview.html", context)


@login_required
def progress(request, pk: int):
    batch, importer = _batch_for(request, pk)
    response = render(request, "imports/_progress.html", {"batch": batch, "importer": importer})
    if request.htmx and not batch.is_running:
        # Finished: reload the whole page so a failure's errors and the summary show in full.
        response["HX-Refresh"] = "true"
    return response


@login_required
@require_POST
def apply(request, pk: int):
    batch, _importer = _batch_for(request, pk)
    if batch.is_stale:
        messages.info(request, f"Import #{batch.pk} stopped without finishing; it is applied again in the background.")
        queue_stale_import(batch=batch, user=request.user)
        return redirect("imports:preview", pk=batch.pk)
    if not batch.can_apply:
        messages.error(request, "This import cannot be applied (it has errors or was already applied).")
        return redirect("imports:preview", pk=batch.pk)
    if batch.row_count > BACKGROUND_ROWS:
        if queue_import(batch=batch, user=request.user):
            messages.info(request, f"Import #{batch.pk} is being applied in the background.")
        return redirect("imports:preview", pk=batch.pk)
    batch = apply_import(batch.pk, request.user)
    if batch.status == ImportBatch.Status.APPLIED:
        messages.success(request, f"Import #{batch.pk} applied.")
    elif batch.status == ImportBatch.Status.FAILED:
        messages.error(request, f"Import #{batch.pk} failed; nothing was applied.")
    return redirect("imports:preview", pk=batch.pk)
