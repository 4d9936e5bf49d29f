#!/usr/bin/python3
"""PyTorch side of `npm run bench`: times the torch code of benchmark rows with the same rules as
bench/timing.ts (warm-up, then single calls until a minimum time and count, or a maximum count).

Two modes:
  batch:  torch_baseline.py [--threads N] [--quick] [specs.json]
          reads a JSON list of row specs {name, setup, step} (from the file, or stdin) and prints a
          JSON list [{name, samples_ms}].
  serve:  torch_baseline.py --serve --threads N
          one JSON request per stdin line, one JSON reply per stdout line (used by run.ts to
          alternate our timings with torch's): {"cmd": "info"}, {"cmd": "setup", "id", "setup",
          "step"}, {"cmd": "time", "id", "opts"}, {"cmd": "free", "id"}, {"cmd": "quit"}.
The environment (OPENBLAS_*, OMP_*) is used as given: this script changes none of it.
"""
import json
import math
import os
import platform
import resource
import sys
import textwrap
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

# Batch mode times each row in one block (serve mode gets its options per request from run.ts).
FULL = dict(warmupCalls=2, warmupSec=0.15, minSec=1.0, minIters=10, maxIters=5000)
QUICK = dict(warmupCalls=1, warmupSec=0.05, minSec=0.15, minIters=3, maxIters=600)


def compile_row(setup, step):
    ns = {"torch": torch, "nn": nn, "F": F, "math": math, "threads": torch.get_num_threads()}
    exec(compile(textwrap.dedent(setup), "<setup>", "exec"), ns)
    src = "def __step__():\n" + textwrap.indent(textwrap.dedent(step), "    ") + "\n"
    exec(compile(src, "<step>", "exec"), ns)
    return ns


def time_calls(fn, o, skip_warmup=False):
    now = time.perf_counter
    if not skip_warmup:
        w0 = now()
        i = 0
        while i < o["warmupCalls"] or now() - w0 < o["warmupSec"]:
            fn()
            i += 1
    samples = []
    total = 0.0
    f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    c0 = time.process_time()
    while len(samples) < o["maxIters"] and (total < o["minSec"] * 1e3 or len(samples) < o["minIters"]):
        t0 = now()
        fn()
        dt = (now() - t0) * 1e3
        samples.append(dt)
        total += dt
    return samples, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0, (time.process_time() - c0) * 1e3


def info():
    return {
        "torch": torch.__version__,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "mkldnn": torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled,
        "openblas_env": {k: v for k, v in os.environ.items() if k.startswith("OPENBLAS")},
    }


def serve():
    rows = {}
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        cmd = req.get("cmd")
        try:
            if cmd == "info":
                rep = info()
            elif cmd == "setup":
                rows[req["id"]] = compile_row(req["setup"], req["step"])
                rep = {"ok": True}
            elif cmd == "time":
                ns = rows[req["id"]]
                samples, faults, cpu_ms = time_calls(ns["__step__"], req["opts"], req.get("skipWarmup", False))
                rep = {"samples_ms": samples, "faults": faults, "cpu_ms": cpu_ms}
            elif cmd == "free":
                rows.pop(req["id"], None)
                rep = {"ok": True}
            elif cmd == "quit":
                break
            else:
                rep = {"error": "unknown cmd %r" % cmd}
        except Exception as e:  # report to the caller; the run goes on with the next row
            rep = {"error": "%s: %s" % (type(e).__name__, e)}
        sys.stdout.write(json.dumps(rep) + "\n")
        sys.stdout.flush()


def batch(path, opts):
    specs = json.load(open(path) if path else sys.stdin)
    out = []
    for s in specs:
        ns = compile_row(s["setup"], s["step"])
        samples, faults, cpu_ms = time_calls(ns["__step__"], opts)
        out.append({"name": s.get("name"), "samples_ms": samples, "faults": faults, "cpu_ms": cpu_ms})
        del ns
    print(json.dumps({"info": info(), "rows": out}))


def main(argv):
    threads = None
    quick = False
    serve_mode = False
    path = None
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--threads":
            threads = int(argv[i + 1])
            i += 1
        elif a == "--quick":
            quick = True
        elif a == "--serve":
            serve_mode = True
        else:
            path = a
        i += 1
    if threads is not None:
        torch.set_num_threads(threads)
    if serve_mode:
        serve()
    else:
        batch(path, QUICK if quick else FULL)


if __name__ == "__main__":
    main(sys.argv[1:])
