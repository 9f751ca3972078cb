"""Retry policies (Mambu's automatic retry settings), one per channel."""

import random
from datetime import datetime, timedelta

from shared.models import Event, RetryPolicy

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


class PolicyError(ValueError):
    """A setting the policy cannot take; `field` names it."""

    def __init__(self, field: str, problem: str):
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


# each setting's smallest value, and whether the value itself is allowed
LIMITS = {
    "max_retries": (-1, True),  # -1: forever
    "backoff_delay": (0, False),
    "delay_factor": (1, True),
    "backoff_max_delay": (0, False),
}
MAX_SECONDS = 30 * 86_400  # a delay longer than a month is a mistake


def set_policy(channel: str, actor=None, **changes) -> RetryPolicy:
    """Change a channel's retry policy (settings left out, or None, keep their value), with an
    Event. Raises PolicyError, changing nothing, for a value the policy cannot take."""
    policy = policy_for(channel)
    for name, value in changes.items():
        if value is None:
            continue
        if name in LIMITS:
            lowest, allowed = LIMITS[name]
            if value < lowest or (value == lowest and not allowed):
                raise PolicyError(
                    name, f"must be {'at least' if allowed else 'more than'} {lowest}"
                )
            if name.endswith("delay") and value > MAX_SECONDS:
                raise PolicyError(name, f"must be at most {MAX_SECONDS:,} seconds (30 days)")
        elif name != "jitter":
            raise PolicyError(name, "is not a retry setting")
        setattr(policy, name, value)
    if policy.backoff_max_delay < policy.backoff_delay:
        raise PolicyError("backoff_max_delay", "cannot be shorter than the first delay")
    policy.save()
    Event.create(action="policy_set", actor=actor, detail=f"{channel}: {describe(policy)}")
    return policy
