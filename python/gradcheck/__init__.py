"""gradcheck's Python bridge (numpy only): checkpoints gradcheck reads, from the layouts people train in."""

from .course import CourseLayoutError, check, write_course_checkpoint
from .safetensors import read_safetensors, write_safetensors

__all__ = ["CourseLayoutError", "check", "read_safetensors", "write_course_checkpoint", "write_safetensors"]
