"""The site control agent across a restart, in faust's test context: a second app starts from the first one's
`site_control` table (as the changelog restores it), knows the running jobs and skips a redelivered request."""

import asyncio
import json
import time
from datetime import timedelta

from faust.types import Message

from hcp.records import Decision, DecisionKind
from hcp.settings import BrokerSettings, StorageSettings, WorkerSettings
from hcp.topics import DECISIONS, MARKET_PRICES, WORKLOAD_REQUESTS
from streams.app import create_app
from tests.component.test_agents_power import FLEET, T0, hashprice_tick, job, rt_tick, sent, sent_records, wait_until

__all__ = ["sent"]  # the fixture, imported for this module's tests


def run_control(tmp_path, messages, wait_for, table=None):
    """Feed (topic, offset, record) messages to a fresh app whose table starts as `table`; its table afterwards."""

    async def run():
        app = create_app(WorkerSettings(), BrokerSettings(), StorageSettings(home=tmp_path), FLEET)
        app.tables["site_control"].data.update(json.loads(json.dumps(table or {})))
        agent = app.agents["control_sites"]
        async with agent.test_context() as ctx:
            channel = ctx.stream().channel
            for topic, offset, record in messages:
                raw = Message(
                    topic=topic, partition=0, offset=offset, timestamp=time.time(), timestamp_type=0, headers=[],
                    key=b"k", value=record.to_json(), checksum=None, generation_id=app.consumer_generation_id,
                )
                await channel.put(await channel.decode(raw))
            await wait_until(lambda: wait_for(app))
            await asyncio.sleep(0.05)  # let a wrong extra record show up
        return dict(app.tables["site_control"].data)

    return asyncio.run(run())


def decisions_about(sent, job_id):
    return [d.kind for d in sent_records(sent, DECISIONS, Decision) if d.subject == job_id]


def test_restarted_agent_knows_running_jobs_and_skips_a_redelivered_request(tmp_path, sent):
    at = T0 + timedelta(minutes=20)
    before = [(MARKET_PRICES, 0, hashprice_tick()), (MARKET_PRICES, 1, rt_tick(30.0, 1))]
    before += [(WORKLOAD_REQUESTS, k, job(f"j{k}", at + timedelta(seconds=k))) for k in range(8)]
    table = run_control(tmp_path, before, lambda app: decisions_about(sent, "j7") == [DecisionKind.PLACEMENT])
    assert table["handled:workloads.requests:0"] == 7
    sent.clear()

    # The worker died before committing j7's offset: j7 comes again, then a new job that needs 8 more H100s.
    after = [(WORKLOAD_REQUESTS, 7, job("j7", at + timedelta(seconds=7))),
             (WORKLOAD_REQUESTS, 8, job("new", at + timedelta(seconds=60)))]
    table = run_control(tmp_path, after, lambda app: decisions_about(sent, "new"), table)

    assert decisions_about(sent, "j7") == []  # not placed twice
    assert decisions_about(sent, "new") == [DecisionKind.QUEUED]  # the 64 H100s are still busy with j0..j7
    assert table["handled:workloads.requests:0"] == 8
    running = [job_id for job_id, _, _ in table["router:north-1"]["running"]]
    assert running == [f"j{k}" for k in range(8)]
