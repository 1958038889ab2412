"""What a file is, from its first bytes (:data:`HEAD` of them) and, for a few types, its name.

Bytes decide whenever they can: an image's format always comes from its magic number, never
from its extension, so the card builder can compare the two (``image.format-mismatch``).
The name is used only where the bytes say too little: JSON (``.json``), ONNX (``.onnx``, a bare
protobuf has no magic number), and which zip files are PyTorch checkpoints.
"""
from __future__ import annotations

HEAD = 512  # bytes read to sniff: the magic numbers, and a PyTorch zip's first member name

TORCH_EXTENSIONS = (".pt", ".pth", ".ckpt", ".bin")
_SAFETENSORS_MAX_HEADER = 100 << 20  # as the safetensors library itself refuses more
_BMP_HEADER_SIZES = {12, 16, 40, 52, 56, 64, 108, 124}  # BITMAPCOREHEADER ... BITMAPV5HEADER
# torch.save(..., _use_new_zipfile_serialization=False), the format before PyTorch 1.6: a
# pickle (protocol 2) of a magic number
_TORCH_LEGACY_MAGIC = b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19."


def sniff(head: bytes, name: str) -> str:
    """``"image"``, ``"pdf"``, ``"checkpoint"``, ``"json"`` or ``"other"`` for a file whose
    first bytes are ``head`` and whose name (or path) is ``name``."""
    return sniff_format(head, name)[0]


def sniff_format(head: bytes, name: str) -> tuple[str, str | None]:
    """``(type, format)``: the type as :func:`sniff` says, and for an image its Pillow format
    (``"JPEG"``, ``"PNG"``, ``"GIF"``, ``"BMP"``, ``"TIFF"``, ``"WEBP"``), for a checkpoint
    ``"safetensors"``, ``"pytorch"`` or ``"onnx"``; None for the other types."""
    image = image_format(head)
    if image is not None:
        return "image", image
    if head.startswith(b"%PDF-"):
        return "pdf", None
    lower = name.lower()
    checkpoint = _checkpoint_format(head, lower)
    if checkpoint is not None:
        return "checkpoint", checkpoint
    if lower.endswith(".json"):
        return "json", None
    return "other", None


def image_format(head: bytes) -> str | None:
    """The Pillow format an image's magic number names, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "TIFF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    # "BM" alone starts plenty of text files: also ask for a known DIB header size
    if head[:2] == b"BM" and int.from_bytes(head[14:18], "little") in _BMP_HEADER_SIZES:
        return "BMP"
    return None


def _checkpoint_format(head: bytes, lower_name: str) -> str | None:
    if lower_name.endswith(".safetensors") or _looks_safetensors(head):
        return "safetensors"
    if head.startswith(b"PK\x03\x04"):
        if lower_name.endswith(TORCH_EXTENSIONS) or _first_member(head).endswith("/data.pkl"):
            return "pytorch"
        return None
    if lower_name.endswith(TORCH_EXTENSIONS) and head.startswith(_TORCH_LEGACY_MAGIC):
        return "pytorch"
    if lower_name.endswith(".onnx"):
        return "onnx"
    return None


def _looks_safetensors(head: bytes) -> bool:
    """An 8-byte little-endian header length, then the JSON header's ``{``."""
    if len(head) < 10 or head[8:9] != b"{":
        return False
    return 2 <= int.from_bytes(head[:8], "little") <= _SAFETENSORS_MAX_HEADER


def _first_member(head: bytes) -> str:
    """The name in a zip's first local file header (torch.save writes ``<name>/data.pkl``
    first), or "" if the head does not hold it."""
    length = int.from_bytes(head[26:28], "little")
    return head[30:30 + length].decode("utf-8", "replace") if len(head) >= 30 + length else ""
