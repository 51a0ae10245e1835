from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet

from bom.errors import BomInvalid
from bom.models import BillOfMaterials, BomComponent
from bom.services import ComponentSpec, check_bom


class BomComponentFormSet(BaseInlineFormSet):
    """Runs the same checks as `set_bom` (in-house product, duplicates, cycles) over the lines as edited."""

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        specs = [
            ComponentSpec(
                sku=form.cleaned_data["part"].sku,
                quantity=form.cleaned_data["quantity"],
                scrap_percent=form.cleaned_data.get("scrap_percent"),
                note=form.cleaned_data.get("note", ""),
            )
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE") and form.cleaned_data.get("part")
        ]
        try:
            check_bom(product=self.instance.product, components=specs)
        except BomInvalid as error:
            raise ValidationError(error.messages) from error


class BomComponentInline(admin.TabularInline):
    model = BomComponent
    formset = BomComponentFormSet
    extra = 1
    fields = ["position", "part", "quantity", "scrap_percent", "note"]
    raw_id_fields = ["part"]


@admin.register(BillOfMaterials)
class BillOfMaterialsAdmin(admin.ModelAdmin):
    list_display = ["product", "updated_at", "updated_by"]
    search_fields = ["product__sku"]
    raw_id_fields = ["product"]
    readonly_fields = ["updated_at", "updated_by"]
    list_select_related = ["product", "updated_by"]
    inlines = [BomComponentInline]
