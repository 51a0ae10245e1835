from django import forms

from channels.models import Channel, SkuMapping
from inventory.models import Part


class SkuMappingForm(forms.Form):
    """A mapping's fields; the part is given by SKU (a client may have tens of thousands of parts)."""

    channel = forms.ModelChoiceField(queryset=Channel.objects.none(), empty_label=None)
    sku = forms.CharField(label="Part SKU", max_length=100)
    channel_sku = forms.CharField(label="Channel SKU", max_length=100)
    channel_product_id = forms.CharField(
        label="Channel product id",
        max_length=100,
        required=False,
        help_text="Listing id, FSN, ASIN or Shopify inventory item id.",
    )
    buffer_override = forms.IntegerField(
        label="Buffer", min_value=0, required=False, help_text="Replaces the channel's buffer stock for this part."
    )
    back_order_quantity = forms.IntegerField(label="Back-order quantity", min_value=0, initial=0)
    is_active = forms.BooleanField(label="Active", required=False, initial=True)

    def __init__(self, *args, user, mapping: SkuMapping | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.mapping = mapping
        self.fields["channel"].queryset = Channel.objects.for_user(user).order_by("name", "id")
        if mapping is not None:
            self.fields["channel"].disabled = True
            self.fields["channel"].help_text = "A mapping stays on its channel; create another for a second channel."

    def clean(self):
        cleaned = super().clean()
        channel, sku = cleaned.get("channel"), cleaned.get("sku")
        if channel is not None and sku:
            part = Part.objects.filter(client_id=channel.client_id, sku=sku).first()
            if part is None:
                self.add_error("sku", f"No part with SKU {sku} for {channel.client}.")
            else:
                cleaned["part"] = part
        return cleaned

    @classmethod
    def initial_for(cls, mapping: SkuMapping) -> dict:
        return {
            "channel": mapping.channel_id,
            "sku": mapping.part.sku,
            "channel_sku": mapping.channel_sku,
            "channel_product_id": mapping.channel_product_id,
            "buffer_override": mapping.buffer_override,
            "back_order_quantity": mapping.back_order_quantity,
            "is_active": mapping.is_active,
        }

    def mapping_fields(self) -> dict:
        keys = ("channel_sku", "channel_product_id", "buffer_override", "back_order_quantity", "is_active")
        return {key: self.cleaned_data[key] for key in keys}
