"""The PNG drawn next to the text output: dispatch-latency CDF, CPU per job and RSS over the run
(with a timeline of the scenarios), cloud-worker beside the peer."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402 - after choosing the backend
from matplotlib.axes import Axes  # noqa: E402

from scenarios import Results  # noqa: E402

COLOURS = {"cloud-worker": "tab:blue", "peer": "tab:orange"}
LABEL_SIZE = 8


def draw(worker: Results, peer: Results, followed: Results, path: Path, title: str) -> None:
    figure = plt.figure(figsize=(13, 10))
    outer = figure.add_gridspec(2, 1, height_ratios=(1, 1.25), hspace=0.42)
    charts = outer[0].subgridspec(1, 2, wspace=0.25)
    run = outer[1].subgridspec(2, 1, height_ratios=(1, 0.27), hspace=0.08)
    figure.suptitle(title, fontsize=10)
    both = (worker, peer)
    latency_cdf(figure.add_subplot(charts[0]), both)
    cpu_per_job(figure.add_subplot(charts[1]), both)
    memory = figure.add_subplot(run[0])
    runs = (worker, followed, peer)
    rss_over_run(memory, runs)
    phase_timeline(figure.add_subplot(run[1], sharex=memory), runs)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(figure)


def target_line(axes: Axes, value: float, text: str, horizontal: bool) -> None:
    """A dotted target line, labelled inside the axes at its far end."""
    if horizontal:
        axes.axhline(value, color="grey", linestyle=":", linewidth=1)
        axes.text(0.995, value, text, transform=axes.get_yaxis_transform(), fontsize=LABEL_SIZE, color="grey",
                  ha="right", va="bottom")
    else:
        axes.axvline(value, color="grey", linestyle=":", linewidth=1)
        axes.text(value, 0.99, f" {text}", transform=axes.get_xaxis_transform(), fontsize=LABEL_SIZE, color="grey",
                  rotation=90, ha="left", va="top")


def latency_cdf(axes: Axes, both: tuple[Results, ...]) -> None:
    for results in both:
        ordered = sorted(results.dispatch_ms)
        fractions = [(index + 1) / len(ordered) for index in range(len(ordered))]
        axes.step(ordered, fractions, where="post", color=COLOURS[results.name],
                  label=f"{results.name}: p50 {results.dispatch_p50:.1f} ms, p99 {results.percentile(0.99):.1f} ms")
    target_line(axes, 3, "p50 target", horizontal=False)
    target_line(axes, 10, "p99 target", horizontal=False)
    axes.set_xscale("log")
    axes.set(title=f"Dispatch latency at {both[0].dispatch_rate:.0f} requests/s ({len(both[0].dispatch_ms)} requests)",
             xlabel="publish → Job create received (ms, log scale)", ylabel="fraction of requests", ylim=(0, 1.02))
    axes.legend(fontsize=LABEL_SIZE, loc="upper center", bbox_to_anchor=(0.5, -0.17), ncols=1)
    axes.grid(alpha=0.3, which="both")


def cpu_per_job(axes: Axes, both: tuple[Results, ...]) -> None:
    names = [results.name for results in both]
    positions = list(range(len(both)))
    own = axes.bar([p - 0.2 for p in positions], [r.cpu_per_job_ms for r in both], width=0.4,
                   color=[COLOURS[name] for name in names], label="the worker")
    simulator = axes.bar([p + 0.2 for p in positions], [r.simulator_cpu_per_job_ms for r in both], width=0.4,
                         color="lightgrey", label="its simulator")
    for bars in (own, simulator):
        axes.bar_label(bars, fmt="%.2f ms", fontsize=LABEL_SIZE)
    target_line(axes, 1, "target 1 ms", horizontal=True)
    axes.set_xticks(positions, names)
    axes.set(title=f"CPU per short job ({both[0].short_jobs} jobs, whole pipeline)", ylabel="CPU ms per job")
    axes.margins(y=0.2)  # room for the legend above the bars
    axes.legend(fontsize=LABEL_SIZE, loc="upper center", ncols=2)
    axes.grid(alpha=0.3, axis="y")


def line_style(results: Results) -> str:
    """Solid for a worker's main run, dashed for its other runs."""
    return "-" if results.label == results.name else "--"


def rss_over_run(axes: Axes, runs: tuple[Results, ...]) -> None:
    for results in runs:
        axes.plot(results.trace.times, results.trace.rss, color=COLOURS[results.name], linestyle=line_style(results),
                  label=results.label)
    target_line(axes, 25, "idle target 25 MB", horizontal=True)
    target_line(axes, 80, "followed-pods target 80 MB", horizontal=True)
    axes.set(title="RSS over each run (scenarios below)", ylabel="RSS (MB)", ylim=(0, None))
    axes.tick_params(labelbottom=False)
    axes.legend(fontsize=LABEL_SIZE, loc="lower center", ncols=3)
    axes.grid(alpha=0.3)


def phase_timeline(axes: Axes, runs: tuple[Results, ...]) -> None:
    """One bar per run, a colour per scenario, so the RSS curves above can be read against
    what each worker was doing."""
    palette = plt.get_cmap("Set3")  # 12 colours: a colour per scenario
    colours: dict[str, tuple[float, ...]] = {}
    for row, results in enumerate(runs):
        phases = results.trace.phases
        end = results.trace.times[-1] if results.trace.times else phases[-1][0]
        for (start, name), (stop, _) in zip(phases, phases[1:] + [(end, "")]):
            first = name not in colours
            colour = colours.setdefault(name, palette(len(colours)))
            axes.barh(row, stop - start, left=start, color=colour, edgecolor="white", label=name if first else None)
    axes.set_yticks(range(len(runs)), [results.label for results in runs], fontsize=LABEL_SIZE)
    axes.invert_yaxis()
    axes.set_xlabel("seconds since the worker started")
    axes.legend(fontsize=LABEL_SIZE, loc="upper center", bbox_to_anchor=(0.5, -0.9), ncols=(len(colours) + 1) // 2)
