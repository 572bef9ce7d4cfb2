"""Retry, delivery and repeat policies."""

from .delivery import DeliveryStrategy, Immediate, ScheduleAfter, ScheduleAt
from .repeat import NoRepeat, RepeatIndefinitely, RepeatPolicy, RepeatTimes, RepeatUntil
from .retry import (
    BoundedExponentialRetryPolicy,
    DecorrelatedJitterRetryPolicy,
    ExponentialRetryPolicy,
    FibonacciRetryPolicy,
    FullJitterRetryPolicy,
    LinearRetryPolicy,
    NoRetryPolicy,
    PolynomialRetryPolicy,
    RetryPolicy,
)

__all__ = [
    "BoundedExponentialRetryPolicy",
    "DecorrelatedJitterRetryPolicy",
    "DeliveryStrategy",
    "ExponentialRetryPolicy",
    "FibonacciRetryPolicy",
    "FullJitterRetryPolicy",
    "Immediate",
    "LinearRetryPolicy",
    "NoRepeat",
    "NoRetryPolicy",
    "PolynomialRetryPolicy",
    "RepeatIndefinitely",
    "RepeatPolicy",
    "RepeatTimes",
    "RepeatUntil",
    "RetryPolicy",
    "ScheduleAfter",
    "ScheduleAt",
]
