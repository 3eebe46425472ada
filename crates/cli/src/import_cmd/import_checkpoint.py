"""`srlens import`: a PyTorch SR checkpoint to ONNX and TorchScript, through spandrel 0.4.2.

Run by the srlens binary as `python SCRIPT CHECKPOINT OUTDIR`, with this text (embedded in
the binary) written to a private temporary folder: TorchScript needs the source of the
per-image wrapper, which `python -c` would not give it. Writes `OUTDIR/<stem>.onnx` (opset 17,
legacy exporter, H and W dynamic, batch 1, with the srlens.* metadata) and `OUTDIR/<stem>.pt`
(TorchScript traced at batch 1, run one image at a time), each under a temporary name first;
both are checked on an input of another size against torch's own output before they are
renamed into place, so a failure leaves nothing behind.

Every failure is one line on stderr, `srlens-import-error: <sentence>`, exit code 2 (no
traceback); the binary shows the sentence as `error: <sentence>`. A Python without what the
import needs gets `srlens-import-missing: <what>` (exit code 3), which the binary completes with
how to get it. On success the summary goes to stdout.
"""

import sys

# Python puts the script's folder first on the module path: nothing there may replace torch.
if sys.path:
    del sys.path[0]

import contextlib
import json
import os
import warnings
from typing import List

SPANDREL_VERSION = "0.4.2"
TORCH_VERSION = "2.13"
TOLERANCE = 1e-4
OPSET = 17


try:
    import torch
except Exception as e:  # ImportError, or a broken install raising something else
    torch, TORCH_ERROR = None, e


class ImportFailure(Exception):
    """A failure to report as one sentence."""


if torch is not None:

    class PerImage(torch.nn.Module):
        """The traced network run on one image at a time: a trace at batch 1 bakes the batch
        size into these networks' window arithmetic (`B = int(windows.shape[0] / ...)`), and
        gives wrong outputs, silently, for a batch of 2."""

        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            outs: List[torch.Tensor] = []
            for i in range(x.shape[0]):
                outs.append(self.inner(x[i : i + 1]))
            return torch.cat(outs, 0)


def fail_missing(what):
    print(f"srlens-import-missing: {what}", file=sys.stderr, flush=True)
    sys.exit(3)


def load_libraries():
    """spandrel and onnx at the pinned versions, with torch (onnxruntime is optional)."""
    if torch is None:
        fail_missing(f"{sys.executable} cannot import torch ({one_line(TORCH_ERROR)})")
    try:
        import spandrel
    except Exception as e:
        fail_missing(f"{sys.executable} cannot import spandrel ({one_line(e)})")
    try:
        import onnx
    except Exception as e:
        fail_missing(f"{sys.executable} cannot import onnx ({one_line(e)})")
    found = getattr(spandrel, "__version__", "?")
    if found != SPANDREL_VERSION:
        fail_missing(f"{sys.executable} has spandrel {found}, not {SPANDREL_VERSION}")
    if not torch.__version__.startswith(TORCH_VERSION + "."):
        fail_missing(f"{sys.executable} has torch {torch.__version__}, not {TORCH_VERSION}")
    try:
        import onnxruntime
    except Exception:
        onnxruntime = None
    return spandrel, onnx, onnxruntime


def one_line(e):
    text = " ".join(str(e).split())
    return text or type(e).__name__


