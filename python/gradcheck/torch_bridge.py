"""A PyTorch model, its state_dict and its .grad, to gradcheck's checkpoint and version 2 spec.

Nothing here imports torch: the functions take the module and tensors you already have
(duck typing), so the bridge still needs numpy only.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from typing import Any, Mapping, Sequence

import numpy as np

from .cli import run_check
from .safetensors import write_safetensors


class TorchBridgeError(ValueError):
    """A module or tensor the bridge cannot carry over; the message says which, and why."""


def write_torch_checkpoint(path: str, model: Any, X: Any, Y: Any, *, step: int | None = None) -> None:
    """Writes the model's state_dict under its own names, each parameter's `.grad` as
    `grad.<name>`, and the batch as X and Y (examples first, as PyTorch holds them).

    Call it after `loss.backward()` on that batch. Integer tensors (token or class ids) are
    stored as I64.
    """
    tensors: dict[str, np.ndarray] = {name: _numpy(value) for name, value in model.state_dict().items()}
    for name, parameter in model.named_parameters():
        if parameter.grad is None:
            raise TorchBridgeError(f"parameter {name} has no .grad: call loss.backward() on this batch first (or it takes no part in the loss)")
        tensors[f"grad.{name}"] = _numpy(parameter.grad)
    tensors["X"] = _numpy(X)
    tensors["Y"] = _numpy(Y)
    write_safetensors(path, tensors, {"step": str(step)} if step is not None else None)


def spec_from_sequential(model: Any, input_shape: Sequence[int], loss: Mapping[str, Any], *, name: str = "model", l2: float = 0.0, input_dtype: str = "float") -> dict:
    """The version 2 spec of an nn.Sequential of the layers gradcheck knows, named as its
    state_dict names them ("0", "1", …, or the names of an OrderedDict).

    `loss` is the spec's loss, e.g. {"type": "cross-entropy", "labelSmoothing": 0.1}. PyTorch's
    optimizer weight_decay is not part of the loss nor of .grad, so `l2` stays 0 for a PyTorch
    gradient unless your loss adds the term itself.
    """
    layers = [_layer(child_name, child) for child_name, child in model.named_children()]
    return {"name": name, "input": {"shape": list(input_shape), "dtype": input_dtype}, "layers": layers, "loss": dict(loss), "l2": l2}


def check_torch(model: Any, X: Any, Y: Any, spec: Mapping[str, Any], *, mode: str = "full", step: int | None = None, cli: Sequence[str] | None = None) -> dict:
    """Checks the model's `.grad` (after `loss.backward()` on X, Y) with the gradcheck CLI and
    returns its report (a dict): "verdict", per tensor under its state_dict name, "diagnosis".

    `spec` is the version 2 spec, from spec_from_sequential or written by hand. The CLI is
    found as for check(): `cli`, $GRADCHECK_CLI, `gradcheck` on the PATH, or this repository's build.
    """
    directory = tempfile.mkdtemp(prefix="gradcheck-")
    try:
        checkpoint = os.path.join(directory, "checkpoint.safetensors")
        spec_path = os.path.join(directory, "model.json")
        write_torch_checkpoint(checkpoint, model, X, Y, step=step)
        write_torch_spec(spec_path, spec)
        return run_check(checkpoint, spec_path, mode=mode, cli=cli, error=TorchBridgeError)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def write_torch_spec(path: str, spec: Mapping[str, Any]) -> None:
    with open(path, "w") as file:
        json.dump(spec, file, indent=2)
        file.write("\n")


def _layer(name: str, module: Any) -> dict:
    kind = type(module).__name__
    if kind == "Linear":
        return {"type": "linear", "name": name, "out": module.out_features, "bias": module.bias is not None}
    if kind == "Conv2d":
        kernel, stride, padding = (_square(name, what, getattr(module, what)) for what in ("kernel_size", "stride", "padding"))
        if _square(name, "dilation", module.dilation) != 1 or module.groups != 1 or module.padding_mode != "zeros":
            raise TorchBridgeError(f"module {name} (Conv2d): only dilation 1, groups 1 and zero padding are supported")
        return {"type": "conv2d", "name": name, "out": module.out_channels, "kernel": kernel, "stride": stride, "padding": padding, "bias": module.bias is not None}
    if kind in ("MaxPool2d", "AvgPool2d"):
        if _square(name, "padding", module.padding) != 0 or getattr(module, "ceil_mode", False):
            raise TorchBridgeError(f"module {name} ({kind}): only padding 0 and ceil_mode False are supported")
        if kind == "MaxPool2d" and _square(name, "dilation", module.dilation) != 1:
            raise TorchBridgeError(f"module {name} (MaxPool2d): only dilation 1 is supported")
        kernel = _square(name, "kernel_size", module.kernel_size)
        stride = _square(name, "stride", module.stride if module.stride is not None else kernel)
        return {"type": kind.lower(), "kernel": kernel, "stride": stride}
    if kind == "Flatten":
        if module.start_dim != 1 or module.end_dim != -1:
            raise TorchBridgeError(f"module {name} (Flatten): only start_dim 1, end_dim -1 is supported")
        return {"type": "flatten"}
    if kind == "BatchNorm2d":
        if not module.affine or not module.track_running_stats:
            raise TorchBridgeError(f"module {name} (BatchNorm2d): only affine=True with running statistics is supported")
        # as the module normalizes now: batch statistics in train(), the running ones in eval()
        return {"type": "batchnorm2d", "name": name, "eps": module.eps, "statistics": "batch" if module.training else "running"}
    if kind == "LayerNorm":
        if len(module.normalized_shape) != 1 or not module.elementwise_affine:
            raise TorchBridgeError(f"module {name} (LayerNorm): only the last dimension, with weight and bias, is supported")
        return {"type": "layernorm", "name": name, "eps": module.eps}
    if kind == "Embedding":
        return {"type": "embedding", "name": name, "vocab": module.num_embeddings, "dim": module.embedding_dim}
    if kind == "LeakyReLU":
        return {"type": "leaky_relu", "slope": module.negative_slope}
    if kind == "GELU":
        return {"type": "gelu", "approximate": module.approximate}
    if kind == "Dropout":
        return {"type": "dropout", "p": module.p}
    simple = {"ReLU": "relu", "Tanh": "tanh", "Sigmoid": "sigmoid", "SiLU": "silu"}
    if kind in simple:
        return {"type": simple[kind]}
    raise TorchBridgeError(
        f"module {name} ({kind}) has no version 2 layer; write the spec by hand for this model "
        "(attention, residual blocks and learned positions are written in the spec, not derived)"
    )


def _square(name: str, what: str, value: Any) -> int:
    if isinstance(value, int):
        return value
    if isinstance(value, (tuple, list)) and len(set(value)) == 1:
        return int(value[0])
    raise TorchBridgeError(f"module {name}: {what} {value} is not square; gradcheck's 2-d layers take one size for both dimensions")


def _numpy(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    array = np.asarray(value)
    if np.issubdtype(array.dtype, np.integer):
        return array.astype(np.int64)
    if array.dtype == np.bool_:
        raise TorchBridgeError("a boolean tensor cannot be stored; give ids as integers and targets as numbers")
    return array


__all__ = ["TorchBridgeError", "spec_from_sequential", "write_torch_checkpoint", "write_torch_spec"]
