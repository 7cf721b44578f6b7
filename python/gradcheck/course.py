"""Course-style networks (numpy dicts, examples as columns) to gradcheck's checkpoint and spec.

In the course layout W1 has shape (n1, n0), b1 (n1, 1), and X (n0, m) and Y (nL, m) hold one
example per column. gradcheck's checkpoint holds one example per row, so X and Y are
transposed here, and nowhere else.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from typing import Mapping, Sequence

import numpy as np

from .cli import run_check
from .safetensors import write_safetensors

HIDDEN = ("relu", "tanh", "sigmoid", "linear")
OUTPUT_FOR_LOSS = {"cross-entropy": ("softmax", "sigmoid"), "mse": ("linear",)}


class CourseLayoutError(ValueError):
    """The arrays do not describe the network the way the course layout does; the message says how to fix them."""


def write_course_checkpoint(
    checkpoint_path: str,
    model_path: str,
    parameters: Mapping[str, np.ndarray],
    gradients: Mapping[str, np.ndarray],
    X: np.ndarray,
    Y: np.ndarray,
    activations: Sequence[str],
    *,
    loss: str = "cross-entropy",
    l2: float = 0.0,
    keep_prob: float = 1.0,
    name: str = "course-model",
    step: int | None = None,
    examples: str | None = None,
) -> None:
    """Writes the checkpoint (θ, dθ, X, Y) and the model spec for a course-style network.

    `parameters` holds W1..WL and b1..bL; `gradients` holds dW1..dWL and db1..dbL (keys with
    or without the leading d). `examples` says how X holds its examples: "columns" (the course
    layout) or "rows"; it may be left out unless X is square, where its shape cannot tell.
    """
    layers = len(activations)
    if layers == 0:
        raise CourseLayoutError("activations: give one per layer, e.g. ['relu', 'relu', 'softmax']")
    weights = [_array(parameters, f"W{l}") for l in range(1, layers + 1)]
    extra = sorted(key for key in parameters if key not in {f"{p}{l}" for p in "Wb" for l in range(1, layers + 1)})
    if extra:
        raise CourseLayoutError(f"parameters: {extra[0]} is not a parameter of a {layers}-layer network (W1..W{layers}, b1..b{layers})")
    sizes = [weights[0].shape[1]] + [w.shape[0] for w in weights]
    for l, w in enumerate(weights, start=1):
        if w.ndim != 2 or w.shape[1] != sizes[l - 1]:
            raise CourseLayoutError(f"W{l} has shape {w.shape}; it must be (n{l}, n{l - 1}) = (n{l}, {sizes[l - 1]}): one row per unit of layer {l}, one column per unit of layer {l - 1}")
    biases = [_bias(_array(parameters, f"b{l}"), f"b{l}", sizes[l]) for l in range(1, layers + 1)]
    grad_weights = [_like(_gradient(gradients, f"W{l}"), w, f"dW{l}") for l, w in enumerate(weights, start=1)]
    grad_biases = [_bias(_gradient(gradients, f"b{l}"), f"db{l}", sizes[l]) for l in range(1, layers + 1)]
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y)
    inputs = _examples_as_rows(X, sizes[0], examples)
    m = inputs.shape[0]
    targets = _targets_as_rows(Y, sizes[-1], m)
    _check_activations(activations, loss)

    tensors: dict[str, np.ndarray] = {}
    for l in range(1, layers + 1):
        tensors[f"W{l}"] = weights[l - 1]
        tensors[f"b{l}"] = biases[l - 1]
    for l in range(1, layers + 1):
        tensors[f"dW{l}"] = grad_weights[l - 1]
        tensors[f"db{l}"] = grad_biases[l - 1]
    tensors["X"] = inputs
    tensors["Y"] = targets
    write_safetensors(checkpoint_path, tensors, {"step": str(step)} if step is not None else None)
    spec = {
        "name": name,
        "inputSize": sizes[0],
        "layers": [{"units": sizes[l], "activation": activations[l - 1]} for l in range(1, layers + 1)],
        "loss": loss,
        "l2": l2,
        "keepProb": keep_prob,
    }
    with open(model_path, "w") as file:
        json.dump(spec, file, indent=2)
        file.write("\n")


def check(parameters, gradients, X, Y, activations, *, mode: str = "full", cli: Sequence[str] | None = None, **spec) -> dict:
    """Checks a course-style network's gradients with the gradcheck CLI and returns its report (a dict).

    The report's "verdict" is "pass" or "fail"; "diagnosis" says what the likely bug is. The CLI
    is `cli` if given, else $GRADCHECK_CLI, else `gradcheck` on the PATH, else this
    repository's build (node apps/cli/dist/bin.js).
    """
    directory = tempfile.mkdtemp(prefix="gradcheck-")
    try:
        checkpoint = os.path.join(directory, "checkpoint.safetensors")
        model = os.path.join(directory, "model.json")
        write_course_checkpoint(checkpoint, model, parameters, gradients, X, Y, activations, **spec)
        return run_check(checkpoint, model, mode=mode, cli=cli, error=CourseLayoutError)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _array(values: Mapping[str, np.ndarray], key: str) -> np.ndarray:
    if key not in values:
        raise CourseLayoutError(f"parameters: {key} is missing (have {', '.join(sorted(values)) or 'none'})")
    return np.asarray(values[key], dtype=np.float64)


def _gradient(gradients: Mapping[str, np.ndarray], key: str) -> np.ndarray:
    for candidate in (f"d{key}", key):
        if candidate in gradients:
            return np.asarray(gradients[candidate], dtype=np.float64)
    raise CourseLayoutError(f"gradients: d{key} is missing (have {', '.join(sorted(gradients)) or 'none'})")


def _bias(b: np.ndarray, label: str, units: int) -> np.ndarray:
    if b.shape in ((units, 1), (units,)):
        return b.reshape(units)
    raise CourseLayoutError(f"{label} has shape {b.shape}; it must be ({units}, 1), one row per unit")


def _like(gradient: np.ndarray, parameter: np.ndarray, label: str) -> np.ndarray:
    if gradient.shape != parameter.shape:
        raise CourseLayoutError(f"{label} has shape {gradient.shape}; it must have its parameter's shape {parameter.shape}")
    return gradient


def _examples_as_rows(X: np.ndarray, n0: int, examples: str | None) -> np.ndarray:
    if X.ndim != 2:
        raise CourseLayoutError(f"X has shape {X.shape}; in the course layout it is (n0, m) = ({n0}, m), one example per column")
    if examples not in (None, "columns", "rows"):
        raise CourseLayoutError(f"examples must be 'columns' (the course layout) or 'rows', not {examples!r}")
    if examples is None and X.shape[0] == X.shape[1] == n0:
        raise CourseLayoutError(
            f"X is square ({n0} × {n0}), so its shape cannot tell whether examples are its columns or its rows; "
            "say examples='columns' (the course layout) or examples='rows'"
        )
    if examples == "rows" or (examples is None and X.shape[0] != n0 and X.shape[1] == n0):
        if X.shape[1] != n0:
            raise CourseLayoutError(f"X has shape {X.shape}; with examples as rows it must be (m, {n0})")
        if examples is None:
            raise CourseLayoutError(f"X has shape {X.shape}: examples as rows, but the course layout has them as columns, (n0, m) = ({n0}, {X.shape[0]}); pass X.T, or say examples='rows'")
        return np.ascontiguousarray(X)
    if X.shape[0] != n0:
        raise CourseLayoutError(f"X has shape {X.shape}; W1 takes n0 = {n0} inputs, so X must be ({n0}, m)")
    return np.ascontiguousarray(X.T)


def _targets_as_rows(Y: np.ndarray, nL: int, m: int) -> np.ndarray:
    ids = np.issubdtype(Y.dtype, np.integer) and nL > 1 and Y.size == m and (Y.ndim == 1 or 1 in Y.shape)
    if ids:
        raise CourseLayoutError(
            f"Y holds {m} class ids, but this network's loss takes one-hot targets of shape (nL, m) = ({nL}, {m}); "
            f"pass np.eye({nL})[Y.ravel()].T"
        )
    Y = np.asarray(Y, dtype=np.float64)
    if Y.shape == (nL, m):
        return np.ascontiguousarray(Y.T)
    if Y.shape == (m, nL) and m != nL:
        raise CourseLayoutError(f"Y has shape {Y.shape}: examples as rows; the course layout is (nL, m) = ({nL}, {m}); pass Y.T")
    raise CourseLayoutError(f"Y has shape {Y.shape}; it must be (nL, m) = ({nL}, {m}), one example per column")


def _check_activations(activations: Sequence[str], loss: str) -> None:
    if loss not in OUTPUT_FOR_LOSS:
        raise CourseLayoutError(f"loss must be one of {', '.join(OUTPUT_FOR_LOSS)}, not {loss!r}")
    for l, activation in enumerate(activations[:-1], start=1):
        if activation not in HIDDEN:
            raise CourseLayoutError(f"activations[{l - 1}] (layer {l}) is {activation!r}; hidden layers take {', '.join(HIDDEN)}")
    if activations[-1] not in OUTPUT_FOR_LOSS[loss]:
        raise CourseLayoutError(f"the output activation {activations[-1]!r} does not go with {loss}; use {' or '.join(OUTPUT_FOR_LOSS[loss])}")
