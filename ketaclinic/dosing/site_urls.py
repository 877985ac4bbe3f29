"""Site-level session-day URLs, mounted at /dosing/: the day board, the controlled-substance log, the REMS list."""

from ketaclinic.dosing import board_views, rems_views, stock_views

app_name = "dosing_site"

urlpatterns = [*board_views.urlpatterns, *stock_views.urlpatterns, *rems_views.urlpatterns]
