import os
import re
import tempfile
import unittest

import numpy as np

from gradcheck import CourseLayoutError, check, read_safetensors, write_course_checkpoint


# this repository's CLI, not whichever gradcheck the PATH may hold
CLI = ["node", os.path.join(os.path.dirname(__file__), "..", "..", "apps", "cli", "dist", "bin.js")]


def course_network(seed=0, n=(5, 4, 3), m=7):
    """A 2-layer relu/softmax network in the course layout, with its correct backprop."""
    rng = np.random.default_rng(seed)
    parameters = {"W1": rng.normal(size=(n[1], n[0])), "b1": rng.normal(size=(n[1], 1)), "W2": rng.normal(size=(n[2], n[1])), "b2": rng.normal(size=(n[2], 1))}
    X = rng.normal(size=(n[0], m))
    Y = np.eye(n[2])[rng.integers(0, n[2], m)].T
    Z1 = parameters["W1"] @ X + parameters["b1"]
    A1 = np.maximum(Z1, 0)
    Z2 = parameters["W2"] @ A1 + parameters["b2"]
    A2 = np.exp(Z2 - Z2.max(axis=0)) / np.exp(Z2 - Z2.max(axis=0)).sum(axis=0)
    dZ2 = A2 - Y
    dZ1 = (parameters["W2"].T @ dZ2) * (Z1 > 0)
    gradients = {"dW2": dZ2 @ A1.T / m, "db2": dZ2.sum(axis=1, keepdims=True) / m, "dW1": dZ1 @ X.T / m, "db1": dZ1.sum(axis=1, keepdims=True) / m}
    return parameters, gradients, X, Y


class CourseLayoutTest(unittest.TestCase):
    def test_a_correct_backprop_passes_and_a_bug_is_found_where_it_is(self):
        parameters, gradients, X, Y = course_network()
        report = check(parameters, gradients, X, Y, ["relu", "softmax"], cli=CLI)
        self.assertEqual(report["verdict"], "pass")
        buggy = dict(gradients, db2=gradients["db2"] * X.shape[1])  # the 1/m forgotten
        report = check(parameters, buggy, X, Y, ["relu", "softmax"], cli=CLI)
        self.assertEqual(report["verdict"], "fail")
        failing = [tensor["name"] for tensor in report["tensors"] if tensor["verdict"] == "fail"]
        self.assertEqual(failing, ["b2"])

    def test_writes_gradcheck_layout_examples_as_rows(self):
        parameters, gradients, X, Y = course_network()
        with tempfile.TemporaryDirectory() as directory:
            checkpoint, model = os.path.join(directory, "c.safetensors"), os.path.join(directory, "m.json")
            write_course_checkpoint(checkpoint, model, parameters, gradients, X, Y, ["relu", "softmax"], step=3)
            tensors = read_safetensors(checkpoint)
            np.testing.assert_array_equal(tensors["X"], X.T)
            np.testing.assert_array_equal(tensors["Y"], Y.T)
            self.assertEqual(tensors["b1"].shape, (4,))
            self.assertEqual(tensors["dW1"].shape, (4, 5))

    def test_errors_that_teach(self):
        parameters, gradients, X, Y = course_network()
        cases = [
            (dict(X=X.T), re.escape("X has shape (7, 5): examples as rows, but the course layout has them as columns, (n0, m) = (5, 7); pass X.T")),
            (dict(Y=np.argmax(Y, axis=0)), r"Y holds 7 class ids, but this network's loss takes one-hot targets of shape \(nL, m\) = \(3, 7\); pass np.eye\(3\)\[Y.ravel\(\)\].T"),
            (dict(Y=Y.T), r"Y has shape \(7, 3\): examples as rows"),
            (dict(parameters=dict(parameters, W2=parameters["W2"].T)), re.escape("W2 has shape (4, 3); it must be (n2, n1) = (n2, 4): one row per unit of layer 2, one column per unit of layer 1")),
            (dict(gradients={k: v for k, v in gradients.items() if k != "db1"}), "gradients: db1 is missing"),
            (dict(activations=["softmax", "softmax"]), r"activations\[0\] \(layer 1\) is 'softmax'"),
        ]
        for change, message in cases:
            arguments = dict(parameters=parameters, gradients=gradients, X=X, Y=Y, activations=["relu", "softmax"])
            arguments.update(change)
            with self.subTest(message=message), tempfile.TemporaryDirectory() as directory:
                with self.assertRaisesRegex(CourseLayoutError, message):
                    write_course_checkpoint(os.path.join(directory, "c"), os.path.join(directory, "m"), **arguments)

    def test_a_square_X_must_say_how_it_holds_its_examples(self):
        parameters, gradients, X, Y = course_network(n=(5, 4, 3), m=5)
        with tempfile.TemporaryDirectory() as directory:
            paths = os.path.join(directory, "c"), os.path.join(directory, "m")
            with self.assertRaisesRegex(CourseLayoutError, r"X is square \(5 × 5\), so its shape cannot tell"):
                write_course_checkpoint(*paths, parameters, gradients, X, Y, ["relu", "softmax"])
            write_course_checkpoint(*paths, parameters, gradients, X, Y, ["relu", "softmax"], examples="columns")
            np.testing.assert_array_equal(read_safetensors(paths[0])["X"], X.T)
        # told the truth, a square X checks as it should
        self.assertEqual(check(parameters, gradients, X, Y, ["relu", "softmax"], examples="columns", cli=CLI)["verdict"], "pass")


if __name__ == "__main__":
    unittest.main()
