"""The cost of charging credits: added ms per model call, against writing the usage row alone.

In one run, on a database of its own (``codex_bench_billing`` on the project's PostgreSQL), it calls
the runtime's one usage hook (``apps.agents.runtime.usage.record_usage``, which writes the usage row
and charges it) the way the agent loop does, from an event loop, in alternating rounds:

* baseline: ``BILLING_ENABLED=false`` (the usage row alone, metered only);
* charged: ``BILLING_ENABLED=true`` with a price for the model (usage row + price lookup + the
  conditional balance update + the ledger row, in one transaction).

Rounds alternate so load on the shared machine drifts into both alike. It prints the mean and p50
ms per call of each, the added ms and the ratio.

    .venv/bin/python bench/billing_charge.py [--calls 400] [--rounds 8]

Target (issue 11 §3): ≤ 2 ms added per model call.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATABASE = "codex_bench_billing"


def use_own_database() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "codex.settings")
    import environ
    import psycopg

    from codex import embedded_db

    url = environ.Env().str("DATABASE_URL", default="") or embedded_db.database_url(ROOT / "var" / "postgres")
    server = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(server, autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone()
        if not exists:
            admin.execute(f'CREATE DATABASE "{DATABASE}"')
    os.environ["DATABASE_URL"] = urlunsplit(urlsplit(url)._replace(path="/" + DATABASE))


async def timed_calls(user, calls: int) -> list[float]:
    from apps.agents.runtime.usage import record_usage
    from apps.providers.llm import Usage
    from apps.providers.offline import OfflineModel

    model, usage = OfflineModel(), Usage(input_tokens=1200, output_tokens=300, cached_tokens=200)
    timings = []
    for _ in range(calls):
        started = time.perf_counter()
        await record_usage(user=user, model=model, usage=usage, run_id=None, session_id="bench", endpoint="bench")
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def count_statements(user, *, enabled: bool) -> int:
    """How many SQL statements (round trips, COMMIT included) the usage row and its charge make.

    Counted on this thread with the hook's two steps called directly, since the hook itself runs
    them on a database thread where the capture cannot see.
    """
    from django.conf import settings
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.billing.services import usage_charge
    from apps.providers.models import UsageRecord
    from apps.providers.offline import OFFLINE_MODEL_NAME

    settings.BILLING_ENABLED = enabled
    with CaptureQueriesContext(connection) as queries:
        record = UsageRecord.objects.create(user=user, model=OFFLINE_MODEL_NAME, input_tokens=1200, output_tokens=300)
        usage_charge(usage=record)
    return len(queries.captured_queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=400, help="model calls per round")
    parser.add_argument("--rounds", type=int, default=8, help="rounds of each kind, alternating")
    args = parser.parse_args()

    use_own_database()
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from apps.accounts.models import User
    from apps.billing import services
    from apps.billing.models import CreditLedgerEntry, ModelPrice
    from apps.providers.offline import OFFLINE_MODEL_NAME

    user, _ = User.objects.get_or_create(username="bench-billing", defaults={"email": "bench@example.com"})
    ModelPrice.objects.update_or_create(
        model=OFFLINE_MODEL_NAME, provider=None,
        defaults={"input_per_million": Decimal("0.15"), "output_per_million": Decimal("0.6"),
                  "cached_input_per_million": Decimal("0.075")},
    )
    settings.BILLING_ENABLED = True
    services.credits_add(user=user, amount=Decimal("1000000"), kind="grant", reason="bench")
    entries_before = CreditLedgerEntry.objects.count()

    async def run() -> tuple[list[float], list[float]]:
        baseline: list[float] = []
        charged: list[float] = []
        await timed_calls(user, 20)  # warm connections and caches
        for _ in range(args.rounds):
            settings.BILLING_ENABLED = False
            baseline += await timed_calls(user, args.calls)
            settings.BILLING_ENABLED = True
            charged += await timed_calls(user, args.calls)
        return baseline, charged

    baseline, charged = asyncio.run(run())
    statements = {enabled: count_statements(user, enabled=enabled) for enabled in (False, True)}
    spends = CreditLedgerEntry.objects.count() - entries_before
    base_mean, charged_mean = statistics.fmean(baseline), statistics.fmean(charged)
    base_p50, charged_p50 = statistics.median(baseline), statistics.median(charged)
    print(f"calls per kind: {len(baseline)} ({args.rounds} alternating rounds of {args.calls}); "
          f"ledger rows written: {spends}; load average {os.getloadavg()[0]:.1f}")
    print(f"usage row alone:      mean {base_mean:6.2f} ms   p50 {base_p50:6.2f} ms")
    print(f"usage row + charge:   mean {charged_mean:6.2f} ms   p50 {charged_p50:6.2f} ms")
    print(f"added by charging:    mean {charged_mean - base_mean:+6.2f} ms   p50 {charged_p50 - base_p50:+6.2f} ms   "
          f"ratio ×{charged_mean / base_mean:.2f} (mean), ×{charged_p50 / base_p50:.2f} (p50)")
    print(f"SQL statements per call: {statements[False]} alone, {statements[True]} charged "
          f"(+{statements[True] - statements[False]} round trips)")
    print(f"target ≤ 2 ms added: {'met' if charged_p50 - base_p50 <= 2 else 'NOT met'} (p50)")


if __name__ == "__main__":
    main()
