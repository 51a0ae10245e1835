"""The job form (header + a formset of lines) and the Done location form. Parts are picked by SKU."""

from django import forms
from django.forms import formset_factory

from bom.models import BillOfMaterials
from core.models import Client
from core.scoping import clients_for
from inventory.forms import PartLinesFormSet
from inventory.models import Location, Part, Warehouse
from jobs.services import LineSpec, OutputSpec


class JobForm(forms.Form):
    client = forms.ModelChoiceField(queryset=Client.objects.none(), empty_label=None)
    title = forms.CharField(max_length=200)
    output_part = forms.CharField(
        required=False,
        label="Output part (in-house SKU)",
        widget=forms.TextInput(attrs={"list": "part-options", "autocomplete": "off"}),
        help_text="Optional: what this job produces. Released jobs show it as In-production.",
    )
    output_warehouse = forms.ModelChoiceField(queryset=Warehouse.objects.none(), required=False)
    batch_size = forms.IntegerField(min_value=1, required=False)
    bom = forms.IntegerField(required=False, widget=forms.HiddenInput)  # set by "Fill lines from BOM"

    def __init__(self, *args, user, job=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["client"].queryset = clients_for(user)
        self.fields["output_warehouse"].queryset = Warehouse.objects.active()
        if job is not None:
            self.fields["client"].disabled = True
        self.output = None

    def clean(self):
        data = super().clean()
        client, sku = data.get("client"), (data.get("output_part") or "").strip()
        warehouse, batch_size = data.get("output_warehouse"), data.get("batch_size")
        if not (sku or warehouse or batch_size):
            return data
        if not (sku and warehouse and batch_size):
            raise forms.ValidationError("An output needs a part, a warehouse and a batch size (or none of them).")
        part = Part.objects.filter(client=client, sku=sku).first() if client else None
        if part is None:
            self.add_error("output_part", f"No part {sku} for {client}.")
        elif part.kind != Part.Kind.IN_HOUSE:
            self.add_error("output_part", f"{sku} is not an in-house part.")
        else:
            bom_id = data.get("bom")
            if bom_id is not None and not BillOfMaterials.objects.filter(pk=bom_id, product=part).exists():
                bom_id = None  # the output changed after the lines were filled: no longer a build from that BOM
            self.output = OutputSpec(part=part, warehouse=warehouse, batch_size=batch_size, bom_id=bom_id)
        return data


class JobLineForm(forms.Form):
    part = forms.CharField(
        label="Part (SKU)",
        max_length=100,
        widget=forms.TextInput(attrs={"list": "part-options", "autocomplete": "off", "class": "part-input"}),
    )
    warehouse = forms.ModelChoiceField(queryset=Warehouse.objects.active(), empty_label="— warehouse —")
    quantity = forms.IntegerField(min_value=1, label="Sheets", widget=forms.NumberInput(attrs={"min": 1}))


class BaseJobLineFormSet(PartLinesFormSet):
    def line_key(self, form, part):
        return (part.id, form.cleaned_data["warehouse"].id)

    def duplicate_message(self, form, sku: str) -> str:
        return f"{sku} at {form.cleaned_data['warehouse'].code} is already on another line."

    def build_line(self, form, part) -> LineSpec:
        return LineSpec(part=part, warehouse=form.cleaned_data["warehouse"], quantity=form.cleaned_data["quantity"])


JobLineFormSet = formset_factory(JobLineForm, formset=BaseJobLineFormSet, extra=0, can_delete=True)


class DoneForm(forms.Form):
    location = forms.ModelChoiceField(queryset=Location.objects.none(), label="Put the output in")

    def __init__(self, *args, warehouse, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = Location.objects.filter(warehouse=warehouse).order_by("code")
