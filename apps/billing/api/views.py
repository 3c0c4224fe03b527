"""Thin views of every billing route: 003's credits, 004's billing, the Polar webhook, the welcome
email and the feature flags. Each parses, calls one service or selector, and shapes the answer."""
from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from apps.billing import byok, openrouter, payment_methods, polar, selectors, services
from apps.billing.api import serializers as s
from apps.billing.api.permissions import HasBillingAdminKey
from apps.core.api.views import AdminApiView, PlatformApiView
from apps.core.permissions import IsAdminUser


def _valid(serializer_class: type, data: object) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# ------------------------------------------------------------------------------
# 003 — /api/v1/agent/credits/*
# ------------------------------------------------------------------------------
class CreditBalanceApi(AdminApiView):
    @extend_schema(responses=s.BalanceSerializer, tags=["credits"])
    def get(self, request: Request) -> Response:
        return Response(s.BalanceSerializer(selectors.balance(user=request.user)).data)


class CreditUsageApi(AdminApiView):
    @extend_schema(parameters=[s.SessionUsageQuerySerializer], responses=s.SessionUsageSerializer, tags=["credits"])
    def get(self, request: Request) -> Response:
        query = _valid(s.SessionUsageQuerySerializer, request.query_params)
        return Response(s.SessionUsageSerializer(selectors.session_usage(user=request.user, **query)).data)


class CreditAddApi(AdminApiView):
    permission_classes = [IsAdminUser]

    @extend_schema(request=s.CreditsAddSerializer, responses=s.BalanceSerializer, tags=["credits"])
    def post(self, request: Request) -> Response:
        data = _valid(s.CreditsAddSerializer, request.data)
        user = selectors.user_get(user_id=data["user_id"])
        entry = services.credits_add(
            user=user, amount=data["amount"], kind=data["kind"], bonus=data["bonus"] or data["kind"] == "bonus",
            reason=data["reason"] or f"Added by {request.user.username}", actor=request.user,
            idempotency_key=data.get("idempotency_key"),
        )
        body = s.BalanceSerializer(selectors.balance(user=user)).data
        return Response({**body, "entry_id": entry.pk, "amount": entry.amount}, status=201)


