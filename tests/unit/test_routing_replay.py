"""Reading the Alibaba GPU trace, replaying it against the FIFO baseline, and the `route-replay` command."""

import json

import polars as pl
import pytest
import typer
from typer.testing import CliRunner

from hcp.cli import route_replay
from hcp.exceptions import ConfigError
from hcp.records.workloads import QosClass
from hcp.routing import DecisionKind, RouterConfig
from hcp.routing.replay import replay_jobs, run_route_replay
from hcp.routing.trace import read_trace_nodes, read_trace_pods

POD_HEADER = (
    "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time"
)


def write_pods(path, rows):
    path.write_text(POD_HEADER + "\n" + "\n".join(rows) + "\n")
    return path


def write_nodes(path, rows):
    path.write_text("sn,cpu_milli,memory_mib,gpu,model\n" + "\n".join(rows) + "\n")
    return path


@pytest.fixture
def contended(tmp_path):
    """One GPU: a long best-effort pod, then a short latency-sensitive pod that arrives while it runs."""
    pods = write_pods(
        tmp_path / "pods.csv",
        [
            "be-0,1000,1024,1,1000,,BE,Running,0,10000,0",
            "ls-0,1000,1024,1,1000,,LS,Running,1000,1500,1000",
        ],
    )
    nodes = write_nodes(tmp_path / "nodes.csv", ["node-0,8000,32768,1,T4"])
    return pods, nodes


def test_pods_map_to_jobs_by_the_documented_rules(tmp_path):
    pods = write_pods(
        tmp_path / "pods.csv",
        [
            "share,1000,1024,1,470,,LS,Running,100,400,130",
            "pending,1000,1024,1,1000,,BE,Pending,50,250,",
            "cpu,1000,1024,0,0,,LS,Running,0,90,0",
            "wide,1000,1024,8,1000,V100M32,Burstable,Running,200,300,200",
        ],
    )
    trace = read_trace_pods(pods)
    jobs = {tj.job.job_id: tj for tj in trace.jobs}
    assert trace.pods_total == 4 and trace.cpu_only == 1 and set(jobs) == {"share", "pending", "wide"}
    assert [tj.job.job_id for tj in trace.jobs] == ["pending", "share", "wide"]
    assert jobs["share"].job.gpus == pytest.approx(0.47) and jobs["share"].run_s == 270
    assert jobs["pending"].run_s == 200 and jobs["pending"].job.gpu_type is None
    assert jobs["wide"].job.gpus == 8 and jobs["wide"].job.gpu_type == "V100M32"
    assert jobs["share"].job.qos_class is QosClass.LS and not jobs["share"].job.preemptible
    assert jobs["pending"].job.preemptible and jobs["wide"].job.preemptible
    assert jobs["share"].job.priority > jobs["wide"].job.priority > jobs["pending"].job.priority


def test_missing_trace_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        read_trace_pods(tmp_path / "absent.csv")


def test_missing_column_is_named_in_the_error(tmp_path):
    path = tmp_path / "nodes.csv"
    path.write_text("sn,gpu\nnode-0,8\n")
    with pytest.raises(ConfigError, match="model"):
        read_trace_nodes(path)


def test_unknown_qos_is_a_config_error(tmp_path):
    pods = write_pods(tmp_path / "pods.csv", ["p,1000,1024,1,1000,,Gold,Running,0,10,0"])
    with pytest.raises(ConfigError, match="qos"):
        read_trace_pods(pods)


def test_router_preempts_best_effort_so_latency_sensitive_starts_at_once(contended):
    replay = run_route_replay(*contended)
    router, baseline = replay.router.summary, replay.baseline.summary
    assert router.ls_share_without_wait == 1.0 and baseline.ls_share_without_wait == 0.0
    assert router.preemptions == 1 and baseline.preemptions == 0
    # The preempted pod resumes for its remaining 9,000 s once the LS pod is done: the GPU never idles.
    assert router.window_s == 10_500 and router.allocation_ratio == pytest.approx(1.0)
    assert baseline.waits["LS"].max_s == 9000


