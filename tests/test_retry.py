"""Retry policies: Mambu's formula, jitter, giving up, forever."""

import random
from datetime import datetime

import pytest

from shared.models import RetryPolicy
from shared.retry import describe, next_retry_at, policy_for, retry_delay

AT = datetime(2026, 1, 1, 12, 0, 0)


def test_defaults_are_2_6_18_54_then_give_up():
    policy = RetryPolicy(channel="email", jitter=False)
    assert [retry_delay(policy, n) for n in (1, 2, 3, 4)] == [2, 6, 18, 54]
    assert next_retry_at(policy, 4, AT) is not None
    assert next_retry_at(policy, 5, AT) is None
    assert describe(policy) == "4 retries after 2, 6, 18 and 54 seconds"


def test_the_delay_is_capped_by_the_max_delay():
    policy = RetryPolicy(channel="sms", jitter=False, backoff_max_delay=10)
    assert [retry_delay(policy, n) for n in (1, 2, 3, 4)] == [2, 6, 10, 10]


def test_jitter_stays_within_ten_percent_and_varies():
    policy = RetryPolicy(channel="email")
    rng = random.Random(7)
    delays = [retry_delay(policy, 3, rng) for _ in range(500)]
    assert min(delays) >= 18 * 0.9 and max(delays) <= 18 * 1.1
    assert len({round(d, 3) for d in delays}) > 100


def test_minus_one_retries_forever():
    policy = RetryPolicy(channel="email", max_retries=-1, jitter=False)
    assert next_retry_at(policy, 1000, AT) is not None
    assert describe(policy).startswith("retries forever")


@pytest.mark.parametrize("retries", [0, 1, 3])
def test_max_retries_counts_retries_after_the_first_try(retries):
    policy = RetryPolicy(channel="email", max_retries=retries, jitter=False)
    assert all(next_retry_at(policy, n, AT) for n in range(1, retries + 1))
    assert next_retry_at(policy, retries + 1, AT) is None


def test_the_policy_comes_from_the_database(database):
    assert policy_for("sms").max_retries == 4
    RetryPolicy.create(channel="sms", max_retries=9)
    assert policy_for("sms").max_retries == 9
