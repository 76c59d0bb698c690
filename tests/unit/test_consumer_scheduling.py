"""The consumer's scheduling of a fetched batch (streams/transport.py): price ticks first, order kept."""

from faust.transport.utils import DefaultSchedulingStrategy
from faust.types import TP

from hcp.topics import MARKET_PRICES, TELEMETRY_ASIC, WORKLOAD_REQUESTS
from streams.transport import PricesFirstScheduling


def handed_over(strategy, records):
    return [(tp.topic, tp.partition, record) for tp, record in strategy.iterate(records)]


def batch():
    """A fetch at an interval's start: job requests on two partitions, the interval's ticks, a telemetry poll."""
    return {
        TP(WORKLOAD_REQUESTS, 0): ["request a", "request b"],
        TP(MARKET_PRICES, 0): ["tick 1", "tick 2", "tick 3"],
        TP(WORKLOAD_REQUESTS, 2): ["request c"],
        TP(TELEMETRY_ASIC, 1): ["poll"],
    }


def test_faust_default_puts_a_job_request_before_most_ticks_of_the_interval():
    order = [record for *_, record in handed_over(DefaultSchedulingStrategy(), batch())]
    assert order.index("request a") < order.index("tick 2")


def test_every_price_tick_of_a_batch_goes_before_any_other_record():
    order = handed_over(PricesFirstScheduling(), batch())
    assert [record for *_, record in order[:3]] == ["tick 1", "tick 2", "tick 3"]
    assert sorted(order) == sorted(handed_over(DefaultSchedulingStrategy(), batch()))  # nothing lost or added


def test_the_rest_of_the_batch_keeps_faust_order_and_each_partition_its_own():
    order = handed_over(PricesFirstScheduling(), batch())[3:]
    rest = {tp: records for tp, records in batch().items() if tp.topic != MARKET_PRICES}
    assert order == handed_over(DefaultSchedulingStrategy(), rest)
    assert [record for topic, partition, record in order if (topic, partition) == (WORKLOAD_REQUESTS, 0)] == [
        "request a", "request b"
    ]


def test_a_batch_without_price_ticks_is_handed_over_as_faust_would():
    records = {tp: values for tp, values in batch().items() if tp.topic != MARKET_PRICES}
    assert handed_over(PricesFirstScheduling(), records) == handed_over(DefaultSchedulingStrategy(), records)
