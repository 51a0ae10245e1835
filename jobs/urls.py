from django.urls import path

from jobs import views

app_name = "jobs"

urlpatterns = [
    path("", views.job_list, name="list"),
    path("new/", views.job_form, name="new"),
    path("board/", views.board, name="board"),
    path("board/statuses/", views.board_statuses, name="board-statuses"),
    path("lines/new/", views.line_form, name="line-form"),
    path("lines/from-bom/", views.bom_lines, name="bom-lines"),
    path("availability/", views.availability, name="availability"),
    path("parts/search/", views.part_search, name="part-search"),
    path("<int:pk>/", views.job_detail, name="detail"),
    path("<int:pk>/edit/", views.job_form, name="edit"),
    path("<int:pk>/move/", views.board_move, name="move"),
    path("<int:pk>/reopen/", views.reopen, name="reopen"),
    path("<int:pk>/reserve-now/", views.job_action, {"action": "reserve-now"}, name="reserve-now"),
    path("<int:pk>/release/", views.job_action, {"action": "release"}, name="release"),
    path("<int:pk>/cancel/", views.job_action, {"action": "cancel"}, name="cancel"),
    path("<int:pk>/convert/", views.job_action, {"action": "convert"}, name="convert"),
    path("<int:pk>/cancel-plan/", views.job_action, {"action": "cancel-plan"}, name="cancel-plan"),
]
