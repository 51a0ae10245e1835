"""Forms of the manual stock operations and the part image upload. Validation only; services write."""

from django import forms

from inventory.images import MAX_IMAGE_BYTES
from inventory.models import Location, Part, StockType, Warehouse

MANUAL_TYPE_CHOICES = [(StockType.AVAILABLE.value, "Available"), (StockType.OBSOLETE.value, "Obsolete")]


class LocationChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.label


def local_locations():
    return (
        Location.objects.filter(warehouse__source=Warehouse.Source.LOCAL, warehouse__is_active=True)
        .select_related("warehouse")
        .order_by("warehouse__code", "code")
    )


class _OperationForm(forms.Form):
    operation: str = ""
    title: str = ""
    submit_label: str = "Save"

    reason = forms.CharField(max_length=300, help_text="Why: shown in the movement history.")

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", self.operation)
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, forms.ModelChoiceField):
                field.queryset = local_locations()
        # The reason comes last, after the fields it explains.
        self.order_fields([name for name in self.fields if name != "reason"] + ["reason"])


class CreateStockForm(_OperationForm):
    operation = "create"
    title = "Receive or count in"
    submit_label = "Add stock"

    location = LocationChoiceField(queryset=Location.objects.none())
    type = forms.ChoiceField(choices=MANUAL_TYPE_CHOICES, initial=StockType.AVAILABLE)
    quantity = forms.IntegerField(min_value=1)


class AdjustStockForm(_OperationForm):
    operation = "adjust"
    title = "Adjust"
    submit_label = "Adjust"

    location = LocationChoiceField(queryset=Location.objects.none())
    type = forms.ChoiceField(choices=MANUAL_TYPE_CHOICES, initial=StockType.AVAILABLE)
    delta = forms.IntegerField(label="Change (+/−)", help_text="Positive adds units, negative takes them away.")

    def clean_delta(self):
        delta = self.cleaned_data["delta"]
        if delta == 0:
            raise forms.ValidationError("The adjustment must not be zero.")
        return delta


class MoveStockForm(_OperationForm):
    operation = "move"
    title = "Move"
    submit_label = "Move"

    from_location = LocationChoiceField(queryset=Location.objects.none(), label="From")
    to_location = LocationChoiceField(queryset=Location.objects.none(), label="To")
    type = forms.ChoiceField(choices=MANUAL_TYPE_CHOICES, initial=StockType.AVAILABLE)
    quantity = forms.IntegerField(min_value=1)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("from_location") and cleaned.get("from_location") == cleaned.get("to_location"):
            self.add_error("to_location", "Choose a different location to move to.")
        return cleaned


class MarkObsoleteForm(_OperationForm):
    operation = "obsolete"
    title = "Mark obsolete"
    submit_label = "Mark obsolete"

    location = LocationChoiceField(queryset=Location.objects.none())
    quantity = forms.IntegerField(min_value=1, help_text="Available units that become Obsolete.")


class RemoveStockForm(_OperationForm):
    operation = "remove"
    title = "Remove"
    submit_label = "Remove"

    location = LocationChoiceField(queryset=Location.objects.none())
    type = forms.ChoiceField(choices=MANUAL_TYPE_CHOICES, initial=StockType.AVAILABLE)
    quantity = forms.IntegerField(min_value=1)


OPERATION_FORMS = {
    form.operation: form
    for form in (CreateStockForm, AdjustStockForm, MoveStockForm, MarkObsoleteForm, RemoveStockForm)
}


class PartImageForm(forms.Form):
    image = forms.FileField(
        help_text=f"PNG, JPEG, WebP or GIF, at most {MAX_IMAGE_BYTES // (1024 * 1024)} MB.",
        widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg,image/webp,image/gif"}),
    )


class PartLinesFormSet(forms.BaseFormSet):
    """Line formsets that name parts by SKU (job lines, purchase order lines).

    `resolve(client)` looks every SKU up for the client in one query, puts each problem next to its
    line, and returns the built lines, or None when any line is bad. Subclasses say what makes two
    lines the same (`line_key`) and what a line becomes (`build_line`).
    """

    def line_key(self, form, part):
        return part.id

    def duplicate_message(self, form, sku: str) -> str:
        return f"{sku} is already on another line."

    def build_line(self, form, part):
        raise NotImplementedError

    def resolve(self, client) -> list | None:
        live = [form for form in self.forms if form.cleaned_data and not self._should_delete_form(form)]
        skus = {form.cleaned_data["part"].strip() for form in live}
        parts = {part.sku: part for part in Part.objects.filter(client=client, sku__in=skus)}
        lines, seen, ok = [], set(), True
        for form in live:
            sku = form.cleaned_data["part"].strip()
            part = parts.get(sku)
            if part is None:
                form.add_error("part", f"No part {sku} for {client}.")
                ok = False
                continue
            key = self.line_key(form, part)
            if key in seen:
                form.add_error("part", self.duplicate_message(form, sku))
                ok = False
                continue
            seen.add(key)
            lines.append(self.build_line(form, part))
        if not live:
            self._non_form_errors = self.error_class(["Add at least one line."])
            ok = False
        return lines if ok else None
