"""The part page's BOM line editor and the plan-a-build form. Values are checked by `bom.services.check_bom`."""

from django import forms
from django.forms import formset_factory

from inventory.models import Warehouse


class ComponentForm(forms.Form):
    sku = forms.CharField(max_length=100, required=False, label="Component (SKU)")
    quantity = forms.CharField(max_length=20, required=False, label="Per unit")
    scrap_percent = forms.CharField(max_length=10, required=False, label="Scrap %")
    note = forms.CharField(max_length=200, required=False, label="Note / reference")

    def is_blank(self) -> bool:
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        return not any((data.get(name) or "").strip() for name in ("sku", "quantity", "scrap_percent", "note"))


ComponentFormSet = formset_factory(ComponentForm, extra=3, can_delete=True)


class PlanBuildForm(forms.Form):
    warehouse = forms.ModelChoiceField(queryset=Warehouse.objects.none(), empty_label=None)
    batch_size = forms.IntegerField(min_value=1, max_value=1_000_000, label="Batch size")
    title = forms.CharField(max_length=200, required=False, help_text="Optional: “Build N × SKU” when empty.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["warehouse"].queryset = Warehouse.objects.active().order_by("code")
