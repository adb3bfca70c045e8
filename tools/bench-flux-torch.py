#!/usr/bin/python3
"""Time the PyTorch FLUX forward (tools/flux_torch.py) and optionally Sinopia's, on the same files.

    bench-flux-torch.py --weights W --inputs IN [--steps N] [--sinopia-cli PATH]

Torch runs fp32 on the CPU, batch 1, no autograd, 2 threads: a warm-up, then the median wall time of
N timed forwards (one forward = one sampling step; N >= 7). With --sinopia-cli, runs
`PATH bench model --weights W --inputs IN`, takes the number before `ms/step` from its output and
prints both times and their ratio. Files come from make-flux-checkpoint.py, e.g.

    make-flux-checkpoint.py --config small --out /tmp/small.safetensors \\
        --inputs /tmp/in-small.safetensors --tokens-img 64 --tokens-txt 16
    bench-flux-torch.py --weights /tmp/small.safetensors --inputs /tmp/in-small.safetensors
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import time

THREADS = 2
# Set before torch (and its OpenMP runtime) loads, which reads them only at start-up. PASSIVE stops
# idle OpenMP workers from spinning between parallel regions, which on a 2-core machine would steal
# the CPU from OpenBLAS's own threads and skew the timings.
_ENV = {"OMP_WAIT_POLICY": "PASSIVE", "OMP_NUM_THREADS": str(THREADS), "OPENBLAS_NUM_THREADS": str(THREADS)}
_REEXEC_MARK = "SINOPIA_BENCH_REEXEC"

# Debian's libblas.so.3 is an alternatives link; torch (BLAS_INFO=generic) calls whatever it points to.
_BLAS_ALTERNATIVE = "/etc/alternatives/libblas.so.3-x86_64-linux-gnu"


def parse_args(argv):
    ap = argparse.ArgumentParser(
        prog="bench-flux-torch.py",
        description="Median ms per FLUX transformer forward in PyTorch (fp32, CPU, 2 threads, batch 1), "
                    "optionally next to sinopia-cli's 'bench model' on the same weights and inputs.")
    ap.add_argument("--weights", required=True, metavar="W", help="FLUX checkpoint (BFL naming)")
    ap.add_argument("--inputs", required=True, metavar="IN", help="inputs file (input.img, input.txt, ...)")
    ap.add_argument("--steps", type=int, default=9, metavar="N",
                    help="timed forwards after the warm-up, at least 7 (default 9)")
    ap.add_argument("--warmup", type=int, default=2, metavar="N", help="untimed warm-up forwards (default 2)")
    ap.add_argument("--sinopia-cli", metavar="PATH", help="also time 'PATH bench model --weights W --inputs IN'")
    ap.add_argument("--timeout", type=float, default=600, metavar="S",
                    help="seconds to allow the Sinopia run (default 600)")
    args = ap.parse_args(argv)
    if args.steps < 7:
        ap.error("--steps must be at least 7 (the median needs enough runs to be stable)")
    if args.warmup < 1:
        ap.error("--warmup must be at least 1 (the first forward pays one-off allocation costs)")
    for what, path in (("--weights", args.weights), ("--inputs", args.inputs)):
        if not os.path.isfile(path):
            ap.error(f"{what} {path}: no such file")
    if args.sinopia_cli and not (os.path.isfile(args.sinopia_cli) and os.access(args.sinopia_cli, os.X_OK)):
        ap.error(f"--sinopia-cli {args.sinopia_cli}: not an executable file")
    return args


def ensure_env():
    """Re-exec with the OpenMP/BLAS environment if it is not already in place (torch is not loaded yet)."""
    if all(os.environ.get(k) == v for k, v in _ENV.items()):
        return
    if os.environ.get(_REEXEC_MARK):  # something reset the variables; do not loop
        print("bench-flux-torch.py: warning: could not set the OpenMP environment; timings may be noisy",
              file=sys.stderr)
        return
    env = dict(os.environ, **_ENV, **{_REEXEC_MARK: "1"})
    os.execve(sys.executable, [sys.executable, os.path.abspath(__file__)] + sys.argv[1:], env)


def blas_report(torch):
    """(description, is_reference_blas) of the BLAS torch actually calls for fp32 matmuls."""
    cfg = torch.__config__.show()
    if re.search(r"BLAS_INFO=(mkl|open)", cfg):
        return re.search(r"BLAS_INFO=(\w+)", cfg).group(1), False
    # BLAS_INFO=generic (Debian): torch calls libblas.so.3 and the loaded file tells us which one. Do one
    # matmul first so the library is certainly mapped.
    torch.ones(64, 64) @ torch.ones(64, 64)
    libs = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1] if len(line.split()) >= 6 else ""
                if re.search(r"lib(open)?blas[^/]*\.so", os.path.basename(path)):
                    libs.add(os.path.realpath(path))
    except OSError:
        pass
    fast = re.compile(r"openblas|blis|mkl|atlas")
    # torch links the generic soname libblas.so.3, so the file that soname resolved to decides; an
    # OpenBLAS mapped next to it (numpy's LAPACK pulls one in) does not make torch's sgemm fast.
    blas3 = [l for l in libs if os.path.basename(l).startswith("libblas.so")]
    if blas3:
        return ", ".join(sorted(blas3)), not any(fast.search(l) for l in blas3)
    if libs:
        return ", ".join(sorted(libs)), not any(fast.search(l) for l in libs)
    target = os.path.realpath(_BLAS_ALTERNATIVE) if os.path.exists(_BLAS_ALTERNATIVE) else "unknown"
    return target, "openblas" not in target


def run_sinopia(cli, weights, inputs, timeout):
    """-> (ms_per_step or None, message)."""
    cmd = [cli, "bench", "model", "--weights", weights, "--inputs", inputs]
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, f"'{' '.join(cmd)}' did not finish within {timeout:.0f} s"
    except OSError as e:
        return None, f"could not run {cli}: {e.strerror or e}"
    out = p.stdout
    # sinopia-cli exits 2 (usage) for an unknown command or benchmark name: the build predates
    # 'bench model'. Any other failure is a real error worth showing in full.
    if p.returncode == 2 and re.search(r"unknown (command|benchmark)|Usage:", out):
        first = next((l for l in out.splitlines() if "unknown" in l), out.strip().splitlines()[0] if out.strip() else "")
        return None, f"{cli} does not support 'bench model' ({first.strip()})"
    if p.returncode != 0:
        return None, f"'{' '.join(cmd)}' failed with exit status {p.returncode}:\n{out.rstrip()}"
    for line in out.splitlines():
        m = re.search(r"([0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?)\s*ms/step", line)
        if m:
            return float(m.group(1)), line.strip()
    return None, f"'{' '.join(cmd)}' printed no line with 'ms/step':\n{out.rstrip()}"


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    ensure_env()

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import flux_torch as ft
    torch = ft.torch_module()  # exits with a clear message when torch is missing

    torch.set_num_threads(THREADS)
    torch.set_grad_enabled(False)
    blas, reference = blas_report(torch)
    try:
        model = ft.FluxModel.from_file(args.weights)
        inputs = ft.load_inputs(args.inputs)
        ft.check_inputs(model.cfg, inputs)
    except (ft.SafetensorsError, ft.ConfigError, ValueError) as e:
        print(f"bench-flux-torch.py: {e}", file=sys.stderr)
        return 1
    cfg = model.cfg
    n_img, n_txt = inputs["img"].shape[1], inputs["txt"].shape[1]
    if inputs["img"].shape[0] != 1:
        print("bench-flux-torch.py: warning: inputs have batch size "
              f"{inputs['img'].shape[0]}; the figures below are per batch, not per image", file=sys.stderr)

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}, BLAS: {blas}")
    if reference:
        print("WARNING: torch is using the reference (netlib) BLAS, which is many times slower than OpenBLAS; "
              "install libopenblas0 (Debian) or point /etc/alternatives/libblas.so.3-x86_64-linux-gnu at it. "
              "These timings are not representative.")
    print(f"model: hidden {cfg['hidden_size']}, {cfg['num_heads']} heads, {cfg['depth']} double + "
          f"{cfg['depth_single_blocks']} single blocks; {n_img} image + {n_txt} text tokens")

    # Other processes competing for the cores inflate every figure; say so rather than mislead.
    load1 = os.getloadavg()[0]
    ncpu = os.cpu_count() or 1
    if load1 + THREADS > ncpu + 1:
        print(f"WARNING: load average {load1:.2f} on {ncpu} CPUs before the run: other processes compete "
              f"with the {THREADS} benchmark threads, so these timings are likely inflated and noisy.")

    try:
        for _ in range(args.warmup):
            ft.run_inputs(model, inputs)
        times = []
        for _ in range(args.steps):
            t0 = time.perf_counter()
            ft.run_inputs(model, inputs)
            times.append((time.perf_counter() - t0) * 1e3)
    except (RuntimeError, ValueError) as e:  # e.g. out of memory on a large config
        print(f"bench-flux-torch.py: the forward pass failed: {e}", file=sys.stderr)
        return 1
    med = statistics.median(times)
    gflops = model.flops(n_img, n_txt) / 1e9
    print(f"torch: {med:.2f} ms/forward (median of {len(times)}, min {min(times):.2f}, max {max(times):.2f}); "
          f"{gflops:.3f} GFLOP/forward = {gflops / med * 1e3:.1f} GFLOP/s")

    if not args.sinopia_cli:
        return 0
    ms, msg = run_sinopia(args.sinopia_cli, args.weights, args.inputs, args.timeout)
    if ms is None:
        print(f"sinopia: {msg}")
        print(f"only the torch figure is available: {med:.2f} ms/forward")
        # A missing subcommand is expected with older builds; a crash or garbled output is not.
        return 0 if "does not support" in msg else 1
    ratio = ms / med
    verdict = (f"Sinopia is {1 / ratio:.2f}x faster" if ratio < 1 else
               f"Sinopia is {ratio:.2f}x slower" if ratio > 1 else "same speed")
    print(f"sinopia: {ms:.2f} ms/step   (from: {msg})")
    print(f"torch {med:.2f} ms/forward, sinopia {ms:.2f} ms/step: sinopia/torch = {ratio:.3f} ({verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
