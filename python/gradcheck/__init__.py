"""gradcheck's Python bridge (numpy only): checkpoints gradcheck reads, from the layouts people train in."""

from .course import CourseLayoutError, check, write_course_checkpoint
from .safetensors import read_safetensors, write_safetensors
from .torch_bridge import TorchBridgeError, check_torch, spec_from_sequential, write_torch_checkpoint, write_torch_spec

__all__ = [
    "CourseLayoutError",
    "TorchBridgeError",
    "check",
    "check_torch",
    "read_safetensors",
    "spec_from_sequential",
    "write_course_checkpoint",
    "write_safetensors",
    "write_torch_checkpoint",
    "write_torch_spec",
]
