"""gradcheck's Python bridge (numpy only): checkpoints in the safetensors format gradcheck reads."""

from .safetensors import read_safetensors, write_safetensors

__all__ = ["read_safetensors", "write_safetensors"]
