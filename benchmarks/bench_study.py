"""``sibkit run`` on an example study (default examples/all-projects.yaml): cold, then warm.

    python benchmarks/bench_study.py [EXPORT_FOLDER] [--example uk-sibs-2016-2021] [--warm N]

Cold: the first run ever (new study database, empty data folder: no typed dataset, no memo, no
compiled Hyperscan database), once with the engine left to sibkit and once with the pure-Python
matcher engine (``SIBKIT_MATCHER_ENGINE=python``, the anchor: no compile at all). Warm: the same
command again with nothing changed (median of N). Each is a new process with its own temporary
``$SIBKIT_DATA``; ``python -c "import pandas"`` is timed in the same run to show how busy the machine
is. Every file the warm runs write is compared with the cold run's (report.html apart from its
timestamp). Goals: cold under 10 s (issue 30), warm under 5 s (issue 19); a missed warm goal is
printed with the top of a warm run's profile (cProfile, cumulative).
"""

from __future__ import annotations

import argparse
import os
import pstats
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL = 5.0
COLD_GOAL = 10.0
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


CPU: list[float] = []  # CPU time (user + system) of each timed child, in order


def timed(command: list[str], env: dict[str, str], cwd: Path) -> float:
    """Wall time of one run; its CPU time goes to ``CPU`` (steadier on a shared machine)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return wall


def outputs(folder: Path) -> dict[str, bytes]:
    stamp = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00")
    return {path.name: stamp.sub(b"<time>", path.read_bytes()) if path.suffix == ".html" else path.read_bytes()
            for path in sorted(folder.iterdir()) if path.is_file()}


def profile_top(command: list[str], env: dict[str, str], cwd: Path, top: int = 15) -> list[str]:
    """The functions with the most cumulative time in one run under cProfile (sibkit's and imports)."""
    stats_file = cwd / "warm.prof"
    subprocess.run([sys.executable, "-m", "cProfile", "-o", str(stats_file), "-m", "sibkit", *command[3:]], env=env,
                   cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stats = pstats.Stats(str(stats_file)).stats  # type: ignore[attr-defined]
    rows = [(values[3], f"{Path(where[0]).name}:{where[1]}({where[2]})") for where, values in stats.items()
            if "sibkit" in where[0] or where[2] == "_find_and_load"]
    return [f"{seconds:7.2f} s  {name}" for seconds, name in sorted(rows, reverse=True)[:top]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export", nargs="?", default="../shared/indigo/impact-bond-dataset-2025-05-20")
    parser.add_argument("--warm", type=int, default=3, help="warm runs (median)")
    parser.add_argument("--example", default="all-projects", choices=[p.stem for p in EXAMPLES.glob("*.yaml")])
    args = parser.parse_args()
    export = Path(args.export).resolve()
    example = EXAMPLES / f"{args.example}.yaml"

    def prepared(root: Path) -> tuple[list[str], dict[str, str]]:
        study = root / example.name
        study.write_text(example.read_text(encoding="utf-8").replace("data: null", f"data: {export}", 1),
                         encoding="utf-8")
        env = {**os.environ, "SIBKIT_DATA": str(root / "data"), "SOURCE_DATE_EPOCH": "1700000000"}
        env.pop("SIBKIT_MATCHER_ENGINE", None)
        return [sys.executable, "-m", "sibkit", "run", str(study)], env

    with tempfile.TemporaryDirectory() as scratch, tempfile.TemporaryDirectory() as anchor_scratch:
        root = Path(scratch)
        command, env = prepared(root)
        pandas = statistics.median(timed([sys.executable, "-c", "import pandas"], env, root) for _ in range(3))
        pandas_cpu = statistics.median(CPU[-3:])
        anchor_command, anchor_env = prepared(Path(anchor_scratch))
        python_cold = timed(anchor_command, {**anchor_env, "SIBKIT_MATCHER_ENGINE": "python"}, Path(anchor_scratch))
        python_cold_cpu = CPU[-1]
        cold = timed(command, env, root)
        cold_cpu = CPU[-1]
        first = outputs(root / "report")
        shutil.rmtree(root / "report")
        warm_times = []
        same = True
        for _ in range(args.warm):
            warm_times.append(timed(command, env, root))
            same = same and outputs(root / "report") == first
        warm = statistics.median(warm_times)
        warm_cpu = statistics.median(CPU[-args.warm:])
        print(f"sibkit run on {example.name}; load average {os.getloadavg()[0]:.1f}")
        print(f"{'run':44} {'wall s':>8} {'CPU s':>7} {'× cold':>8} {'× import pandas':>16}")
        for name, seconds, cpu in (("import pandas (machine speed)", pandas, pandas_cpu),
                                   ("cold, Python matcher engine (anchor)", python_cold, python_cold_cpu),
                                   ("cold: first run ever (engine left to sibkit)", cold, cold_cpu),
                                   (f"warm: nothing changed (median of {args.warm})", warm, warm_cpu)):
            print(f"{name:44} {seconds:8.2f} {cpu:7.2f} {seconds / cold:8.3f} {seconds / pandas:16.1f}")
        print(f"goal cold < {COLD_GOAL:g} s: {'met' if cold < COLD_GOAL else 'MISSED'} (wall {cold:.2f} s, "
              f"{cold / python_cold:.2f}x the Python engine's cold run)")
        print(f"warm runs wrote the same {len(first)} files as the cold run: {'yes' if same else 'NO'}")
        met = "met" if warm < GOAL else "MISSED"
        print(f"goal warm < {GOAL:g} s: {met} (wall {warm:.2f} s, CPU {warm_cpu:.2f} s)")
        if warm >= GOAL:
            print("  top of a warm run's profile (cumulative):")
            for line in profile_top(command, env, root):
                print("    " + line)


if __name__ == "__main__":
    main()
