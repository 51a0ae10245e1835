from jobs.models import ProductionStage
from jobs.stages import ensure_default_stages


def test_ensure_default_stages_fills_an_empty_table(db):
    ProductionStage.objects.all().delete()

    created = ensure_default_stages()

    assert created == 3
    assert list(ProductionStage.objects.order_by("position").values_list("name", "position")) == [
        ("Cutting", 10),
        ("Printing", 20),
        ("Finishing", 30),
    ]


def test_ensure_default_stages_leaves_an_admins_list_alone(db):
    ProductionStage.objects.all().delete()
    ProductionStage.objects.create(name="Laminating", position=5, is_active=False)

    created = ensure_default_stages()

    assert created == 0
    assert list(ProductionStage.objects.values_list("name", flat=True)) == ["Laminating"]
