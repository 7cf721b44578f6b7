"""Golden fixtures for model spec version 2, made by PyTorch in float64.

For each model: the spec (version 2), a checkpoint with the state_dict under its own names,
each parameter's `.grad` after `backward()` as `grad.<name>`, the batch as X and Y, and
PyTorch's loss. gradcheck's tests then require its J to equal that loss to 1e-12 relative
and its reference gradient to equal PyTorch's.

Run with Debian's python3-torch:  python3 python/golden/make_golden.py packages/engine/test/golden
"""

from __future__ import annotations

import json
import math
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from gradcheck import spec_from_sequential, write_torch_checkpoint, write_torch_spec  # noqa: E402

torch.set_default_dtype(torch.float64)


class Attention(nn.Module):
    """The spec's attention: qkv rows q, then k, then v; heads as contiguous chunks; then proj."""

    def __init__(self, d: int, heads: int, causal: bool):
        super().__init__()
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.heads = heads
        self.causal = causal

    def forward(self, x):
        m, t, d = x.shape
        width = d // self.heads
        q, k, v = self.qkv(x).split(d, dim=-1)
        q, k, v = (part.reshape(m, t, self.heads, width).transpose(1, 2) for part in (q, k, v))
        scores = q @ k.transpose(-1, -2) / math.sqrt(width)
        if self.causal:
            scores = scores.masked_fill(torch.triu(torch.ones(t, t, dtype=torch.bool), 1), float("-inf"))
        out = scores.softmax(-1) @ v
        return self.proj(out.transpose(1, 2).reshape(m, t, d))


class Mlp(nn.Module):
    def __init__(self, d: int):
        super().__init__()
        self.fc = nn.Linear(d, 2 * d)
        self.proj = nn.Linear(2 * d, d)
        self.dropout = nn.Dropout(0.1)

    def forward(self, x):
        return self.dropout(self.proj(nn.functional.gelu(self.fc(x))))


class Block(nn.Module):
    def __init__(self, d: int, heads: int):
        super().__init__()
        self.ln1 = nn.LayerNorm(d)
        self.attn = Attention(d, heads, causal=True)
        self.ln2 = nn.LayerNorm(d)
        self.mlp = Mlp(d)

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class TinyGpt(nn.Module):
    def __init__(self, vocab: int, d: int, positions: int, blocks: int, heads: int):
        super().__init__()
        self.tok = nn.Embedding(vocab, d)
        self.pos = nn.Embedding(positions, d)
        self.blocks = nn.ModuleList(Block(d, heads) for _ in range(blocks))
        self.ln_f = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab, bias=False)

    def forward(self, ids):
        x = self.tok(ids) + self.pos.weight[: ids.shape[1]]
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))


def transformer_spec(vocab: int, d: int, positions: int, blocks: int, heads: int) -> dict:
    layers = [{"type": "embedding", "name": "tok", "vocab": vocab, "dim": d}, {"type": "positional", "name": "pos", "length": positions, "dim": d}]
    for b in range(blocks):
        layers.append({"type": "residual", "layers": [{"type": "layernorm", "name": f"blocks.{b}.ln1"}, {"type": "attention", "name": f"blocks.{b}.attn", "heads": heads, "causal": True}]})
        layers.append(
            {
                "type": "residual",
                "layers": [
                    {"type": "layernorm", "name": f"blocks.{b}.ln2"},
                    {"type": "linear", "name": f"blocks.{b}.mlp.fc", "out": 2 * d},
                    {"type": "gelu"},
                    {"type": "linear", "name": f"blocks.{b}.mlp.proj", "out": d},
                    {"type": "dropout", "p": 0.1},
                ],
            }
        )
    layers += [{"type": "layernorm", "name": "ln_f"}, {"type": "linear", "name": "head", "out": vocab, "bias": False}]
    return {
        "name": "tiny-gpt",
        "input": {"shape": [positions], "dtype": "index", "vocab": vocab},
        "layers": layers,
        "loss": {"type": "cross-entropy", "target": "index", "labelSmoothing": 0.1},
    }


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 2, 3, padding=1)
        self.conv2 = nn.Conv2d(2, 3, 3)
        self.fc1 = nn.Linear(3 * 2 * 2, 5)
        self.fc2 = nn.Linear(5, 3)

    def forward(self, x):
        x = nn.functional.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = nn.functional.avg_pool2d(torch.tanh(self.conv2(x)), 2)
        return self.fc2(torch.relu(self.fc1(x.flatten(1))))


LENET_SPEC = {
    "name": "lenet",
    "input": {"shape": [1, 12, 12]},
    "layers": [
        {"type": "conv2d", "name": "conv1", "out": 2, "kernel": 3, "padding": 1},
        {"type": "relu"},
        {"type": "maxpool2d", "kernel": 2},
        {"type": "conv2d", "name": "conv2", "out": 3, "kernel": 3},
        {"type": "tanh"},
        {"type": "avgpool2d", "kernel": 2},
        {"type": "flatten"},
        {"type": "linear", "name": "fc1", "out": 5},
        {"type": "relu"},
        {"type": "linear", "name": "fc2", "out": 3},
    ],
    "loss": {"type": "cross-entropy", "target": "index"},
    "l2": 0.1,
}


