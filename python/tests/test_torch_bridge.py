import json
import os
import tempfile
import unittest

import numpy as np

from gradcheck import TorchBridgeError, check_torch, read_safetensors, spec_from_sequential, write_torch_checkpoint

try:
    import torch
except ImportError:  # the bridge needs numpy only; torch is for the test that uses the real thing
    torch = None


def module(kind, **attributes):
    """A stand-in for a torch module: the bridge reads only the class name and attributes."""
    return type(kind, (), attributes)()


class Sequential:
    def __init__(self, *children):
        self.children = children

    def named_children(self):
        return [(str(index), child) for index, child in enumerate(self.children)]


class Parameter(np.ndarray):
    grad = None


class FakeModel:
    def __init__(self, grads=True):
        self.weight = np.arange(6.0).reshape(2, 3).view(Parameter)
        self.weight.grad = np.ones((2, 3)) if grads else None
        self.steps = np.array(3, dtype=np.int64)

    def state_dict(self):
        return {"fc.weight": self.weight, "bn.num_batches_tracked": self.steps}

    def named_parameters(self):
        return [("fc.weight", self.weight)]


CLI = ["node", os.path.join(os.path.dirname(__file__), "..", "..", "apps", "cli", "dist", "bin.js")]
GOLDEN = os.path.join(os.path.dirname(__file__), "..", "..", "packages", "engine", "test", "golden")


class GoldenModel:
    """PyTorch's LeNet fixture as a module would hold it after backward(): its state_dict, and each parameter's .grad."""

    def __init__(self):
        self.tensors = read_safetensors(os.path.join(GOLDEN, "lenet.safetensors"))
        self.parameters = []
        for name in self.tensors:
            if name.startswith("grad."):
                parameter = self.tensors[name[5:]].view(Parameter)
                parameter.grad = self.tensors[name].copy()
                self.parameters.append((name[5:], parameter))

    def state_dict(self):
        return {name: value for name, value in self.tensors.items() if not name.startswith("grad.") and name not in ("X", "Y")}

    def named_parameters(self):
        return self.parameters


class TorchBridgeTest(unittest.TestCase):
    def test_check_torch_passes_torch_gradients_and_fails_a_doubled_one_through_the_cli(self):
        model = GoldenModel()
        with open(os.path.join(GOLDEN, "lenet.json")) as file:
            spec = json.load(file)
        report = check_torch(model, model.tensors["X"], model.tensors["Y"], spec, cli=CLI)
        self.assertEqual(report["verdict"], "pass")
        self.assertIn("conv1.weight", [tensor["name"] for tensor in report["tensors"]])
        dict(model.named_parameters())["fc1.weight"].grad *= 2
        report = check_torch(model, model.tensors["X"], model.tensors["Y"], spec, cli=CLI)
        self.assertEqual(report["verdict"], "fail")
        self.assertEqual([tensor["name"] for tensor in report["tensors"] if tensor["verdict"] == "fail"], ["fc1.weight"])
        with self.assertRaisesRegex(TorchBridgeError, r"Y holds 3 examples and X 4"):
            check_torch(model, model.tensors["X"], model.tensors["Y"][:-1], spec, cli=CLI)

    def test_derives_the_spec_of_a_sequential_under_its_state_dict_names(self):
        model = Sequential(
            module("Conv2d", out_channels=4, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), dilation=(1, 1), groups=1, padding_mode="zeros", bias=object()),
            module("BatchNorm2d", eps=1e-5, affine=True, track_running_stats=True, training=False),
            module("ReLU"),
            module("MaxPool2d", kernel_size=2, stride=None, padding=0, dilation=1, ceil_mode=False),
            module("Flatten", start_dim=1, end_dim=-1),
            module("Linear", out_features=10, bias=None),
        )
        spec = spec_from_sequential(model, [1, 8, 8], {"type": "cross-entropy"}, name="net")
        self.assertEqual(
            spec["layers"],
            [
                {"type": "conv2d", "name": "0", "out": 4, "kernel": 3, "stride": 2, "padding": 1, "bias": True},
                {"type": "batchnorm2d", "name": "1", "eps": 1e-5, "statistics": "running"},
                {"type": "relu"},
                {"type": "maxpool2d", "kernel": 2, "stride": 2},
                {"type": "flatten"},
                {"type": "linear", "name": "5", "out": 10, "bias": False},
            ],
        )
        self.assertEqual(spec["l2"], 0.0)

    def test_refuses_what_it_cannot_carry_over_and_says_why(self):
        cases = [
            (module("LSTM"), r"module 0 \(LSTM\) has no version 2 layer; write the spec by hand"),
            (module("Conv2d", out_channels=1, kernel_size=(3, 5), stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros", bias=None), r"kernel_size \(3, 5\) is not square"),
            (module("Conv2d", out_channels=1, kernel_size=3, stride=1, padding=0, dilation=2, groups=1, padding_mode="zeros", bias=None), "only dilation 1, groups 1 and zero padding"),
        ]
        for child, message in cases:
            with self.subTest(message=message), self.assertRaisesRegex(TorchBridgeError, message):
                spec_from_sequential(Sequential(child), [1, 8, 8], {"type": "mse"})

    def test_writes_the_state_dict_the_grads_and_the_batch_and_refuses_a_missing_grad(self):
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "c.safetensors")
            write_torch_checkpoint(path, FakeModel(), np.zeros((4, 3)), np.array([0, 1, 1, 0], dtype=np.int32), step=7)
            tensors = read_safetensors(path)
            self.assertEqual(sorted(tensors), ["X", "Y", "bn.num_batches_tracked", "fc.weight", "grad.fc.weight"])
            self.assertEqual(tensors["Y"].dtype, np.int64)
            with self.assertRaisesRegex(TorchBridgeError, r"parameter fc.weight has no .grad: call loss.backward\(\)"):
                write_torch_checkpoint(path, FakeModel(grads=False), np.zeros((4, 3)), np.zeros(4))

    @unittest.skipIf(torch is None, "PyTorch is not installed (Debian: python3-torch)")
    def test_a_real_sequential(self):
        model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.GELU(), torch.nn.LayerNorm(4), torch.nn.Linear(4, 2)).double()
        spec = spec_from_sequential(model, [3], {"type": "mse"})
        self.assertEqual([layer["type"] for layer in spec["layers"]], ["linear", "gelu", "layernorm", "linear"])
        x = torch.randn(5, 3, dtype=torch.float64)
        torch.nn.functional.mse_loss(model(x), torch.zeros(5, 2, dtype=torch.float64)).backward()
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "c.safetensors")
            write_torch_checkpoint(path, model, x, torch.zeros(5, 2, dtype=torch.float64))
            tensors = read_safetensors(path)
            np.testing.assert_array_equal(tensors["grad.3.weight"], model[3].weight.grad.numpy())


if __name__ == "__main__":
    unittest.main()
