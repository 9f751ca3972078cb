"""Retry policies (Mambu's automatic retry settings), one per channel."""

import random
from datetime import datetime, timedelta

from shared.models import RetryPolicy

JITTER = 0.10  # ±10 %


def policy_for(channel: str) -> RetryPolicy:
    """The channel's policy, or the defaults (4 retries after 2, 6, 18 and 54 s)."""
    return RetryPolicy.get_or_none(RetryPolicy.channel == channel) or RetryPolicy(channel=channel)


def retry_delay(policy: RetryPolicy, retry_number: int, rng: random.Random = random) -> float:
    """Seconds to wait before retry `retry_number` (1-based):
    min(backoff_delay * delay_factor ** (n - 1), backoff_max_delay), ± jitter."""
    delay = min(
        policy.backoff_delay * policy.delay_factor ** (retry_number - 1), policy.backoff_max_delay
    )
    if policy.jitter:
        delay *= 1 + rng.uniform(-JITTER, JITTER)
    return max(delay, 0.0)


def next_retry_at(policy: RetryPolicy, attempts_made: int, at: datetime) -> datetime | None:
    """When to try again after `attempts_made` failed tries, or None when the policy gives up."""
    retry_number = attempts_made  # the first retry follows the first attempt
    if policy.max_retries != -1 and retry_number > policy.max_retries:
        return None
    return at + timedelta(seconds=retry_delay(policy, retry_number))


def describe(policy: RetryPolicy) -> str:
    """The policy in plain words, e.g. "4 retries after 2, 6, 18 and 54 seconds"."""
    if policy.max_retries == 0:
        return "no retries"
    shown = 5 if policy.max_retries == -1 else policy.max_retries
    policy_without_jitter = RetryPolicy(**{**policy.__data__, "jitter": False})
    delays = [f"{retry_delay(policy_without_jitter, n):g}" for n in range(1, shown + 1)]
    listed = ", ".join(delays[:-1]) + f" and {delays[-1]}" if len(delays) > 1 else delays[0]
    if policy.max_retries == -1:
        return f"retries forever, after {listed} seconds and so on"
    return f"{policy.max_retries} retries after {listed} seconds"
