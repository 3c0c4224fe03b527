"""The account paths: sign-in and profile of all five APIs (``api.auth``), the admin console
(``api.console``), and API keys for programs (``api.keys``)."""
from apps.accounts.api.auth.urls import urlpatterns as auth_urlpatterns
from apps.accounts.api.console.urls import urlpatterns as console_urlpatterns
from apps.accounts.api.keys.urls import urlpatterns as keys_urlpatterns

urlpatterns = auth_urlpatterns + console_urlpatterns + keys_urlpatterns