class ResidualBlock(nn.Module):
    """A ResNet basic block: conv-bn-relu-conv-bn plus the identity, then relu."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x):
        return torch.relu(x + self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x))))))


class ResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(2, 3, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(3)
        self.block = ResidualBlock(3)
        self.fc = nn.Linear(3 * 3 * 3, 4)

    def forward(self, x):
        x = self.block(torch.relu(self.bn(self.stem(x))))
        return self.fc(nn.functional.avg_pool2d(x, 2).flatten(1))


def resnet_spec(statistics: str) -> dict:
    bn = lambda name: {"type": "batchnorm2d", "name": name, "statistics": statistics}  # noqa: E731
    return {
        "name": f"resnet-{statistics}",
        "input": {"shape": [2, 6, 6]},
        "layers": [
            {"type": "conv2d", "name": "stem", "out": 3, "kernel": 3, "padding": 1, "bias": False},
            bn("bn"),
            {"type": "relu"},
            {
                "type": "residual",
                "layers": [
                    {"type": "conv2d", "name": "block.conv1", "out": 3, "kernel": 3, "padding": 1, "bias": False},
                    bn("block.bn1"),
                    {"type": "relu"},
                    {"type": "conv2d", "name": "block.conv2", "out": 3, "kernel": 3, "padding": 1, "bias": False},
                    bn("block.bn2"),
                ],
            },
            {"type": "relu"},
            {"type": "avgpool2d", "kernel": 2},
            {"type": "flatten"},
            {"type": "linear", "name": "fc", "out": 4},
        ],
        "loss": {"type": "cross-entropy", "target": "one-hot", "reduction": "sum"},
    }


def save(directory: str, name: str, spec: dict, model: nn.Module, x, y, loss_of) -> None:
    loss = loss_of(model(x), y)
    model.zero_grad()
    loss.backward()
    write_torch_checkpoint(os.path.join(directory, f"{name}.safetensors"), model, x, y)
    write_torch_spec(os.path.join(directory, f"{name}.json"), spec)
    with open(os.path.join(directory, f"{name}.loss.json"), "w") as file:
        json.dump({"loss": loss.item(), "torch": torch.__version__}, file)
        file.write("\n")


def main(directory: str) -> None:
    os.makedirs(directory, exist_ok=True)
    torch.manual_seed(20261202)

    lenet = LeNet()
    x = torch.randn(4, 1, 12, 12)
    y = torch.randint(0, 3, (4,))
    weights = [lenet.conv1.weight, lenet.conv2.weight, lenet.fc1.weight, lenet.fc2.weight]
    # the spec's l2 term, λ/(2m)·Σ‖W‖², written into the loss (PyTorch's weight_decay is not part of .grad)
    l2 = lambda: 0.1 / (2 * x.shape[0]) * sum((w**2).sum() for w in weights)  # noqa: E731
    save(directory, "lenet", LENET_SPEC, lenet, x, y, lambda out, target: nn.functional.cross_entropy(out, target) + l2())

    for statistics in ("batch", "running"):
        resnet = ResNet()
        if statistics == "running":
            for module in resnet.modules():
                if isinstance(module, nn.BatchNorm2d):
                    module.running_mean.normal_(0, 0.3)
                    module.running_var.uniform_(0.5, 1.5)
            resnet.eval()
        else:
            resnet.train()
        x = torch.randn(3, 2, 6, 6)
        y = nn.functional.one_hot(torch.randint(0, 4, (3,)), 4).double()
        save(directory, f"resnet-{statistics}", resnet_spec(statistics), resnet, x, y, lambda out, target: nn.functional.cross_entropy(out, target, reduction="sum"))

    # an nn.Sequential, its spec derived by the bridge (names "0", "3", …, as its state_dict has them)
    sequential = nn.Sequential(
        nn.Conv2d(1, 3, 3, stride=2, padding=1),
        nn.BatchNorm2d(3),
        nn.LeakyReLU(0.1),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(3 * 2 * 2, 6),
        nn.GELU(approximate="tanh"),
        nn.Dropout(0.2),
        nn.Linear(6, 2, bias=False),
    ).train()
    x = torch.randn(5, 1, 8, 8)
    y = torch.rand(5, 2)
    sequential[7].p = 0.0  # dropout off during the check (the spec's dropout is off as well)
    spec = spec_from_sequential(sequential, [1, 8, 8], {"type": "bce-with-logits"}, name="sequential")
    save(directory, "sequential", spec, sequential, x, y, nn.functional.binary_cross_entropy_with_logits)

    vocab, d, positions, blocks, heads = 11, 8, 6, 2, 2
    gpt = TinyGpt(vocab, d, positions, blocks, heads).eval()
    ids = torch.randint(0, vocab, (3, positions))
    ids[0, :3] = ids[0, 0]  # a repeated token: its embedding row collects every occurrence
    targets = torch.randint(0, vocab, (3, positions))
    save(
        directory,
        "tiny-gpt",
        transformer_spec(vocab, d, positions, blocks, heads),
        gpt,
        ids,
        targets,
        lambda out, target: nn.functional.cross_entropy(out.reshape(-1, vocab), target.reshape(-1), label_smoothing=0.1),
    )


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "packages/engine/test/golden")
