"""libtorch's side of `cargo xtask bench`'s convolution table: the seconds of one float32
convolution (forward) and of its input gradient (`torch.nn.grad.conv2d_input`, what autograd
runs for a convolution's input) on the CPU, for each layer shape given, on T threads, median of
several repetitions after a warm-up (as the candle plugin's `conv_bench` example times its own).

usage: conv_torch.py --threads T SHAPES.json

SHAPES.json holds a list of {"batch", "channels", "out_channels", "kh", "kw", "height",
"width", "padding"}. Prints one JSON list: {"forward_s", "input_gradient_s"} per shape.
"""

import argparse
import json
import time

import torch


def median_seconds(f):
    """Median seconds of f over repetitions filling about half a second (3 to 15)."""
    start = time.perf_counter()
    f()
    once = time.perf_counter() - start
    reps = min(15, max(3, int(0.5 / max(once, 1e-9))))
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    times.sort()
    return times[reps // 2]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("shapes")
    parser.add_argument("--threads", type=int, required=True)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    with open(args.shapes) as f:
        shapes = json.load(f)
    out = []
    with torch.no_grad():
        for s in shapes:
            n, c, m = s["batch"], s["channels"], s["out_channels"]
            h, w, p = s["height"], s["width"], s["padding"]
            x = torch.rand(n, c, h, w) * 2 - 1
            k = torch.rand(m, c, s["kh"], s["kw"]) * 2 - 1
            y = torch.nn.functional.conv2d(x, k, padding=p)
            gy = torch.rand_like(y) * 2 - 1
            forward = median_seconds(lambda: torch.nn.functional.conv2d(x, k, padding=p))
            gradient = median_seconds(
                lambda: torch.nn.grad.conv2d_input(x.shape, k, gy, padding=p)
            )
            out.append({"forward_s": forward, "input_gradient_s": gradient})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
