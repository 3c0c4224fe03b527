"""The documented billing paths: 003's credits, 004's billing, its Polar webhook, welcome email and flags."""
from django.urls import path

from apps.billing.api import views

urlpatterns = [
    path("api/v1/agent/credits/balance", views.CreditBalanceApi.as_view(), name="credits-balance"),
    path("api/v1/agent/credits/usage", views.CreditUsageApi.as_view(), name="credits-usage"),
    path("api/v1/agent/credits/add", views.CreditAddApi.as_view(), name="credits-add"),
    path("api/billing/status", views.BillingStatusApi.as_view(), name="billing-status"),
    path("api/billing/subscription", views.BillingSubscriptionApi.as_view(), name="billing-subscription"),
    path("api/billing/usage-history", views.BillingUsageHistoryApi.as_view(), name="billing-usage-history"),
    path("api/billing/plans", views.BillingPlansApi.as_view(), name="billing-plans"),
    path("api/billing/create-checkout-session", views.BillingCheckoutApi.as_view(), name="billing-checkout"),
    path("api/billing/upgrade-plan", views.BillingUpgradePlanApi.as_view(), name="billing-upgrade-plan"),
    path("api/billing/openrouter-key", views.OpenRouterKeyApi.as_view(), name="billing-openrouter-key"),
    path("api/billing/openrouter-key/status", views.OpenRouterKeyStatusApi.as_view(), name="billing-openrouter-key-status"),
    path("api/billing/openrouter-key/test", views.OpenRouterKeyTestApi.as_view(), name="billing-openrouter-key-test"),
    path("api/billing/payment-methods/regions", views.PaymentRegionsApi.as_view(), name="payment-regions"),
    path("api/billing/payment-methods/all", views.PaymentMethodsAllApi.as_view(), name="payment-methods-all"),
    path("api/billing/payment-methods/region/<str:country_code>", views.PaymentMethodsRegionApi.as_view(),
         name="payment-methods-region"),
    path("api/billing/payment-methods/validate", views.PaymentMethodValidateApi.as_view(), name="payment-methods-validate"),
    path("api/billing/payment-methods/presets", views.PaymentPresetsApi.as_view(), name="payment-methods-presets"),
    path("api/billing/payment-methods/detect", views.PaymentDetectApi.as_view(), name="payment-methods-detect"),
    path("api/billing/admin/reset-quotas", views.QuotaResetApi.as_view(), name="billing-admin-reset-quotas"),
    path("api/billing/admin/quota-status", views.QuotaStatusApi.as_view(), name="billing-admin-quota-status"),
    path("api/billing/admin/openrouter-cache/info", views.OpenRouterCacheInfoApi.as_view(), name="openrouter-cache-info"),
    path("api/billing/admin/openrouter-cache/warm", views.OpenRouterCacheWarmApi.as_view(), name="openrouter-cache-warm"),
    path("api/billing/admin/openrouter-cache/clear", views.OpenRouterCacheClearApi.as_view(),
         name="openrouter-cache-clear"),
    path("api/webhooks/polar", views.PolarWebhookApi.as_view(), name="webhook-polar"),
    path("api/send-welcome-email", views.WelcomeEmailApi.as_view(), name="send-welcome-email"),
    path("api/feature-flags", views.FeatureFlagListApi.as_view(), name="feature-flags"),
    path("api/feature-flags/<str:flag_name>", views.FeatureFlagDetailApi.as_view(), name="feature-flag"),
]
