import json
import os
import struct
import tempfile
import unittest

import numpy as np

from gradcheck import read_safetensors, write_safetensors

GOLDEN = os.path.join(os.path.dirname(__file__), "..", "..", "packages", "engine", "test", "golden")


class SafetensorsTest(unittest.TestCase):
    def setUp(self):
        self.directory = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.directory.name, "c.safetensors")

    def tearDown(self):
        self.directory.cleanup()

    def test_round_trips_every_dtype_and_shape(self):
        tensors = {
            "W1": np.arange(6, dtype=np.float64).reshape(2, 3) / 7,
            "b1": np.array([[1.5], [-2.25]], dtype=np.float32),
            "h": np.array([65504, -0.0], dtype=np.float16),
            "Y": np.array([3, 0, 2], dtype=np.int64),
            "ids": np.array([[1, 2]], dtype=np.int32),
            "empty": np.zeros((0, 4)),
            "big_endian": np.array([1.0, 2.0], dtype=">f8"),
        }
        write_safetensors(self.path, tensors, {"step": 12})
        back = read_safetensors(self.path)
        self.assertEqual(list(back), list(tensors))
        for name, value in tensors.items():
            np.testing.assert_array_equal(back[name], value)
            self.assertEqual(back[name].shape, value.shape)
        self.assertEqual(back["Y"].dtype, np.int64)
        self.assertEqual(back["big_endian"].dtype, np.dtype("<f8"))

    def test_header_is_padded_json_with_byte_ranges_in_order(self):
        write_safetensors(self.path, {"a": np.ones(3), "b": np.ones(2, dtype=np.float32)})
        with open(self.path, "rb") as file:
            raw = file.read()
        (length,) = struct.unpack("<Q", raw[:8])
        self.assertEqual(length % 8, 0)
        header = json.loads(raw[8 : 8 + length])
        self.assertEqual(header["a"], {"dtype": "F64", "shape": [3], "data_offsets": [0, 24]})
        self.assertEqual(header["b"], {"dtype": "F32", "shape": [2], "data_offsets": [24, 32]})
        self.assertEqual(len(raw), 8 + length + 32)

    def test_refuses_a_dtype_it_cannot_store_and_leaves_nothing_behind(self):
        with self.assertRaisesRegex(TypeError, "tensor 'z': dtype complex128"):
            write_safetensors(self.path, {"z": np.ones(2, dtype=np.complex128)})
        self.assertEqual(os.listdir(self.directory.name), [])

    def test_refuses_a_truncated_file(self):
        write_safetensors(self.path, {"a": np.ones(3)})
        with open(self.path, "rb") as file:
            raw = file.read()
        with open(self.path, "wb") as file:
            file.write(raw[:12])
        with self.assertRaisesRegex(ValueError, "the header claims"):
            read_safetensors(self.path)

    def test_reads_the_golden_fixtures_pytorch_made(self):
        tensors = read_safetensors(os.path.join(GOLDEN, "tiny-gpt.safetensors"))
        self.assertEqual(tensors["tok.weight"].shape, (11, 8))
        self.assertEqual(tensors["grad.blocks.1.attn.qkv.weight"].shape, (24, 8))
        self.assertEqual(tensors["X"].dtype, np.int64)


if __name__ == "__main__":
    unittest.main()
