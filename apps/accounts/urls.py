"""The documented account paths of all five APIs: sign-in and profile (``api.auth``), the admin console (``api.console``)."""
from apps.accounts.api.auth.urls import urlpatterns as auth_urlpatterns
from apps.accounts.api.console.urls import urlpatterns as console_urlpatterns

urlpatterns = auth_urlpatterns + console_urlpatterns
