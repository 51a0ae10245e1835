from django.urls import path

from core import views

urlpatterns = [
    path("system/", views.system, name="system"),
    path("account/", views.account, name="account"),
    path("account/tokens/", views.account_tokens, name="account-tokens"),
    path("tokens/", views.api_tokens, name="api-tokens"),
    path("tokens/<int:pk>/revoke/", views.revoke_token, name="revoke-token"),
    path("healthz/", views.healthz, name="healthz"),
]
