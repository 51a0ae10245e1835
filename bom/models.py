from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from inventory.models import Part


class BillOfMaterialsQuerySet(models.QuerySet):
    def for_products(self, product_ids):
        return self.filter(product_id__in=product_ids)


class BillOfMaterials(models.Model):
    """What one unit of an in-house part is built from. Written only by `bom.services.set_bom`."""

    product = models.OneToOneField(Part, on_delete=models.CASCADE, related_name="bom")
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = BillOfMaterialsQuerySet.as_manager()

    class Meta:
        verbose_name = "bill of materials"
        verbose_name_plural = "bills of materials"
        ordering = ["product__sku"]

    def __str__(self):
        return f"BOM of {self.product}"


class BomComponent(models.Model):
    bom = models.ForeignKey(BillOfMaterials, on_delete=models.CASCADE, related_name="components")
    part = models.ForeignKey(Part, on_delete=models.PROTECT, related_name="used_in")
    quantity = models.PositiveIntegerField(help_text="Per unit of the product.")
    scrap_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("99.99"))],
        help_text="Extra consumed as waste: a unit needs quantity × (1 + scrap % / 100).",
    )
    note = models.CharField(max_length=200, blank=True, help_text="Reference designator or note.")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["bom", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["bom", "part"], name="bomcomponent_unique_part"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="bomcomponent_quantity_positive"),
            models.CheckConstraint(
                condition=Q(scrap_percent__gte=0) & Q(scrap_percent__lt=100), name="bomcomponent_scrap_range"
            ),
        ]

    def __str__(self):
        return f"{self.quantity} × {self.part_id}"
