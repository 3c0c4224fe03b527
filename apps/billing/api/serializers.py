"""Input and output shapes of the billing routes (003 credits, 004 billing, webhooks, flags)."""
from __future__ import annotations

from rest_framework import serializers

from apps.billing.models import Plan, Subscription

Money = dict(max_digits=20, decimal_places=8, coerce_to_string=False)


class BalanceSerializer(serializers.Serializer):
    user_id = serializers.CharField()
    credits = serializers.DecimalField(**Money)
    bonus_credits = serializers.DecimalField(**Money)
    total_credits = serializers.DecimalField(**Money)
    updated_at = serializers.DateTimeField()


class SessionUsageQuerySerializer(serializers.Serializer):
    page = serializers.IntegerField(min_value=1, default=1)
    per_page = serializers.IntegerField(min_value=1, max_value=100, default=20)


class SessionCreditsSerializer(serializers.Serializer):
    session_id = serializers.CharField()
    session_title = serializers.CharField(allow_blank=True)
    credits = serializers.DecimalField(**Money)
    updated_at = serializers.DateTimeField()


class SessionUsageSerializer(serializers.Serializer):
    sessions = SessionCreditsSerializer(many=True)
    total = serializers.IntegerField()
    page = serializers.IntegerField()
    per_page = serializers.IntegerField()


class CreditsAddSerializer(serializers.Serializer):
    user_id = serializers.UUIDField()
    amount = serializers.DecimalField(max_digits=20, decimal_places=8)
    bonus = serializers.BooleanField(default=False)
    kind = serializers.ChoiceField(choices=["grant", "purchase", "bonus", "refund", "adjust"], default="grant")
    reason = serializers.CharField(max_length=500, allow_blank=True, default="")
    idempotency_key = serializers.CharField(max_length=200, required=False)


class UsageHistoryQuerySerializer(serializers.Serializer):
    start_date = serializers.CharField(required=False)
    end_date = serializers.CharField(required=False)
    model = serializers.CharField(required=False, max_length=200)


class PlanSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="slug")
    price = serializers.DecimalField(max_digits=10, decimal_places=2, coerce_to_string=False)
    monthly_credits = serializers.DecimalField(**Money)

    class Meta:
        model = Plan
        fields = ["id", "name", "description", "price", "currency", "monthly_credits", "limits"]


class SubscriptionSerializer(serializers.ModelSerializer):
    plan = PlanSerializer()

    class Meta:
        model = Subscription
        fields = ["plan", "status", "current_period_start", "current_period_end", "cancel_at_period_end",
                  "external_id", "created_at", "updated_at"]


class PlanChoiceSerializer(serializers.Serializer):
    plan_id = serializers.CharField(max_length=100)
    success_url = serializers.URLField(required=False, allow_blank=True, default="")


class OpenRouterKeySerializer(serializers.Serializer):
    api_key = serializers.CharField(max_length=500, trim_whitespace=True)
    model = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class PaymentMethodValidateSerializer(serializers.Serializer):
    method = serializers.CharField(max_length=50)
    country_code = serializers.CharField(max_length=2, min_length=2)
    currency = serializers.CharField(max_length=3, required=False, allow_blank=True, default="")
    recurring = serializers.BooleanField(default=False)


class UserIdsSerializer(serializers.Serializer):
    user_ids = serializers.ListField(child=serializers.UUIDField(), required=False, max_length=1000)


class WelcomeEmailSerializer(serializers.Serializer):
    email = serializers.EmailField(required=False)
    name = serializers.CharField(required=False, max_length=200, allow_blank=True)