def test_replay_writes_summary_and_decisions_through_the_command(contended, tmp_path):
    app = typer.Typer()
    route_replay.register(app)
    app.command("noop")(lambda: None)
    pods, nodes = contended
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["route-replay", "--pods", str(pods), "--nodes", str(nodes), "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["router"]["preemptions"] == 1 and summary["baseline"]["policy"] == "fifo_first_fit"
    decisions = pl.read_csv(out / "decisions.csv")
    assert set(decisions["policy"]) == {"router", "fifo_first_fit"}
    assert decisions.filter(pl.col("kind") == "preempted")["job_id"].to_list() == ["be-0"]


@pytest.mark.parametrize("every_nth_node", [1, 200])
def test_shared_trace_replays_consistently(shared_data_dir, every_nth_node):
    traces = shared_data_dir / "traces"
    replay = run_route_replay(
        traces / "alibaba_gpu_v2023_pods.csv", traces / "alibaba_gpu_v2023_nodes.csv", every_nth_node=every_nth_node
    )
    trace = read_trace_pods(traces / "alibaba_gpu_v2023_pods.csv")
    demand_gpu_s = sum(tj.job.gpus * tj.run_s for tj in trace.jobs)
    router, baseline = replay.router, replay.baseline
    for run in (router, baseline):
        s = run.summary
        assert s.jobs + replay.pods_cpu_only == replay.pods_total
        assert s.unfinished == 0 and s.finished + s.rejected == s.jobs
        assert set(run.outcomes) == {tj.job.job_id for tj in trace.jobs}
        assert 0 < s.allocation_ratio <= 1 and 0 < s.peak_allocation_ratio <= 1
        assert s.ls_placed_without_wait <= s.ls_jobs
        if s.rejected == 0:
            # Preempted pods resume, so the GPU-seconds allocated are exactly what the pods asked for.
            assert s.allocated_gpu_s == pytest.approx(demand_gpu_s, rel=1e-9)
        preempted = [d for d in run.decisions if d.kind is DecisionKind.PREEMPTED]
        assert len(preempted) == s.preemptions
        assert not [d for d in preempted if d.job.qos_class is QosClass.LS or not d.job.preemptible]
    assert router.summary.ls_share_without_wait >= baseline.summary.ls_share_without_wait
    assert baseline.summary.preemptions == 0


def test_command_reserves_only_when_asked(contended, tmp_path):
    app = typer.Typer()
    route_replay.register(app)
    app.command("noop")(lambda: None)
    pods, nodes = contended
    for flag, enabled in (([], False), (["--reservations"], True)):
        out = tmp_path / f"out-{enabled}"
        args = ["route-replay", "--pods", str(pods), "--nodes", str(nodes), "--out", str(out), *flag]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        summary = json.loads((out / "summary.json").read_text())
        assert summary["router_config"]["reservations_enabled"] is enabled
        assert summary["router"]["reservations"] == 0  # the LS pod preempts at once: nobody waits past its SLA


def test_shared_trace_with_reservations_keeps_the_books_exact(shared_data_dir):
    traces = shared_data_dir / "traces"
    trace = read_trace_pods(traces / "alibaba_gpu_v2023_pods.csv")
    nodes = read_trace_nodes(traces / "alibaba_gpu_v2023_nodes.csv", every_nth=200)
    run = replay_jobs(trace.jobs, nodes, RouterConfig(reservations_enabled=True), "router")
    s, decisions = run.summary, run.decisions
    assert s.unfinished == 0 and s.rejected == 0 and s.finished == s.jobs
    assert s.allocated_gpu_s == pytest.approx(sum(tj.job.gpus * tj.run_s for tj in trace.jobs), rel=1e-9)
    released = sum(d.kind is DecisionKind.RESERVATION_RELEASED for d in decisions)
    assert s.reservations > 0 and s.reservations == s.reservations_honoured + released
    preempted = [d for d in decisions if d.kind is DecisionKind.PREEMPTED]
    assert not [d for d in preempted if d.job.qos_class is QosClass.LS or not d.job.preemptible]