# ------------------------------------------------------------------------------
# 004 — /api/billing/*
# ------------------------------------------------------------------------------
class BillingStatusApi(PlatformApiView):
    @extend_schema(tags=["billing"], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        return Response(selectors.billing_status(user=request.user))


class BillingSubscriptionApi(PlatformApiView):
    @extend_schema(tags=["billing"], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        subscription = selectors.subscription_of(user=request.user)
        return Response({
            "subscription": s.SubscriptionSerializer(subscription).data if subscription else None,
            "status": subscription.status if subscription else "none",
            "balance": s.BalanceSerializer(selectors.balance(user=request.user)).data,
        })


class BillingUsageHistoryApi(PlatformApiView):
    @extend_schema(parameters=[s.UsageHistoryQuerySerializer], tags=["billing"], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        query = _valid(s.UsageHistoryQuerySerializer, request.query_params)
        return Response(selectors.usage_history(user=request.user, **query))


class BillingPlansApi(PlatformApiView):
    @extend_schema(responses=s.PlanSerializer(many=True), tags=["billing"])
    def get(self, request: Request) -> Response:
        subscription = selectors.subscription_of(user=request.user)
        current = subscription.plan.slug if subscription and subscription.is_live else None
        plans = s.PlanSerializer(selectors.plan_list(), many=True).data
        return Response({"plans": [{**plan, "is_current": plan["id"] == current} for plan in plans],
                         "current_plan": current})


class BillingCheckoutApi(PlatformApiView):
    @extend_schema(request=s.PlanChoiceSerializer, tags=["billing"], responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        data = _valid(s.PlanChoiceSerializer, request.data)
        plan = selectors.plan_get(plan_id=data["plan_id"])
        return Response(polar.checkout_create(user=request.user, plan=plan, success_url=data["success_url"]))


class BillingUpgradePlanApi(PlatformApiView):
    @extend_schema(request=s.PlanChoiceSerializer, tags=["billing"], responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        data = _valid(s.PlanChoiceSerializer, request.data)
        plan = selectors.plan_get(plan_id=data["plan_id"])
        return Response(polar.plan_change(user=request.user, plan=plan, success_url=data["success_url"]))


class OpenRouterKeyApi(PlatformApiView):
    @extend_schema(request=s.OpenRouterKeySerializer, tags=["billing"], responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        data = _valid(s.OpenRouterKeySerializer, request.data)
        byok.openrouter_key_set(user=request.user, api_key=data["api_key"], model=data["model"])
        return Response({"success": True, **selectors.openrouter_key_status(user=request.user)}, status=201)

    @extend_schema(tags=["billing"], responses=OpenApiTypes.OBJECT)
    def delete(self, request: Request) -> Response:
        byok.openrouter_key_delete(user=request.user)
        return Response({"success": True, "has_key": False})


class OpenRouterKeyStatusApi(PlatformApiView):
    @extend_schema(tags=["billing"], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        return Response(selectors.openrouter_key_status(user=request.user))


class OpenRouterKeyTestApi(PlatformApiView):
    @extend_schema(request=None, tags=["billing"], responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        return Response(byok.openrouter_key_test(user=request.user))


class PaymentRegionsApi(PlatformApiView):
    @extend_schema(tags=["billing"], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        return Response({"regions": payment_methods.regions()})


class PaymentMethodsAllApi(PlatformApiView):
    @extend_schema(tags=["billing"], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        return Response({"methods": payment_methods.all_methods()})


class PaymentMethodsRegionApi(PlatformApiView):
    @extend_schema(tags=["billing"], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, country_code: str) -> Response:
        return Response(payment_methods.for_country(country=country_code))


class PaymentMethodValidateApi(PlatformApiView):
    @extend_schema(request=s.PaymentMethodValidateSerializer, tags=["billing"], responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        data = _valid(s.PaymentMethodValidateSerializer, request.data)
        return Response(payment_methods.validate(method=data["method"], country=data["country_code"],
                                                 currency=data["currency"], recurring=data["recurring"]))


class PaymentPresetsApi(PlatformApiView):
    @extend_schema(tags=["billing"], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        return Response({"presets": payment_methods.presets()})


class PaymentDetectApi(PlatformApiView):
    @extend_schema(tags=["billing"], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        return Response(payment_methods.detect(headers=request.headers))


class _BillingAdminApi(PlatformApiView):
    authentication_classes: list = []
    permission_classes = [HasBillingAdminKey]


class QuotaResetApi(_BillingAdminApi):
    @extend_schema(request=s.UserIdsSerializer, tags=["billing-admin"], responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        data = _valid(s.UserIdsSerializer, request.data)
        entries = services.quotas_reset(user_ids=data.get("user_ids"))
        return Response({"reset": len(entries), "users": [entry.user_id for entry in entries]})


class QuotaStatusApi(_BillingAdminApi):
    @extend_schema(tags=["billing-admin"], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        ids = request.query_params.getlist("user_id")
        data = _valid(s.UserIdsSerializer, {"user_ids": ids} if ids else {})
        return Response(selectors.quota_status(user_ids=data.get("user_ids")))


class OpenRouterCacheInfoApi(_BillingAdminApi):
    @extend_schema(tags=["billing-admin"], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        return Response(openrouter.cache_info())


class OpenRouterCacheWarmApi(_BillingAdminApi):
    @extend_schema(request=None, tags=["billing-admin"], responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        return Response(openrouter.cache_warm())


class OpenRouterCacheClearApi(_BillingAdminApi):
    @extend_schema(request=None, tags=["billing-admin"], responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        return Response(openrouter.cache_clear())


# ------------------------------------------------------------------------------
# 004 — webhook, welcome email, feature flags
# ------------------------------------------------------------------------------
class PolarWebhookApi(PlatformApiView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(request=OpenApiTypes.OBJECT, tags=["webhooks"], responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        event = polar.webhook_verify(body=request.body, headers=request.headers)
        return Response(polar.webhook_handle(event=event))


class WelcomeEmailApi(PlatformApiView):
    @extend_schema(request=s.WelcomeEmailSerializer, tags=["accounts"], responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        data = _valid(s.WelcomeEmailSerializer, request.data)
        sent = services.welcome_email_send(user=request.user, email=data.get("email"), name=data.get("name"))
        return Response({"success": True, "sent": sent, "email": request.user.email,
                         "message": "Welcome email sent." if sent else "The welcome email was already sent."})


class FeatureFlagListApi(PlatformApiView):
    @extend_schema(tags=["feature-flags"], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        return Response(selectors.flag_list(user=request.user))


class FeatureFlagDetailApi(PlatformApiView):
    @extend_schema(tags=["feature-flags"], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, flag_name: str) -> Response:
        return Response(selectors.flag_get(user=request.user, flag_name=flag_name))
