from django.urls import path

from bom import views

app_name = "bom"

urlpatterns = [
    path("parts/<int:part_id>/", views.part_bom, name="part"),
    path("parts/<int:part_id>/check/", views.check, name="check"),
    path("parts/<int:part_id>/plan/", views.plan, name="plan"),
]