def round_up(n, multiple):
    return -(-n // multiple) * multiple


def window_facts(model, requirements):
    """The multiple the network pads H and W to inside (its attention window), and DAT-like
    split sizes when the network has them."""
    window = getattr(model, "window_size", None)
    splits = sorted(
        {
            tuple(int(s) for s in m.split_size)
            for m in model.modules()
            if isinstance(getattr(m, "split_size", None), (list, tuple))
        }
    )
    if isinstance(window, (list, tuple)):
        window = max(int(w) for w in window)
    if window is None and splits:
        # DAT pads to the larger split size (Adaptive_Spatial_Attention).
        window = max(max(s) for s in splits)
    if window is None:
        window = requirements.multiple_of
    return max(int(window), 1), splits


def training_sizes(model):
    """The sizes the network was built for (`img_size`, `input_resolution`...): a Swin block
    whose input has that size uses its stored attention mask, which a trace would keep as a
    constant for every size."""
    found = set()
    for m in model.modules():
        for key in ("img_size", "input_resolution", "patches_resolution"):
            value = getattr(m, key, None)
            values = value if isinstance(value, (list, tuple)) else [value]
            found.update(int(v) for v in values if isinstance(v, int))
    return found


def sizes(requirements, window, avoid):
    """The export size (square, not a multiple of the window, so that the network's padding
    is traced, and padded to none of the sizes in `avoid`) and the check size (another size,
    not square unless the model must be)."""
    step = max(requirements.multiple_of, 1)
    start = round_up(max(20, requirements.minimum), step)
    export = start
    for k in range(256):
        candidate = start + k * step
        if (window <= 1 or candidate % window != 0) and round_up(
            candidate, max(window, 1)
        ) not in avoid:
            export = candidate
            break
    h = round_up(max(requirements.minimum, 16) + 3, step)
    w = h if requirements.square else round_up(h + 8, step)
    if (h, w) == (export, export):
        h, w = h + step, w + step
    return export, (h, w)


def max_abs_diff(a, b):
    if tuple(a.shape) != tuple(b.shape):
        return None
    return float((a.double() - b.double()).abs().max())


def written_by_srlens(path):
    """Whether `path` is a TorchScript file with the `srlens.json` an import adds."""
    extra = {"srlens.json": ""}
    try:
        torch.jit.load(path, map_location="cpu", _extra_files=extra)
    except Exception:
        return False
    return bool(extra["srlens.json"])


def import_checkpoint(checkpoint, out_dir, spandrel, onnx, onnxruntime):
    name = os.path.basename(checkpoint)
    stem = os.path.splitext(name)[0]
    if not os.path.isfile(checkpoint):
        raise ImportFailure(f"`{checkpoint}` is not a file")

    try:
        descriptor = spandrel.ModelLoader().load_from_file(checkpoint)
    except spandrel.UnsupportedModelError:
        if written_by_srlens(checkpoint):
            raise ImportFailure(
                f"`{checkpoint}` is a TorchScript file `srlens import` wrote: srlens runs it as "
                "it is (backend tch); import the checkpoint it was made from instead"
            )
        known = ", ".join(a.architecture.name for a in spandrel.MAIN_REGISTRY.architectures())
        raise ImportFailure(
            f"`{checkpoint}` is not a checkpoint spandrel {SPANDREL_VERSION} recognises; "
            f"it knows: {known}"
        )
    except ValueError as e:
        if "extension" in str(e):
            raise ImportFailure(
                f"`{checkpoint}` has an extension spandrel {SPANDREL_VERSION} does not read "
                "(it reads .pth, .pt, .ckpt and .safetensors)"
            )
        raise ImportFailure(
            f"`{checkpoint}` cannot be read as a PyTorch checkpoint or safetensors file: "
            f"{one_line(e)}"
        )
    except Exception as e:
        raise ImportFailure(
            f"`{checkpoint}` cannot be read as a PyTorch checkpoint or safetensors file: "
            f"{one_line(e)}"
        )

    arch = descriptor.architecture.name
    what = f"`{checkpoint}` is a {arch} model"
    purpose = getattr(descriptor, "purpose", "?")
    if purpose != "SR":
        raise ImportFailure(
            f"{what} for {purpose}, not super-resolution: srlens imports SR models only"
        )
    if not isinstance(descriptor, spandrel.ImageModelDescriptor):
        raise ImportFailure(f"{what} that takes more than an image: srlens imports SR models only")
    if descriptor.scale < 1:
        raise ImportFailure(f"{what} with scale {descriptor.scale}: srlens needs a scale >= 1")
    if (descriptor.input_channels, descriptor.output_channels) != (3, 3):
        raise ImportFailure(
            f"{what} with {descriptor.input_channels} input and {descriptor.output_channels} "
            "output channels: srlens imports RGB models (3 in, 3 out)"
        )

    model = descriptor.model.float().eval()
    for p in model.parameters():
        p.requires_grad_(False)
    requirements = descriptor.size_requirements
    window, splits = window_facts(model, requirements)
    export_size, check_size = sizes(requirements, window, training_sizes(model))
    scale = int(descriptor.scale)
    parameters = sum(p.numel() for p in model.parameters())

    metadata = {
        "srlens.scale": str(scale),
        "srlens.input_range": "0,1",
        "srlens.output_range": "0,1",
        "srlens.architecture": arch,
        "srlens.source": f"spandrel {SPANDREL_VERSION}: {name}",
        "srlens.window_multiple": str(window),
        "srlens.min_size": str(int(requirements.minimum)),
        "srlens.batch": "1",
    }
    if splits:
        metadata["srlens.split_size"] = ";".join(",".join(map(str, s)) for s in splits)
    if requirements.multiple_of > 1:
        metadata["srlens.size_multiple"] = str(int(requirements.multiple_of))
    if requirements.square:
        metadata["srlens.square"] = "true"

    onnx_path = os.path.normpath(os.path.join(out_dir, stem + ".onnx"))
    pt_path = os.path.normpath(os.path.join(out_dir, stem + ".pt"))
    for target in (onnx_path, pt_path):
        if os.path.exists(target) and os.path.samefile(target, checkpoint):
            raise ImportFailure(
                f"`{checkpoint}` would be replaced by the import's output `{target}`: "
                "give another folder with --out"
            )

    created = []
    parent = os.path.abspath(out_dir)
    while not os.path.isdir(parent):
        created.append(parent)
        parent = os.path.dirname(parent)
    tag = f".srlens-import.{os.getpid()}"
    onnx_tmp = os.path.join(out_dir, f".{stem}.onnx{tag}")
    pt_tmp = os.path.join(out_dir, f".{stem}.pt{tag}")
    try:
        os.makedirs(out_dir, exist_ok=True)
        g = torch.Generator().manual_seed(0)
        x = torch.rand(1, 3, export_size, export_size, generator=g)
        x2 = torch.rand(1, 3, check_size[0], check_size[1], generator=g)
        with torch.no_grad():
            want = model(x2)
        if tuple(want.shape) != (1, 3, check_size[0] * scale, check_size[1] * scale):
            raise ImportFailure(
                f"{what} whose output for a 1x3x{check_size[0]}x{check_size[1]} input is "
                f"{list(want.shape)}, not x{scale}"
            )

        try:
            torch.onnx.export(
                model,
                (x,),
                onnx_tmp,
                opset_version=OPSET,
                dynamo=False,
                input_names=["input"],
                output_names=["output"],
                dynamic_axes={
                    "input": {2: "height", 3: "width"},
                    "output": {2: "out_height", 3: "out_width"},
                },
            )
            proto = onnx.load(onnx_tmp)
            # The exporter names the output's batch dimension after an operator
            # (`Sliceoutput_dim_0`); the input's is 1, and so is the output's.
            batch = proto.graph.output[0].type.tensor_type.shape.dim[0]
            batch.Clear()
            batch.dim_value = 1
            del proto.metadata_props[:]
            for key, value in metadata.items():
                entry = proto.metadata_props.add()
                entry.key, entry.value = key, value
            onnx.save(proto, onnx_tmp)
        except ImportFailure:
            raise
        except Exception as e:
            raise ImportFailure(f"{what}; exporting it to ONNX failed: {one_line(e)}")

        try:
            traced = torch.jit.script(PerImage(torch.jit.trace(model, x, check_trace=False)))
            pt_metadata = {k: v for k, v in metadata.items() if k != "srlens.batch"}
            torch.jit.save(
                traced, pt_tmp, _extra_files={"srlens.json": json.dumps(pt_metadata)}
            )
        except Exception as e:
            raise ImportFailure(f"{what}; tracing it to TorchScript failed: {one_line(e)}")

        shape = f"{check_size[0]}x{check_size[1]}"
        tolerance = TOLERANCE * max(1.0, float(want.abs().max()))
        checks = []
        # The TorchScript file on a batch of two different images (the second one mirrored):
        # PerImage runs them one at a time.
        pair = torch.cat([x2, x2.flip(-1)], 0)
        with torch.no_grad():
            want_pair = torch.cat([want, model(pair[1:])], 0)
            got = torch.jit.load(pt_tmp)(pair)
        checks.append((pt_path, "TorchScript", f"2x3x{shape}", max_abs_diff(got, want_pair)))
        if onnxruntime is not None:
            try:
                session = onnxruntime.InferenceSession(
                    onnx_tmp, providers=["CPUExecutionProvider"]
                )
                (got,) = session.run(None, {"input": x2.numpy()})
            except Exception as e:
                raise ImportFailure(
                    f"{what}; ONNX Runtime cannot run its export on a 1x3x{shape} input: "
                    f"{one_line(e)}"
                )
            got = torch.from_numpy(got)
            checks.append((onnx_path, "ONNX", f"1x3x{shape}", max_abs_diff(got, want)))
        for path, kind, given, diff in checks:
            if diff is None:
                raise ImportFailure(
                    f"`{os.path.basename(path)}` ({kind} of `{checkpoint}`) gives another "
                    f"output shape than torch on a {given} input"
                )
            if not diff <= tolerance:
                raise ImportFailure(
                    f"`{os.path.basename(path)}` ({kind} of `{checkpoint}`) differs from "
                    f"torch's output by {diff:.3g} (more than {tolerance:.3g}) on a "
                    f"{given} input"
                )

        os.replace(onnx_tmp, onnx_path)
        os.replace(pt_tmp, pt_path)
    except BaseException:
        for tmp in (onnx_tmp, pt_tmp):
            with contextlib.suppress(OSError):
                os.remove(tmp)
        for folder in created:
            with contextlib.suppress(OSError):
                os.rmdir(folder)
        raise

    checked = ", ".join(f"{kind} {diff:.2g} ({given})" for _, kind, given, diff in checks)
    if onnxruntime is None:
        checked += "; ONNX not run (this Python has no onnxruntime)"
    return [
        f"{arch} x{scale}, {parameters} parameters, window multiple {window}, "
        f"minimum size {int(requirements.minimum)} (spandrel {SPANDREL_VERSION})",
        f"largest difference from torch: {checked}",
        onnx_path,
        pt_path,
    ]


def main():
    if len(sys.argv) != 3:
        raise ImportFailure("the import script takes CHECKPOINT OUTDIR")
    checkpoint, out_dir = sys.argv[1], sys.argv[2]
    warnings.filterwarnings("ignore")
    stdout = sys.stdout
    # Whatever torch and onnx print while they work goes to stderr, which the binary shows
    # only when the import fails.
    with contextlib.redirect_stdout(sys.stderr):
        spandrel, onnx, onnxruntime = load_libraries()
        torch.manual_seed(0)
        lines = import_checkpoint(checkpoint, out_dir, spandrel, onnx, onnxruntime)
    for line in lines:
        print(line, file=stdout)


if __name__ == "__main__":
    try:
        main()
    except ImportFailure as e:
        print(f"srlens-import-error: {e}", file=sys.stderr, flush=True)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
    except SystemExit:
        raise
    except BaseException as e:
        print(
            f"srlens-import-error: the import failed unexpectedly: {type(e).__name__}: "
            f"{one_line(e)}",
            file=sys.stderr,
            flush=True,
        )
        sys.exit(2)
