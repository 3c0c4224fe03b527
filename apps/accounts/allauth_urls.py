"""The few django-allauth pages we use, mounted under ``/accounts/``.

allauth's full URLconf would publish its own sign-up, login and password pages, which
know nothing of our registration switches, invite codes, email codes, throttles or
``LOCAL_LOGIN_ENABLED``. Upstream logins start and finish on our documented routes
(``/api/auth/upstream/...``); allauth only needs the pages it sends a browser to in the
middle of one: a cancelled or failed login, the form that completes a sign-up from a
provider (gated by :class:`apps.accounts.adapters.SocialAccountAdapter`) and the
inactive-account page. The names allauth reverses for its own login and sign-up pages
lead to our web login instead.
"""
from __future__ import annotations

from allauth.account import views as account_views
from allauth.socialaccount import views as social_views
from django.urls import path
from django.views.generic.base import RedirectView

web_login = RedirectView.as_view(pattern_name="web-login", query_string=True)

urlpatterns = [
    path("3rdparty/login/cancelled/", social_views.login_cancelled, name="socialaccount_login_cancelled"),
    path("3rdparty/login/error/", social_views.login_error, name="socialaccount_login_error"),
    path("3rdparty/signup/", social_views.signup, name="socialaccount_signup"),
    path("inactive/", account_views.account_inactive, name="account_inactive"),
    path("login/", web_login, name="account_login"),
    path("signup/", web_login, name="account_signup"),
    path("logout/", account_views.logout, name="account_logout"),
]
