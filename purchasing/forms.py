"""Purchase order form (header + a formset of lines, parts picked by SKU) and the supplier form."""

from django import forms
from django.forms import formset_factory

from core.models import Client
from core.scoping import clients_for
from inventory.forms import PartLinesFormSet
from inventory.models import Warehouse
from purchasing.models import Supplier
from purchasing.services import LineSpec


class SupplierForm(forms.Form):
    client = forms.ModelChoiceField(queryset=Client.objects.none(), empty_label=None)
    name = forms.CharField(max_length=200)
    code = forms.CharField(max_length=32)
    email = forms.EmailField(required=False)
    lead_time_days = forms.IntegerField(min_value=0, initial=0, label="Lead time (days)")
    is_active = forms.BooleanField(required=False, initial=True, label="Active")

    def __init__(self, *args, user, supplier=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["client"].queryset = clients_for(user)
        if supplier is not None:
            self.fields["client"].disabled = True


class PurchaseOrderForm(forms.Form):
    client = forms.ModelChoiceField(queryset=Client.objects.none(), empty_label=None)
    supplier = forms.ModelChoiceField(queryset=Supplier.objects.none(), empty_label="— supplier —")
    warehouse = forms.ModelChoiceField(queryset=Warehouse.objects.none(), empty_label="— warehouse —")
    expected_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, user, po=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["client"].queryset = clients_for(user)
        self.fields["supplier"].queryset = Supplier.objects.for_user(user).active().select_related("client")
        self.fields["warehouse"].queryset = Warehouse.objects.active()
        if po is not None:
            self.fields["client"].disabled = True

    def clean(self):
        data = super().clean()
        client, supplier = data.get("client"), data.get("supplier")
        if client and supplier and supplier.client_id != client.id:
            self.add_error("supplier", f"{supplier.code} is a supplier of {supplier.client}, not of {client}.")
        return data


class PurchaseOrderLineForm(forms.Form):
    part = forms.CharField(label="Part (SKU)", max_length=100)
    quantity = forms.IntegerField(min_value=1)
    unit_cost = forms.DecimalField(min_value=0, max_digits=12, decimal_places=4, initial=0, label="Unit cost")
    expected_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))


class BasePurchaseOrderLineFormSet(PartLinesFormSet):
    def build_line(self, form, part) -> LineSpec:
        return LineSpec(
            part=part,
            quantity=form.cleaned_data["quantity"],
            unit_cost=form.cleaned_data["unit_cost"],
            expected_date=form.cleaned_data.get("expected_date"),
        )


PurchaseOrderLineFormSet = formset_factory(
    PurchaseOrderLineForm, formset=BasePurchaseOrderLineFormSet, extra=0, can_delete=True
)
