from django.urls import path

from inventory import views

app_name = "inventory"

urlpatterns = [
    path("", views.inventory_list, name="list"),
    path("export/", views.inventory_export, name="export"),
    path("parts/<int:part_id>/", views.part_detail, name="part"),
    path("parts/<int:part_id>/image/", views.part_image, name="part-image"),
    path("parts/<int:part_id>/<slug:operation>/", views.part_operation, name="part-operation"),
]
