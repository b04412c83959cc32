"""Start-up of the command line: ``sibkit --help`` and ``sibkit indigo stats``, each a fresh process.

    python benchmarks/bench_cli.py [EXPORT_FOLDER] [--repeat N]

Prints the median wall time of N runs of each command beside baselines measured in the same run: the
bare interpreter (``python -c pass``), ``import pandas``, and the eager import of every area's modules
(what ``import sibkit.cli`` cost before the imports were made lazy). ``indigo stats`` reads a data cache
in a temporary ``$SIBKIT_DATA`` filled from the export (its typed tables cached by a first, untimed run).
Goals (issue 19): ``--help`` under 0.3 s, ``indigo stats`` under 0.8 s; a missed goal is printed with
the modules that took longest to import (``python -X importtime``).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: the modules ``import sibkit.cli`` loaded before its imports were made lazy
EAGER = ("sibkit.indigo.dataset", "sibkit.indigo.figures", "sibkit.indigo.quality", "sibkit.indigo.api",
         "sibkit.study.model", "sibkit.study.selection", "sibkit.web.app")
GOALS = {"sibkit --help": 0.3, "sibkit indigo stats": 0.8}


def median_run(command: list[str], repeat: int, env: dict[str, str]) -> tuple[float, float]:
    """Median wall time and median CPU time (user + system) of the child: on a shared machine the CPU
    time is the steadier figure, since waiting for a core is not counted."""
    walls, cpus = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def import_profile(arguments: list[str], env: dict[str, str], top: int = 8) -> list[str]:
    """The slowest top-level imports (cumulative) of one run, as ``python -X importtime`` reports them."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "sibkit", *arguments], env=env,
                          capture_output=True, text=True)
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, _own, cumulative, name = line.replace("import time:", "|").split("|")
        if not name.startswith("  "):  # one space: imported by the program itself, not by another module
            rows.append((int(cumulative), name.strip()))
    return [f"{us / 1e6:6.3f} s  {name}" for us, name in sorted(rows, reverse=True)[:top]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export", nargs="?", default="../shared/indigo/impact-bond-dataset-2025-05-20")
    parser.add_argument("--repeat", type=int, default=11)
    args = parser.parse_args()
    python = sys.executable
    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, "SIBKIT_DATA": data, "COLUMNS": "100"}
        subprocess.run([python, "-m", "sibkit", "data", "download", "--from", str(Path(args.export).resolve())],
                       env=env, check=True, capture_output=True)
        subprocess.run([python, "-m", "sibkit", "indigo", "stats"], env=env, check=True, capture_output=True)
        commands = {
            "python -c pass (baseline)": [python, "-c", "pass"],
            "import pandas (baseline)": [python, "-c", "import pandas"],
            "eager import of every area (baseline)": [python, "-c", "import sibkit.cli, " + ", ".join(EAGER)],
            "sibkit --help": [python, "-m", "sibkit", "--help"],
            "sibkit indigo stats": [python, "-m", "sibkit", "indigo", "stats"],
        }
        figures = {name: median_run(command, args.repeat, env) for name, command in commands.items()}
        bare = figures["python -c pass (baseline)"][0]
        pandas = figures["import pandas (baseline)"][0]
        print(f"Median of {args.repeat} runs, each a new process (load average {os.getloadavg()[0]:.1f}):")
        print(f"{'command':40} {'wall s':>8} {'CPU s':>7} {'× pass':>8} {'× pandas':>9}")
        for name, (seconds, cpu) in figures.items():
            print(f"{name:40} {seconds:8.3f} {cpu:7.3f} {seconds / bare:8.1f} {seconds / pandas:9.2f}")
        for name, goal in GOALS.items():
            seconds, cpu = figures[name]
            met = "met" if seconds < goal else "MISSED"
            print(f"goal {name} < {goal} s: {met} (wall {seconds:.3f} s, CPU {cpu:.3f} s; "
                  f"{seconds - bare:.3f} s over the bare interpreter)")
            if seconds >= goal:
                for line in import_profile(name.split()[1:], env):
                    print("    " + line)


if __name__ == "__main__":
    main()
