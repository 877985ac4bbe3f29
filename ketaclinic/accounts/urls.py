from django.urls import path

from ketaclinic.accounts import policy_views, views

app_name = "accounts"

urlpatterns = [
    path("login/", views.SignInView.as_view(), name="login"),
    path("logout/", views.SignOutView.as_view(), name="logout"),
    path("site/", views.switch_site, name="switch_site"),
    path("two-factor/", views.two_factor, name="two_factor"),
    path("clinical-policy/", policy_views.policy_page, name="policy"),
]
