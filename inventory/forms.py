"""Forms of the manual stock operations and the part image upload. Validation only; services write."""

from django import forms

from inventory.images import MAX_IMAGE_BYTES
from inventory.models import Location, StockType, Warehouse

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
