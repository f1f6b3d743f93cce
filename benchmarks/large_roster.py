"""Large-roster benchmark (not a timed test): the 34-agent Nova roster vs a synthetic one.

    .venv/bin/python benchmarks/large_roster.py --routes 1000 --per-route 20 \
        --data ../shared/data/clinc150

Each roster is measured in its own child process (one after the other, never in parallel):
``default_router`` trains the router, calibrates it on a probe and saves it to a temporary cache
(train + calibrate wall and CPU time: on a shared machine the CPU time is the steadier
figure); peak memory is the child's max RSS (``resource.getrusage``) minus its RSS
once the encoder is loaded, and tracemalloc's peak of Python allocations (numpy included) during
training. Held-out top-1 counts a refused request as a miss; ``heldout_refused`` is the share
refused and ``heldout_top1_ignoring_refusal`` the share whose best-scored route is right. Then the
router is loaded back from the cache, as ``nova ask`` does, and decisions are
timed one request at a time on held-out requests not seen before (p50 of ``route``, encoding
included, and of the scoring alone on the request's vector). Last, a third child loads both saved
routers and times their decisions in turn, one request each (the same load on both: the ratio
to compare on a shared machine). The synthetic roster comes from
:mod:`evals.harness.synthetic_roster` (CLINC150 intents x offices). Ratios are
large / 34 in the same run. Writes benchmarks/results/large_roster.json.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "clinc150"


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _current_rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def _held(routes: int, per_route: int, data: Path) -> tuple[Any, list[tuple[str, str]]]:
    from evals.harness.roster import load_heldout
    from evals.harness.synthetic_roster import synthetic_examples, synthetic_roster
    from nova_app import nova_roster

    if routes:
        examples, held = synthetic_examples(routes, per_route, data)
        return synthetic_roster(examples, data), held
    roster = nova_roster()
    return roster, load_heldout(ROOT / "evals" / "roster" / "heldout.yaml", roster).singles()


def child(routes: int, per_route: int, data: Path, timings: int, keep: Path) -> dict[str, Any]:
    """Measure one roster in this process (``routes`` 0: the packaged roster); the trained
    router is copied to ``keep`` for the interleaved decision timing."""
    import numpy as np

    from nova_graph.embeddings import default_encoder
    from nova_graph.routing import SemanticRouter
    from nova_graph.routing.default import default_router

    roster, held = _held(routes, per_route, data)
    encoder = default_encoder()
    encoder.encode(["warm up the encoder"])
    base_rss = _current_rss_mb()
    with tempfile.TemporaryDirectory() as tmp:
        tracemalloc.start()
        start, cpu = time.perf_counter(), time.process_time()
        router = default_router(roster, cache_dir=tmp)
        train_s, train_cpu = time.perf_counter() - start, time.process_time() - cpu
        traced_peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        peak_rss = _rss_mb()
        (saved,) = Path(tmp).iterdir()
        cache_mb = sum(f.stat().st_size for f in saved.iterdir()) / 2**20
        del router
        loaded = SemanticRouter.load(saved, encoder=encoder)
        shutil.copytree(saved, keep)
    texts = [t for t, _ in held]
    gold = [a for _, a in held]
    decisions = loaded.route_batch(texts)
    accuracy = float(np.mean([d.agents[:1] == [a] for d, a in zip(decisions, gold, strict=True)]))
    # a refusal (out of scope) counts as a miss above; these two separate it from wrong routes
    refused = float(np.mean([d.out_of_scope for d in decisions]))
    best = [max(d.scores, key=d.scores.__getitem__) for d in decisions]
    best_route = float(np.mean([b == a for b, a in zip(best, gold, strict=True)]))
    encoder.clear_cache()
    sample = texts[:timings]
    loaded.route(sample[0])
    route_ms, score_ms = [], []
    model = loaded.route_model
    for text in sample[1:]:
        t0 = time.perf_counter()
        loaded.route(text)
        route_ms.append((time.perf_counter() - t0) * 1000)
        vec = encoder.encode([text])
        t0 = time.perf_counter()
        model.score(vec, [text])
        score_ms.append((time.perf_counter() - t0) * 1000)
    return {
        "routes": len(roster.examples()),
        "examples": sum(len(v) for v in roster.examples().values()),
        "train_calibrate_s": round(train_s, 1),
        "train_calibrate_cpu_s": round(train_cpu, 1),
        "peak_rss_mb": round(peak_rss, 0),
        "rss_before_training_mb": round(base_rss, 0),
        "training_rss_growth_mb": round(peak_rss - base_rss, 0),
        "tracemalloc_peak_mb": round(traced_peak, 0),
        "cache_mb": round(cache_mb, 2),
        "heldout_top1": round(accuracy, 4),
        "heldout_refused": round(refused, 4),
        "heldout_top1_ignoring_refusal": round(best_route, 4),
        "heldout_n": len(held),
        "decision_p50_ms": round(statistics.median(route_ms), 2),
        "scoring_p50_ms": round(statistics.median(score_ms), 3),
    }


def interleaved(dirs: list[Path], helds: list[list[str]], timings: int) -> dict[str, float]:
    """Decision p50 of each saved router, one request of each in turn (same load for both)."""
    from nova_graph.embeddings import default_encoder
    from nova_graph.routing import SemanticRouter

    encoder = default_encoder()
    routers = [SemanticRouter.load(d, encoder=encoder) for d in dirs]
    for r, texts in zip(routers, helds, strict=True):
        r.route(texts[0])
    times: list[list[float]] = [[] for _ in routers]
    for i in range(1, timings):
        for j, (r, texts) in enumerate(zip(routers, helds, strict=True)):
            t0 = time.perf_counter()
            r.route(texts[i % len(texts)])
            times[j].append((time.perf_counter() - t0) * 1000)
    return {f"p50_ms_{j}": round(statistics.median(t), 2) for j, t in enumerate(times)}


def main() -> None:
    """Run both rosters in child processes and report ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--routes", type=int, default=1000)
    parser.add_argument("--per-route", type=int, default=20)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="CLINC150 folder")
    parser.add_argument("--timings", type=int, default=101, help="single decisions timed")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/large_roster.json")
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--keep", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--interleave", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child, args.per_route, args.data, args.timings, args.keep)))
        return
    if args.interleave is not None:
        helds = [[t for t, _ in _held(n, args.per_route, args.data)[1]] for n in (0, args.routes)]
        dirs = [args.interleave / "r0", args.interleave / f"r{args.routes}"]
        print(json.dumps(interleaved(dirs, helds, args.timings)))
        return
    results: dict[str, Any] = {}
    keep = Path(tempfile.mkdtemp(prefix="nova-large-roster-"))
    common = ["--per-route", str(args.per_route), "--data", str(args.data)]
    common += ["--timings", str(args.timings)]
    for routes in (0, args.routes):
        cmd = [sys.executable, __file__, "--child", str(routes), *common]
        cmd += ["--keep", str(keep / f"r{routes}")]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT)
        results["roster_34" if routes == 0 else f"synthetic_{routes}"] = json.loads(
            out.stdout.strip().splitlines()[-1]
        )
        print(json.dumps(results, indent=1), flush=True)
    cmd = [sys.executable, __file__, "--interleave", str(keep), "--routes", str(args.routes)]
    done = subprocess.run([*cmd, *common], check=True, capture_output=True, text=True, cwd=ROOT)
    inter = json.loads(done.stdout.strip().splitlines()[-1])
    results["interleaved_decision_p50_ms"] = {"roster_34": inter["p50_ms_0"]}
    results["interleaved_decision_p50_ms"][f"synthetic_{args.routes}"] = inter["p50_ms_1"]
    results["interleaved_decision_ratio"] = round(inter["p50_ms_1"] / inter["p50_ms_0"], 2)
    shutil.rmtree(keep, ignore_errors=True)
    small, large = results["roster_34"], results[f"synthetic_{args.routes}"]
    results["ratios_large_over_34"] = {
        k: round(large[k] / max(small[k], 1e-9), 2)
        for k in (
            "train_calibrate_s",
            "train_calibrate_cpu_s",
            "cache_mb",
            "decision_p50_ms",
            "scoring_p50_ms",
        )
    }
    results["command"] = " ".join(sys.argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps(results["ratios_large_over_34"], indent=1))


if __name__ == "__main__":
    main()
