from django.urls import path

from purchasing import views

app_name = "purchasing"

urlpatterns = [
    path("", views.po_list, name="list"),
    path("new/", views.po_form, name="new"),
    path("reorder/", views.reorder, name="reorder"),
    path("suppliers/", views.supplier_list, name="suppliers"),
    path("suppliers/new/", views.supplier_form, name="supplier-new"),
    path("suppliers/<int:pk>/edit/", views.supplier_form, name="supplier-edit"),
    path("<int:pk>/", views.po_detail, name="detail"),
    path("<int:pk>/edit/", views.po_form, name="edit"),
    path("<int:pk>/order/", views.po_action, {"action": "order"}, name="order"),
    path("<int:pk>/cancel/", views.po_action, {"action": "cancel"}, name="cancel"),
    path("<int:pk>/receive/", views.po_receive, name="receive"),
    path("<int:pk>/retry-push/", views.retry_push, name="retry-push"),
]
