"""The ORIGINAL LAM algorithm, as the LAM demo runs it (Gu & Dong, CVPR 2021;
github.com/X-Lowlevel-Vision/LAM_Demo, `SaliencyModel/BackProp.py`): one path step at a time,
the model's parameters requiring grad, `backward()` per step, the progressive Gaussian blur path
made with a 2-D filter (reflect-101 borders, as cv2.filter2D). `cargo xtask bench` runs it in the
same run as srlens so that the ratios survive a noisy machine.

usage: original_lam.py MODEL.pt LR.f32 SIDE --window X Y SIZE --steps N --runs R --range HI
       [--threads T]

LR.f32 holds 3 x SIDE x SIDE float32 values in [0, 1] (C, H, W order). Prints one JSON object:
the seconds of each run, the peak resident memory and the map's sum (a sanity figure).
"""

import argparse
import json
import math
import resource
import time

import numpy as np
import torch
import torch.nn.functional as F


def isotropic_gaussian_kernel(l, sigma, epsilon=1e-5):
    ax = np.arange(-l // 2 + 1.0, l // 2 + 1.0)
    xx, yy = np.meshgrid(ax, ax)
    kernel = np.exp(-(xx**2 + yy**2) / (2.0 * (sigma + epsilon) ** 2))
    return kernel / np.sum(kernel)


def filter2d(image, kernel):
    """cv2.filter2D(image, -1, kernel) for a C x H x W float image (BORDER_REFLECT_101)."""
    c = image.shape[0]
    k = torch.from_numpy(kernel.astype(np.float64))[None, None].repeat(c, 1, 1, 1)
    x = torch.from_numpy(image.astype(np.float64))[None]
    p = kernel.shape[0] // 2
    x = F.pad(x, (p, p, p, p), mode="reflect")
    return F.conv2d(x, k, groups=c)[0].numpy()


def gaussian_blur_path(image, sigma, fold, l):
    """The demo's GaussianBlurPath: `fold` blurred images and the path's derivative."""
    kernels = [isotropic_gaussian_kernel(l, s) for s in np.linspace(sigma, 0, fold + 1)]
    images = np.stack([filter2d(image, kernels[i + 1]) for i in range(fold)])
    derivative = np.stack(
        [filter2d(image, (kernels[i + 1] - kernels[i]) * fold) for i in range(fold)]
    )
    return images.astype(np.float32), derivative.astype(np.float32)


def attr_grad(tensor, h, w, window):
    """The demo's attr_grad: the gradient energy of the window, summed."""
    h_x, w_x = tensor.size()[2], tensor.size()[3]
    h_grad = torch.pow(tensor[:, :, : h_x - 1, :] - tensor[:, :, 1:, :], 2)
    w_grad = torch.pow(tensor[:, :, :, : w_x - 1] - tensor[:, :, :, 1:], 2)
    grad = torch.pow(h_grad[:, :, :, :-1] + w_grad[:, :, :-1, :], 1 / 2)
    return grad[:, :, h : h + window, w : w + window].sum()


def path_gradient(image, model, objective, fold, sigma, l, hi):
    """The demo's Path_gradient: one forward and one backward per path point."""
    images, derivative = gaussian_blur_path(image, sigma, fold, l)
    grads = np.zeros_like(images)
    for i in range(fold):
        img = torch.from_numpy(images[i])
        img.requires_grad_(True)
        result = model(img[None] * hi) / hi
        target = objective(result)
        target.backward()
        grad = img.grad.numpy()
        grad[np.isnan(grad)] = 0.0
        grads[i] = grad * derivative[i]
    return grads


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("lr")
    p.add_argument("side", type=int)
    p.add_argument("--window", type=int, nargs=3, required=True)
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--range", type=float, default=1.0)
    p.add_argument("--threads", type=int, default=0)
    a = p.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    image = np.fromfile(a.lr, dtype=np.float32).reshape(3, a.side, a.side)
    model = torch.jit.load(a.model)
    model.eval()
    # As in the demo: nothing turns the parameters' gradients off.
    for prm in model.parameters():
        prm.requires_grad_(True)
    x, y, size = a.window
    objective = lambda sr: attr_grad(sr, y, x, size)
    seconds, total = [], 0.0
    for _ in range(a.runs):
        start = time.perf_counter()
        grads = path_gradient(image, model, objective, a.steps, 1.2, 9, a.range)
        seconds.append(time.perf_counter() - start)
        total = float(grads.sum())
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "peak_mib": peak_kib / 1024, "map_sum": total,
                      "threads": torch.get_num_threads(), "torch": torch.__version__}))


if __name__ == "__main__":
    main()
