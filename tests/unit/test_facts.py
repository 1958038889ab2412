"""Per-file facts: sniffing, image header and deep facts, PDFs, checkpoints (no torch needed)."""
from __future__ import annotations

import io
import json
import os
import pickle
import struct
import sys
import types
import zipfile
import zlib

import pytest

from dataver.errors import UserError
from dataver.facts import need, one_line, sniff
from dataver.facts.checkpoint import checkpoint_fact
from dataver.facts.image import image_facts, phash, pixel_digest
from dataver.facts.pdf import pdf_fact
from dataver.facts.sniff import sniff_format

Image = pytest.importorskip("PIL.Image")


# --- helpers ---------------------------------------------------------------------------------

def picture(size=(64, 48), mode="RGB", seed=0):
    """A picture with structure (not flat), so hashes and codecs have something to work on."""
    im = Image.new("RGB", size)
    w, h = size
    im.putdata([((x * 255 // w + seed * 37) % 256, (y * 255 // h) % 256, ((x // 8 + y // 8) % 2) * 200)
                for y in range(h) for x in range(w)])
    return im.convert(mode) if mode != "RGB" else im


def encoded(im, fmt, **options) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **options)
    return buf.getvalue()


def facts_of(data: bytes, deep=False):
    kind, fmt = sniff_format(data[:512], "x")
    assert kind == "image", kind
    return image_facts(io.BytesIO(data), fmt, True, deep)


def png_header(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` x ``height`` and holds no pixel data."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


@pytest.fixture
def no_decoding(monkeypatch):
    """Any pixel decode fails the test: basic facts must come from headers alone."""
    from PIL import WebPImagePlugin

    def refuse(*args, **kwargs):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(Image, "_getdecoder", refuse)
    monkeypatch.setattr(WebPImagePlugin.WebPImageFile, "load", refuse)


# --- sniffing --------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "BMP", "TIFF", "WEBP"])
def test_sniff_image_format_comes_from_bytes_not_name(fmt):
    data = encoded(picture(), fmt)
    assert sniff_format(data[:512], "photo.jpg") == ("image", fmt)
    assert sniff_format(data[:512], "noext") == ("image", fmt)
    assert sniff(data[:512], "a.txt") == "image"


def test_sniff_other_types():
    assert sniff_format(b"%PDF-1.7\n...", "doc.bin") == ("pdf", None)
    header = b'{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'
    safetensors = struct.pack("<Q", len(header)) + header
    assert sniff_format(safetensors, "model.bin") == ("checkpoint", "safetensors")
    assert sniff_format(b"\x00" * 16, "weights.safetensors") == ("checkpoint", "safetensors")
    zipped = torch_zip({"w": ("FloatStorage", (2, 2))})
    assert sniff_format(zipped[:512], "model.pt") == ("checkpoint", "pytorch")
    assert sniff_format(zipped[:512], "model.zip") == ("checkpoint", "pytorch")  # data.pkl first
    plain_zip = io.BytesIO()
    with zipfile.ZipFile(plain_zip, "w") as z:
        z.writestr("readme.txt", "hi")
    assert sniff_format(plain_zip.getvalue()[:512], "a.zip") == ("other", None)
    assert sniff_format(b"\x08\x07", "net.onnx") == ("checkpoint", "onnx")
    assert sniff_format(b'  {"images": []}', "ann.JSON") == ("json", None)
    assert sniff_format(b'{"a": 1}', "ann.txt") == ("other", None)
    assert sniff_format(b"BMW,Audi\n1,2\n", "cars.csv") == ("other", None)  # "BM" is not enough
    assert sniff_format(b"", "empty.png") == ("other", None)


def test_sniff_garbage_named_png_is_not_an_image():
    assert sniff_format(os.urandom(64).replace(b"\x89", b"\x00"), "a.png") == ("other", None)


# --- images: basic ---------------------------------------------------------------------------

@pytest.mark.parametrize("fmt,mode", [("JPEG", "RGB"), ("JPEG", "L"), ("JPEG", "CMYK"), ("PNG", "RGBA"),
                                      ("PNG", "I;16"), ("PNG", "P"), ("BMP", "RGB"), ("TIFF", "RGB"),
                                      ("WEBP", "RGB"), ("GIF", "P")])
def test_image_basic_fact_from_header_only(fmt, mode, no_decoding):
    data = encoded(picture((70, 30), mode), fmt)
    basic, deep = facts_of(data)
    assert deep is None
    assert basic == {"type": "image", "format": fmt, "width": 70, "height": 30, "mode": mode,
                     "orientation": None, "frames": 1}


def test_image_exif_orientation(no_decoding):
    exif = Image.Exif()
    exif[274] = 6
    basic, _ = facts_of(encoded(picture(), "JPEG", exif=exif.tobytes()))
    assert basic["orientation"] == 6
    basic, _ = facts_of(encoded(picture(), "TIFF", exif=exif.tobytes()))
    assert basic["orientation"] == 6


def animated(fmt: str) -> bytes:
    frames = [picture(seed=i) for i in range(3)]
    lossless = {"lossless": True} if fmt == "WEBP" else {}
    return encoded(frames[0], fmt, save_all=True, append_images=frames[1:], **lossless)


@pytest.mark.parametrize("fmt", ["GIF", "PNG", "WEBP", "TIFF"])
def test_image_frames(fmt, no_decoding):
    assert facts_of(animated(fmt))[0]["frames"] == 3


@pytest.mark.parametrize("fmt", ["GIF", "PNG", "WEBP", "TIFF"])
def test_deep_of_an_animation_is_its_first_frame(fmt):
    basic, deep = facts_of(animated(fmt), deep=True)  # counting frames first must not get in the way
    first = Image.open(io.BytesIO(animated(fmt)))
    first.load()
    assert basic["frames"] == 3 and deep["decoded"] is True
    assert deep["pixels"] == pixel_digest(first.convert("RGB"))


def test_truncated_jpeg_header_intact_fails_only_deep():
    data = encoded(picture((200, 150)), "JPEG", quality=95)
    basic, deep = facts_of(data[: len(data) // 2], deep=True)
    assert basic["width"] == 200 and "error" not in basic  # the header is all there
    assert deep["decoded"] is False and "truncated" in deep["error"]
    assert deep["pixels"] is None and deep["phash"] is None


def test_truncated_header_is_a_corrupt_image():
    data = encoded(picture(), "PNG")[:20]
    basic, deep = facts_of(data, deep=True)
    assert basic["type"] == "image" and basic["format"] == "PNG"
    assert basic["reason"] == "corrupt" and basic["error"]
    assert "width" not in basic
    assert deep["decoded"] is False


def test_png_magic_then_garbage_is_corrupt_and_names_no_file():
    basic, _ = facts_of(b"\x89PNG\r\n\x1a\n" + b"\xff" * 100)
    assert basic["reason"] == "corrupt"
    assert "0x" not in basic["error"] and "BytesIO" not in basic["error"]


def test_decompression_bomb_is_never_decoded(no_decoding):
    basic, deep = facts_of(png_header(100000, 100000), deep=True)
    assert basic["reason"] == "bomb" and "width" not in basic
    assert deep == {"decoded": False, "error": deep["error"], "pixels": None, "phash": None}
    assert deep["error"].startswith("too large to decode")


def test_large_image_under_the_bomb_limit_is_recorded(no_decoding):
    side = int((Image.MAX_IMAGE_PIXELS * 1.5) ** 0.5)
    basic, _ = facts_of(png_header(side, side))
    assert basic["width"] == side and basic["large"] is True and "error" not in basic
    basic, _ = facts_of(png_header(100, 100))
    assert "large" not in basic


# --- images: deep ----------------------------------------------------------------------------

def test_deep_same_pixels_under_different_bytes():
    im = picture((90, 60))
    png_fast = encoded(im, "PNG", compress_level=1)
    png_small = encoded(im, "PNG", compress_level=9)
    assert png_fast != png_small
    a = facts_of(png_fast, deep=True)[1]
    b = facts_of(png_small, deep=True)[1]
    assert a["decoded"] is True and a["error"] is None
    assert a["pixels"] == b["pixels"] and a["phash"] == b["phash"]
    # a JPEG and the PNG of its decoded pixels
    jpeg = encoded(im, "JPEG", quality=80)
    decoded = Image.open(io.BytesIO(jpeg))
    decoded.load()
    assert facts_of(jpeg, deep=True)[1]["pixels"] == facts_of(encoded(decoded, "PNG"), deep=True)[1]["pixels"]
    # a palette GIF and the RGB PNG of the same picture
    paletted = im.quantize(64)
    gif = facts_of(encoded(paletted, "GIF"), deep=True)[1]
    assert gif["pixels"] == facts_of(encoded(paletted.convert("RGB"), "PNG"), deep=True)[1]["pixels"]
    # one pixel changed: another value
    changed = im.copy()
    changed.putpixel((10, 10), (1, 2, 3))
    assert facts_of(encoded(changed, "PNG"), deep=True)[1]["pixels"] != a["pixels"]


def test_pixel_digest_covers_mode_size_and_bytes():
    import hashlib

    im = picture((33, 7))
    assert pixel_digest(im) == hashlib.sha1(b"RGB 33x7\n" + im.tobytes()).hexdigest()
    assert pixel_digest(Image.new("L", (4, 2))) != pixel_digest(Image.new("L", (2, 4)))


def _hamming(a: str, b: str) -> int:
    return bin(int(a, 16) ^ int(b, 16)).count("1")


def photo(size=(256, 192), seed=0):
    """A smooth picture with a few shapes: what near-duplicate search is for."""
    import random

    from PIL import ImageDraw

    rng = random.Random(seed)
    im = Image.linear_gradient("L").resize(size).convert("RGB")
    draw = ImageDraw.Draw(im)
    for _ in range(6):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        draw.ellipse([x, y, x + rng.randrange(20, 120), y + rng.randrange(20, 90)],
                     fill=tuple(rng.randrange(256) for _ in range(3)))
    return im


def test_phash_near_duplicates_are_near():
    im = photo(seed=1)
    base = phash(im)
    assert len(base) == 16
    assert _hamming(base, phash(im.resize((128, 96)))) <= 4
    assert _hamming(base, phash(Image.open(io.BytesIO(encoded(im, "JPEG", quality=40))))) <= 6
    assert _hamming(base, phash(im.transpose(Image.Transpose.FLIP_LEFT_RIGHT))) > 10
    assert _hamming(base, phash(photo(seed=2))) > 10
    assert phash(Image.new("I;16", (40, 40))) is not None


def test_phash_matches_the_textbook_dct():
    np = pytest.importorskip("numpy")
    im = picture((100, 80), seed=3)
    grey = np.asarray(im.resize((32, 32), Image.Resampling.LANCZOS, reducing_gap=2.0).convert("L"),
                      dtype=np.float64)
    n = np.arange(32)
    dct = np.array([[sum(grey[x, y] * np.cos(np.pi * (2 * x + 1) * u / 64) * np.cos(np.pi * (2 * y + 1) * v / 64)
                         for x in n for y in n) for v in range(8)] for u in range(8)])
    flat = dct.ravel()
    bits = "".join("1" if c > np.median(flat[1:]) else "0" for c in flat)
    assert phash(im) == f"{int(bits, 2):016x}"


# --- PDFs --------------------------------------------------------------------------------------

def hand_pdf(page_resources: str, extra_objects: tuple[str, ...] = ()) -> bytes:
    """A one-page PDF with the given page /Resources, with a correct xref table."""
    content = b"BT /F1 12 Tf 20 100 Td (Hello) Tj ET"
    objects = ["<< /Type /Catalog /Pages 2 0 R >>",
               "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Resources {page_resources} "
               "/Contents 4 0 R >>",
               f"<< /Length {len(content)} >>\nstream\n{content.decode()}\nendstream",
               "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>", *extra_objects]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def written_pdf(pages: int, user: str | None = None, owner: str | None = None) -> bytes:
    pypdf = pytest.importorskip("pypdf")
    writer = pypdf.PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(100, 100)
    if user is not None:
        writer.encrypt(user_password=user, owner_password=owner, algorithm="RC4-128")
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def test_pdf_pages_and_no_text_layer():
    assert pdf_fact(io.BytesIO(written_pdf(4))) == {"type": "pdf", "pages": 4, "encrypted": False,
                                                   "text": False}


def test_pdf_text_layer_by_fonts():
    with_font = hand_pdf("<< /Font << /F1 5 0 R >> >>")
    assert pdf_fact(io.BytesIO(with_font)) == {"type": "pdf", "pages": 1, "encrypted": False, "text": True}
    in_form = hand_pdf("<< /XObject << /X1 6 0 R >> >>",
                       ("<< /Type /XObject /Subtype /Form /BBox [0 0 10 10] /Resources "
                        "<< /Font << /F1 5 0 R >> >> /Length 0 >>\nstream\n\nendstream",))
    assert pdf_fact(io.BytesIO(in_form))["text"] is True
    assert pdf_fact(io.BytesIO(hand_pdf("<< >>")))["text"] is False


def test_pdf_encrypted():
    assert pdf_fact(io.BytesIO(written_pdf(2, user="secret", owner="boss"))) == {
        "type": "pdf", "encrypted": True, "pages": None, "text": None}
    # owner password only: opens with the empty user password
    assert pdf_fact(io.BytesIO(written_pdf(2, user="", owner="boss"))) == {
        "type": "pdf", "pages": 2, "encrypted": True, "text": False}


def test_garbage_pdf_is_an_error_fact(caplog):
    fact = pdf_fact(io.BytesIO(b"%PDF-1.4\n" + b"\x00garbage" * 50), path="/data/x.pdf")
    assert set(fact) == {"type", "error"} and fact["type"] == "pdf" and fact["error"]
    assert "/data/x.pdf" not in fact["error"]
    assert not [r for r in caplog.records if r.name.startswith("pypdf")]  # silenced


# --- checkpoints -------------------------------------------------------------------------------

def safetensors_bytes(tensors: dict, body: bool = True) -> bytes:
    """A safetensors file (``body``: with its zero-filled data, else the header alone)."""
    header = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, (dtype, shape, width) in tensors.items():
        size = width
        for d in shape:
            size *= d
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + (b"\x00" * offset if body else b"")


def test_safetensors_fact():
    data = safetensors_bytes({"a": ("F32", (3, 4), 4), "b": ("BF16", (5,), 2), "c": ("I64", (), 8),
                              "d": ("F32", (2, 0), 4)})
    fact = checkpoint_fact(io.BytesIO(data), "safetensors", len(data))
    assert fact == {"type": "checkpoint", "format": "safetensors", "tensors": 4, "parameters": 18,
                    "dtypes": {"bfloat16": 1, "float32": 2, "int64": 1}}


class CountingFile(io.FileIO):
    """Counts the bytes read through it."""
    read_bytes = 0

    def read(self, n=-1):
        data = super().read(n)
        CountingFile.read_bytes += len(data)
        return data

    def readinto(self, b):
        n = super().readinto(b)
        CountingFile.read_bytes += n or 0
        return n


def test_safetensors_of_1gb_reads_only_the_header(tmp_path):
    data = safetensors_bytes({"big": ("F32", (256, 1024, 1024), 4)}, body=False)
    header_end = len(data)
    path = tmp_path / "big.safetensors"
    with open(path, "wb") as f:
        f.write(data)
        f.truncate(header_end + (1 << 30))  # sparse: a 1 GB file of no disk
    CountingFile.read_bytes = 0
    with CountingFile(path) as f:
        fact = checkpoint_fact(f, "safetensors", os.path.getsize(path))
    assert fact["parameters"] == 1 << 28
    assert CountingFile.read_bytes == header_end


@pytest.mark.parametrize("mangle", ["huge", "beyond", "not-json", "no-dtype", "bad-shape"])
def test_bad_safetensors_is_an_error_fact(mangle):
    data = bytearray(safetensors_bytes({"a": ("F32", (3, 4), 4)}))
    if mangle == "huge":
        data[:8] = struct.pack("<Q", 200 << 20)
    elif mangle == "beyond":
        data = data[:20]
    elif mangle == "not-json":
        data[8:9] = b"["
        data[9:12] = b"}}}"
    elif mangle == "no-dtype":
        data = bytearray(data.replace(b'"dtype": "F32"', b'"dtipe": "F32"'))
    else:
        data = bytearray(data.replace(b"[3, 4]", b'["3",4]'))
    size = 300 << 20 if mangle == "huge" else len(data)  # "huge": the file would hold it
    fact = checkpoint_fact(io.BytesIO(bytes(data)), "safetensors", size)
    assert fact["type"] == "checkpoint" and fact["format"] == "safetensors" and fact["error"]
    assert "tensors" not in fact
    if mangle in ("huge", "beyond"):  # refused before reading it
        assert "header length" in fact["error"]


# torch 2.13's data.pkl for an OrderedDict: conv.weight f32 (8,3,3,3), conv.bias f16 (8,),
# emb an nn.Parameter bf16 (10,4), steps an int64 scalar, tied = conv.weight (the same tensor),
# view = conv.weight[0] (a view of its storage). Made with torch.save in a throwaway venv.
REAL_TORCH_PKL = bytes.fromhex(
    "800263636f6c6c656374696f6e730a4f726465726564446963740a71002952710128580b000000636f6e762e"
    "776569676874710263746f7263682e5f7574696c730a5f72656275696c645f74656e736f725f76320a710328"
    "28580700000073746f72616765710463746f7263680a466c6f617453746f726167650a710558010000003071"
    "06580300000063707571074bd8747108514b00284b084b034b034b03747109284b1b4b094b034b0174710a89"
    "68002952710b74710c52710d5809000000636f6e762e62696173710e68032828680463746f7263680a48616c"
    "6653746f726167650a710f580100000031711068074b08747111514b004b088571124b018571138968002952"
    "71147471155271165803000000656d62711763746f7263682e5f7574696c730a5f72656275696c645f706172"
    "616d657465720a711868032828680463746f7263680a42466c6f6174313653746f726167650a711958010000"
    "0032711a68074b2874711b514b004b0a4b0486711c4b044b0186711d8968002952711e74711f527120886800"
    "2952712187712252712358050000007374657073712468032828680463746f7263680a4c6f6e6753746f7261"
    "67650a7125580100000033712668074b01747127514b0029298968002952712874712952712a580400000074"
    "696564712b680d580400000076696577712c6803282868046805680668074bd874712d514b004b034b034b03"
    "87712e4b094b034b0187712f89680029527130747131527132752e"
)


def test_real_torch_data_pkl():
    data = torch_zip({}, archive="real", pkl=REAL_TORCH_PKL)
    fact = checkpoint_fact(io.BytesIO(data), "pytorch", len(data))
    # 5 tensors: `tied` is the very same tensor object as conv.weight, so counted once
    assert fact == {"type": "checkpoint", "format": "pytorch", "tensors": 5, "parameters": 216 + 8 + 40 + 1 + 27,
                    "dtypes": {"bfloat16": 1, "float16": 1, "float32": 2, "int64": 1}}


def torch_zip(tensors: dict, archive: str = "archive", extra=None, pkl: bytes | None = None) -> bytes:
    """A zip laid out as torch.save writes it (``<archive>/data.pkl`` first, then
    ``.format_version``, ``byteorder``, ``data/<key>``, ``version``), its data.pkl pickled
    by the real pickle module against stand-ins for torch's globals."""
    if pkl is None:
        pkl = torch_pickle(tensors, extra)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr(f"{archive}/data.pkl", pkl)
        z.writestr(f"{archive}/.format_version", "1")
        z.writestr(f"{archive}/byteorder", "little")
        for key in range(len(tensors)):
            z.writestr(f"{archive}/data/{key}", b"\x00" * 16)
        z.writestr(f"{archive}/version", "3\n")
    return buf.getvalue()


def torch_pickle(tensors: dict, extra=None) -> bytes:
    """data.pkl as torch.save pickles an OrderedDict of tensors (protocol 2, persistent ids
    ``("storage", <torch.XStorage>, key, "cpu", numel)``), without torch: stand-in modules named
    ``torch`` and ``torch._utils`` hold globals with the real names."""
    import collections

    fake_torch = types.ModuleType("torch")
    fake_utils = types.ModuleType("torch._utils")
    fake_torch._utils = fake_utils

    def _rebuild_tensor_v2(*args):
        raise AssertionError("never called")

    def _rebuild_parameter(*args):
        raise AssertionError("never called")

    for fn in (_rebuild_tensor_v2, _rebuild_parameter):
        fn.__module__, fn.__qualname__ = "torch._utils", fn.__name__
    fake_utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    fake_utils._rebuild_parameter = _rebuild_parameter

    storages = {}
    for name in {s for s, _ in tensors.values()}:
        cls = type(name, (), {"__module__": "torch"})
        setattr(fake_torch, name, cls)
        storages[name] = cls

    class Storage:
        def __init__(self, cls, key, numel):
            self.cls, self.key, self.numel = cls, key, numel

    class Tensor:
        def __init__(self, storage, size, parameter=False):
            self.storage, self.size, self.parameter = storage, size, parameter

        def __reduce__(self):
            stride = tuple(1 for _ in self.size)
            inner = (_rebuild_tensor_v2, (self.storage, 0, self.size, stride, False,
                                          collections.OrderedDict()))
            if not self.parameter:
                return inner
            return (_rebuild_parameter, (Tensor(self.storage, self.size), True, collections.OrderedDict()))

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, Storage):
                return ("storage", obj.cls, obj.key, "cpu", obj.numel)
            return None

    state = collections.OrderedDict()
    for key, (name, (storage, size)) in enumerate(tensors.items()):
        numel = 1
        for d in size:
            numel *= d
        state[name] = Tensor(Storage(storages[storage], str(key), numel), size,
                             parameter=name.endswith(".param"))
    if extra is not None:
        state["extra"] = extra
    saved = {k: sys.modules.get(k) for k in ("torch", "torch._utils")}
    sys.modules["torch"], sys.modules["torch._utils"] = fake_torch, fake_utils
    try:
        buf = io.BytesIO()
        Pickler(buf, protocol=2).dump(state)
        return buf.getvalue()
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v


def test_pytorch_zip_fact():
    data = torch_zip({"conv.weight": ("FloatStorage", (8, 3, 3, 3)), "conv.bias": ("HalfStorage", (8,)),
                      "emb.param": ("BFloat16Storage", (10, 4)), "steps": ("LongStorage", ())},
                     archive="model")
    fact = checkpoint_fact(io.BytesIO(data), "pytorch", len(data))
    assert fact == {"type": "checkpoint", "format": "pytorch", "tensors": 4, "parameters": 216 + 8 + 40 + 1,
                    "dtypes": {"bfloat16": 1, "float16": 1, "float32": 1, "int64": 1}}


def test_pytorch_zip_with_plain_extras_and_allowed_classes():
    import argparse

    data = torch_zip({"w": ("FloatStorage", (2, 3))},
                     extra={"epoch": 3, "lr": 0.1, "args": argparse.Namespace(a=1), "tags": {1, 2}})
    fact = checkpoint_fact(io.BytesIO(data), "pytorch", len(data))
    assert fact["tensors"] == 1 and fact["parameters"] == 6 and "error" not in fact


class Evil:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def test_malicious_pickle_is_refused_not_run(tmp_path):
    marker = tmp_path / "pwned"
    data = torch_zip({"w": ("FloatStorage", (2,))}, extra=Evil(f"touch {marker}"))
    fact = checkpoint_fact(io.BytesIO(data), "pytorch", len(data))
    assert not marker.exists()
    assert fact["type"] == "checkpoint" and "system" in fact["error"] and "tensors" not in fact
    exec_pkl = pickle.dumps(Evil(f"touch {marker}"), protocol=0).replace(b"posix\nsystem", b"builtins\nexec")
    fact = checkpoint_fact(io.BytesIO(torch_zip({}, pkl=exec_pkl)), "pytorch", 0)
    assert not marker.exists() and "builtins.exec" in fact["error"]


@pytest.mark.parametrize("case", ["no-data-pkl", "not-a-zip", "legacy", "broken-pickle", "bad-persistent-id"])
def test_bad_pytorch_files_are_error_facts(case):
    if case == "no-data-pkl":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("archive/other.pkl", b"x")
        data = buf.getvalue()
    elif case == "not-a-zip":
        data = b"PK\x03\x04" + b"\x00" * 100
    elif case == "legacy":
        data = b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19." + b"\x00" * 50
    elif case == "broken-pickle":
        data = torch_zip({}, pkl=b"\x80\x02(((")
    else:
        # PROTO 2, MARK, BINUNICODE "bad", TUPLE, BINPERSID, STOP: a persistent id not torch's
        data = torch_zip({}, pkl=b"\x80\x02(X\x03\x00\x00\x00badtQ.")
    fact = checkpoint_fact(io.BytesIO(data), "pytorch", len(data))
    assert fact["type"] == "checkpoint" and fact["format"] == "pytorch" and fact["error"]


# ONNX: protobuf by hand (ModelProto.graph = 7, GraphProto.initializer = 5, TensorProto dims = 1,
# data_type = 2, name = 8, raw_data = 9; GraphProto.node = 1)

def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def field(number: int, value) -> bytes:
    if isinstance(value, int):
        return varint(number << 3) + varint(value)
    return varint(number << 3 | 2) + varint(len(value)) + value


def onnx_model() -> bytes:
    packed = field(1, b"".join(varint(d) for d in (3, 4)))
    w = packed + field(2, 1) + field(8, b"w") + field(9, b"\x00" * 48)
    b = field(1, 5) + field(2, 7) + field(8, b"b") + field(9, b"\x00" * 40)
    node = field(1, b"w") + field(2, b"y") + field(4, b"MatMul")
    graph = field(1, node) + field(2, b"g") + field(5, w) + field(5, b) + field(11, field(1, b"x"))
    return field(1, 8) + field(2, b"hand") + field(7, graph) + field(8, field(2, 17))


def test_onnx_fact_from_protobuf_walk():
    data = onnx_model()
    assert checkpoint_fact(io.BytesIO(data), "onnx", len(data)) == {
        "type": "checkpoint", "format": "onnx", "tensors": 2, "parameters": 17,
        "dtypes": {"float32": 1, "int64": 1}}


@pytest.mark.parametrize("data", [b"garbage bytes here \xff\xff\xff", b"", onnx_model()[:-30]])
def test_bad_onnx_is_an_error_fact(data):
    fact = checkpoint_fact(io.BytesIO(data), "onnx", len(data))
    assert fact["type"] == "checkpoint" and fact["format"] == "onnx" and fact["error"]


# --- helpers of the package --------------------------------------------------------------------

def test_need_names_the_package_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "pypdf", None)  # import fails
    with pytest.raises(UserError) as info:
        need("pypdf")
    assert "data cards need pypdf" in str(info.value) and "dataver[cards]" in str(info.value)
    monkeypatch.setitem(sys.modules, "PIL.Image", None)
    with pytest.raises(UserError, match="need Pillow"):
        need("PIL.Image")
    assert need("json") is json


def test_one_line_is_deterministic_and_pathless():
    exc = OSError("cannot read /tmp/x/a.png via <_io.BufferedReader name='/tmp/x/a.png'> at 0x7f3a2b1c9d80\nmore")
    text = one_line(exc, "/tmp/x/a.png")
    assert "/tmp/x" not in text and "0x7f" not in text and "\n" not in text
    assert len(one_line(ValueError("x" * 500))) == 200
