"""The bench's version 2 models, made by PyTorch in float64, and PyTorch's own central differences.

For each model (a LeNet-5 on a batch of 32 28×28 images; a 2-block causal transformer, d 64,
T 32, batch 8): writes the checkpoint (state_dict, grad.<name> after backward(), X, Y) and the
spec under DIRECTORY, then times torch's central differences, two float64 forward passes per
coordinate, on coordinates spread evenly over θ. Every coordinate costs the same two forward
passes, so a full check's time is that rate times the parameter count. Prints one JSON line.

Run with Debian's python3-torch:  python3 bench/python/torch_reference.py DIRECTORY
"""

from __future__ import annotations

import json
import os
import sys
import time

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python", "golden"))
from gradcheck import spec_from_sequential, write_torch_checkpoint, write_torch_spec  # noqa: E402
from make_golden import TinyGpt, transformer_spec  # noqa: E402

torch.set_default_dtype(torch.float64)
STEP = 1e-6
DEFAULT_THREADS = torch.get_num_threads()


def lenet() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )


def central_differences_per_coordinate(model: nn.Module, loss, coordinates: int) -> float:
    """Seconds per coordinate of torch's central differences, over `coordinates` spread over θ."""
    parameters = [p for p in model.parameters()]
    sizes = [p.numel() for p in parameters]
    total = sum(sizes)
    picks = [round(n * (total - 1) / (coordinates - 1)) for n in range(coordinates)]
    with torch.no_grad():
        loss()  # warm up
        started = time.perf_counter()
        for index in picks:
            tensor = 0
            while index >= sizes[tensor]:
                index -= sizes[tensor]
                tensor += 1
            flat = parameters[tensor].view(-1)
            kept = flat[index].item()
            flat[index] = kept + STEP
            plus = loss().item()
            flat[index] = kept - STEP
            minus = loss().item()
            flat[index] = kept
            _ = (plus - minus) / (2 * STEP)
        return (time.perf_counter() - started) / coordinates


def forward_seconds(loss, repeats: int = 20) -> float:
    with torch.no_grad():
        loss()
        started = time.perf_counter()
        for _ in range(repeats):
            loss()
        return (time.perf_counter() - started) / repeats


def prepare(name: str, model: nn.Module, X, Y, spec: dict, directory: str, coordinates: int) -> dict:
    model.eval()  # dropout off, as in a check
    loss = lambda: nn.functional.cross_entropy(model(X).reshape(-1, spec_classes(spec)), Y.reshape(-1), label_smoothing=spec["loss"].get("labelSmoothing", 0.0))  # noqa: E731
    model.zero_grad()
    loss().backward()
    checkpoint = os.path.join(directory, f"{name}.safetensors")
    spec_path = os.path.join(directory, f"{name}.json")
    write_torch_checkpoint(checkpoint, model, X, Y)
    write_torch_spec(spec_path, spec)
    parameters = sum(p.numel() for p in model.parameters())
    # torch's own thread count (its default here) and every core, whichever is faster
    timings = {}
    for threads in sorted({torch.get_num_threads(), os.cpu_count() or 1}):
        torch.set_num_threads(threads)
        timings[threads] = central_differences_per_coordinate(model, loss, coordinates)
    torch.set_num_threads(DEFAULT_THREADS)
    threads, per_coordinate = min(timings.items(), key=lambda item: item[1])
    return {
        "name": name,
        "checkpoint": checkpoint,
        "model": spec_path,
        "parameters": parameters,
        "sampledCoordinates": coordinates,
        "torchForwardMs": 1000 * forward_seconds(loss),
        "torchCentralDifferencesMsPerCoordinate": 1000 * per_coordinate,
        "torchThreads": threads,
        "torchMsPerCoordinateByThreads": {str(n): 1000 * t for n, t in timings.items()},
        "torchFullCheckSeconds": per_coordinate * parameters,
    }


def spec_classes(spec: dict) -> int:
    last = spec["layers"][-1]
    return last["out"]


def main(directory: str) -> None:
    os.makedirs(directory, exist_ok=True)
    torch.manual_seed(0)
    cnn = lenet()
    images = torch.randn(32, 1, 28, 28)
    labels = torch.randint(0, 10, (32,))
    cnn_spec = spec_from_sequential(cnn, [1, 28, 28], {"type": "cross-entropy", "target": "index"}, name="lenet5")
    vocab, d, positions, blocks, heads = 64, 64, 32, 2, 4
    gpt = TinyGpt(vocab, d, positions, blocks, heads)
    ids = torch.randint(0, vocab, (8, positions))
    targets = torch.randint(0, vocab, (8, positions))
    gpt_spec = transformer_spec(vocab, d, positions, blocks, heads)
    gpt_spec["name"] = "gpt-2x64"
    cases = [
        prepare("lenet5", cnn, images, labels, cnn_spec, directory, 300),
        prepare("gpt-2x64", gpt, ids, targets, gpt_spec, directory, 200),
    ]
    print(json.dumps({"torch": torch.__version__, "defaultThreads": DEFAULT_THREADS, "cases": cases}))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: torch_reference.py DIRECTORY")
    main(sys.argv[1])
