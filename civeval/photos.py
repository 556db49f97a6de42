"""Photos taken at points: checked, made upright and small, stored once by content, read back for any row.

An upload goes through :func:`prepare` (refuses what is not a usable image, with a Chinese message naming the
file; reads the EXIF time and GPS position from the original; stores an upright JPEG, long side at most
``MAX_SIDE``, with no metadata left in it) and then through a :class:`PhotoStore`::

    prepared = photos.prepare(upload.getvalue(), upload.name)
    with audit.writing(engine, actor, context=f"上传照片 {prepared.filename}") as conn:
        photo_id = photos.photo_store(engine).put(conn, prepared, uploaded_by=actor.username)

Two stores share the ``photos`` table: :class:`FileStore` keeps the bytes as ``root/ab/cd/<sha256>.jpg``
(storage "file"), :class:`DbStore` in ``photos.data`` (storage "db"). Every row is read according to its own
``storage``, whichever store is the default today, so a deployment may switch without moving old photos.
The same stores keep other uploads by content hash in another table and folder (``table``, ``root``, ``suffix``:
the materials documents of ``civeval.materials`` in ``documents``).

The file name an inspector uploads is only ever shown in messages (directories stripped), never used in a path.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import logging
import math
import os
import re
import unicodedata
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import sqlalchemy as sa
from PIL import Image, ImageCms, ImageFile, ImageOps, UnidentifiedImageError

from civeval import audit
from civeval.store import db as store_db
from civeval.store import schema as t

log = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # refused before anything is decoded
MAX_SIDE = 2000  # long side of the stored image, in pixels
JPEG_QUALITY = 85
THUMBNAIL_SIZE = 320
THUMBNAIL_QUALITY = 80
CONTENT_TYPE = "image/jpeg"
PHOTO_DISTANCE_LIMIT_M = 300.0  # overridden by env CIVEVAL_PHOTO_DISTANCE_M
EARTH_RADIUS_M = 6_371_008.8  # mean radius (IUGG)

# Formats we let Pillow try (an allow-list: nothing else is even parsed). MPO is how Pillow reports many phone
# JPEGs (a JPEG with a multi-picture index); HEIF/AVIF are used only when the installed Pillow can open them.
ACCEPTED_FORMATS = ("JPEG", "MPO", "PNG", "WEBP", "GIF", "BMP", "HEIF", "AVIF")
_FORMAT_LIST = "JPEG、PNG、WebP、GIF、BMP"

_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
_DATETIME, _DATETIME_ORIGINAL = 0x0132, 0x9003
_GPS_LAT_REF, _GPS_LAT, _GPS_LON_REF, _GPS_LON, _GPS_STATUS = 1, 2, 3, 4, 9

_DATETIME_FORMATS = ("%Y:%m:%d %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y:%m:%d %H:%M")
_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"BM")
_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1")


class PhotoRefused(Exception):
    """An upload that cannot be stored as a photo; the message is Chinese and names the file."""


class PhotoNotFound(LookupError):
    """A photo whose row or bytes are missing."""


class PhotoStoreError(Exception):
    """The bytes could not be written (disk full, no permission); the message is Chinese."""


@dataclass(frozen=True)
class PreparedPhoto:
    """An upload made ready to store: upright JPEG bytes without metadata, and what EXIF said about it.

    ``taken_at`` is the camera's wall-clock time as written in EXIF (no time zone: China is UTC+8 throughout),
    unlike the store's own timestamps, which are naive UTC.
    """

    data: bytes = field(repr=False)
    sha256: str
    width: int
    height: int
    filename: str  # for messages only: directories stripped
    taken_at: dt.datetime | None = None
    gps_lat: float | None = None
    gps_lon: float | None = None
    content_type: str = CONTENT_TYPE

    @property
    def size_bytes(self) -> int:
        return len(self.data)

    @property
    def has_location(self) -> bool:
        return self.gps_lat is not None and self.gps_lon is not None


# --- file names in messages --------------------------------------------------------------------------------


def display_name(filename: str | None) -> str:
    """The file name as shown to people: no directories, no control or direction-override characters, not huge.

    ``../../etc/passwd.jpg`` → ``passwd.jpg``; ``C:\\fakepath\\x.jpg`` → ``x.jpg``.
    """
    name = re.split(r"[\\/]", filename or "")[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf")).strip()
    if len(name) > 80:
        stem, dot, ext = name.rpartition(".")
        name = f"{stem[:60]}…{dot}{ext[:10]}" if dot and len(ext) <= 10 else f"{name[:70]}…"
    return name or "未命名文件"


# --- opening and checking an upload ------------------------------------------------------------------------


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f}".removesuffix(".0")


def _check_size(data: bytes, name: str) -> None:
    if len(data) > MAX_UPLOAD_BYTES:
        raise PhotoRefused(f"图片“{name}”超过 {_mb(MAX_UPLOAD_BYTES)} MB（{_mb(len(data))} MB），请压缩后再上传")


def _is_heif(data: bytes) -> bool:
    return data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS


def _looks_like_image(data: bytes) -> bool:
    """Whether the first bytes are those of an image format we accept (to tell 'damaged' from 'not an image')."""
    return data.startswith(_MAGIC) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP") or _is_heif(data)


def _not_an_image(data: bytes, name: str) -> PhotoRefused:
    if _is_heif(data):
        return PhotoRefused(
            f"图片“{name}”是 HEIC 格式，本系统无法读取：请在设备的相机设置中选择“兼容性最佳”（JPEG），或转换后再上传"
        )
    if _looks_like_image(data):
        return _damaged(name)
    return PhotoRefused(f"文件“{name}”不是图片（可上传 {_FORMAT_LIST} 格式的照片）")


def _damaged(name: str) -> PhotoRefused:
    return PhotoRefused(f"图片“{name}”已损坏，无法读取")


def _too_many_pixels(name: str, size: tuple[int, int] | None = None) -> PhotoRefused:
    dims = f"（{size[0]}×{size[1]} 像素）" if size else ""
    return PhotoRefused(f"图片“{name}”尺寸过大{dims}，无法处理")


def _open(data: bytes, name: str) -> ImageFile.ImageFile:
    """Open (headers only) an image of an accepted format, refusing what is too big, not an image or a bomb."""
    _check_size(data, name)
    if not data:
        raise PhotoRefused(f"文件“{name}”是空文件，不是图片")
    Image.init()
    formats = [f for f in ACCEPTED_FORMATS if f in Image.OPEN]
    try:
        img = Image.open(io.BytesIO(data), formats=formats)
    except Image.DecompressionBombError as e:
        raise _too_many_pixels(name) from e
    except UnidentifiedImageError as e:
        raise _not_an_image(data, name) from e
    except Exception as e:  # a malformed header can raise nearly anything inside a plugin
        raise _not_an_image(data, name) from e  # says 'damaged' when the first bytes are an image's
    # Pillow only warns between MAX_IMAGE_PIXELS and twice that; refuse there too (no global warning filters:
    # the app serves several sessions in threads).
    limit = Image.MAX_IMAGE_PIXELS
    if limit and img.size[0] * img.size[1] > limit:
        raise _too_many_pixels(name, img.size)
    return img


def _load(img: ImageFile.ImageFile, name: str, long_side: int) -> None:
    """Decode the pixels; a JPEG is decoded straight at a reduced scale when it is much bigger than needed."""
    w, h = img.size
    if img.format in ("JPEG", "MPO") and max(w, h) > long_side:
        scale = long_side / max(w, h)
        try:
            img.draft(None, (max(1, math.ceil(w * scale)), max(1, math.ceil(h * scale))))
        except Exception:
            pass  # decode at full size instead
    try:
        img.load()
    except Image.DecompressionBombError as e:
        raise _too_many_pixels(name, img.size) from e
    except Exception as e:  # truncated data, bad Huffman tables, broken chunks …
        raise _damaged(name) from e


# --- EXIF ---------------------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    return str(value).replace("\x00", "").strip()


def _parse_datetime(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    text = _text(value)[:19]
    for fmt in _DATETIME_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def _taken_at(exif: Image.Exif) -> dt.datetime | None:
    try:
        original = exif.get_ifd(_EXIF_IFD).get(_DATETIME_ORIGINAL)
    except Exception:
        original = None
    return _parse_datetime(original) or _parse_datetime(exif.get(_DATETIME))


def _degrees(value: Any, ref: Any, positive: str, negative: str, limit: float) -> float | None:
    """Degrees/minutes/seconds rationals and a hemisphere letter as signed decimal degrees; None when unusable."""
    hemisphere = _text(ref).upper()[:1] if ref is not None else ""
    if hemisphere not in (positive, negative):
        return None
    if isinstance(value, int | float) or hasattr(value, "numerator"):
        value = (value,)
    if not isinstance(value, tuple | list) or not 1 <= len(value) <= 3:
        return None
    parts = [float(v) for v in value]
    if not all(math.isfinite(p) and p >= 0 for p in parts) or any(p >= 60 for p in parts[1:]):
        return None
    degrees = sum(p / 60**i for i, p in enumerate(parts))
    if degrees > limit:
        return None
    return -degrees if hemisphere == negative else degrees


def _gps(exif: Image.Exif) -> tuple[float | None, float | None]:
    gps = exif.get_ifd(_GPS_IFD)
    if not gps or _text(gps.get(_GPS_STATUS, "A")).upper().startswith("V"):  # V: measurement void
        return None, None
    lat = _degrees(gps.get(_GPS_LAT), gps.get(_GPS_LAT_REF), "N", "S", 90)
    lon = _degrees(gps.get(_GPS_LON), gps.get(_GPS_LON_REF), "E", "W", 180)
    if lat is None or lon is None or (lat == 0 and lon == 0):  # 0,0: a camera with no fix
        return None, None
    return round(lat, 7), round(lon, 7)


def _exif_fields(img: Image.Image) -> tuple[dt.datetime | None, float | None, float | None]:
    """Time taken and GPS position from the original's EXIF. Malformed EXIF gives None, never an error."""
    try:
        exif = img.getexif()
    except Exception:
        return None, None, None
    try:
        taken_at = _taken_at(exif)
    except Exception:
        taken_at = None
    try:
        lat, lon = _gps(exif)
    except Exception:
        lat = lon = None
    return taken_at, lat, lon


# --- pixels -------------------------------------------------------------------------------------------------


def _upright(img: Image.Image) -> Image.Image:
    try:
        return ImageOps.exif_transpose(img) or img
    except Exception:
        return img  # a broken orientation tag: keep the image as it is


def _to_srgb(img: Image.Image) -> Image.Image:
    """Apply an embedded colour profile (Display P3 from tablets, CMYK) so the untagged JPEG shows right."""
    icc = img.info.get("icc_profile")
    if not icc or img.mode not in ("RGB", "RGBA", "CMYK"):
        return img
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        srgb = ImageCms.createProfile("sRGB")
        converted = ImageCms.profileToProfile(img, source, srgb, outputMode="RGBA" if img.mode == "RGBA" else "RGB")
    except Exception:
        return img  # a broken profile: use the pixels as they are
    return converted or img


def _rgb(img: Image.Image) -> Image.Image:
    """RGB pixels: colour profile applied, transparency on white, 16-bit grey scaled down."""
    img = _to_srgb(img)
    if img.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        img = img.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    has_alpha = img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info
    if has_alpha:
        rgba = img.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return img.convert("RGB") if img.mode != "RGB" else img


def _fit(img: Image.Image, long_side: int) -> Image.Image:
    """Scaled down (never up) so that the long side is at most ``long_side``."""
    w, h = img.size
    if max(w, h) <= long_side:
        return img
    scale = long_side / max(w, h)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return img.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _encode(img: Image.Image, quality: int) -> bytes:
    img.info = {}  # nothing carried over: no EXIF, XMP, comments or profiles in the stored bytes
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality, optimize=True)
    return buf.getvalue()


def prepare(data: bytes, filename: str) -> PreparedPhoto:
    """Check an upload and make the JPEG to store. Raises PhotoRefused (Chinese, naming the file)."""
    name = display_name(filename)
    _check_size(data, name)  # before anything is parsed
    original = _open(data, name)
    taken_at, lat, lon = _exif_fields(original)  # from the original, before re-encoding drops it
    _load(original, name, MAX_SIDE)
    try:
        out = _fit(_rgb(_upright(original)), MAX_SIDE)
        stored = _encode(out, JPEG_QUALITY)
    except Exception as e:
        raise _damaged(name) from e
    return PreparedPhoto(
        data=stored,
        sha256=hashlib.sha256(stored).hexdigest(),
        width=out.width,
        height=out.height,
        filename=name,
        taken_at=taken_at,
        gps_lat=lat,
        gps_lon=lon,
    )


def thumbnail(data: bytes, size: int = THUMBNAIL_SIZE) -> bytes:
    """A JPEG whose long side is at most ``size`` (never enlarged), for lists and Excel notices."""
    name = "照片"
    img = _open(data, name)
    _load(img, name, size)
    try:
        out = _fit(_rgb(_upright(img)), size)
        return _encode(out, THUMBNAIL_QUALITY)
    except Exception as e:
        raise _damaged(name) from e


# --- storage ------------------------------------------------------------------------------------------------


def photo_dir(engine: sa.Engine | sa.Connection | None = None) -> Path:
    """Where photo files live: env CIVEVAL_PHOTO_DIR; else, for a SQLite file, a ``photos`` folder beside it
    (so a database and its photos travel together); else evaluations/photos."""
    return storage_dir(engine, "photos", env="CIVEVAL_PHOTO_DIR")


def storage_dir(engine: sa.Engine | sa.Connection | None, folder: str, *, env: str) -> Path:
    """Where the files of one kind of upload live: env ``env``; else, for a SQLite file, ``folder`` beside it;
    else ``folder`` under evaluations/."""
    value = os.environ.get(env, "").strip()
    if value:
        return Path(value)
    if engine is not None and engine.dialect.name == "sqlite":
        database = engine.engine.url.database if isinstance(engine, sa.Connection) else engine.url.database
        if database and database != ":memory:":
            return Path(database).resolve().parent / folder
    return store_db.EVALUATIONS_DIR / folder


def _fsync_dir(path: Path) -> None:
    if not hasattr(os, "O_DIRECTORY"):
        return  # Windows: directories cannot be opened for fsync; os.replace is atomic there already
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary file beside ``path``, flush it to disk, then rename it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


_STORE_COLUMNS = ("id", "storage", "data", "uploaded_by", "uploaded_at")  # what the store itself fills in


class PhotoStore(ABC):
    """Where photo bytes go. Rows of either storage are read back by any store (by the row's ``storage``).

    Writes use the caller's connection, opened with ``audit.writing`` (the bytes appear in the log as
    ``<N bytes>``). A file is written before the transaction commits: a rollback can leave an unreferenced
    file behind (harmless, reused if the same photo comes again), never a row without its bytes.

    ``table`` (default ``photos``) is any table with the columns id, sha256 (unique), storage, data, uploaded_by and
    uploaded_at; what it holds besides is taken from the attributes of the same names of what is put (a
    :class:`PreparedPhoto`, or e.g. ``civeval.materials.PreparedDocument``). Files are ``root/ab/cd/<sha256><suffix>``;
    ``noun`` names the thing in messages.
    """

    storage: ClassVar[str]

    def __init__(
        self,
        root: Path | str | None = None,
        *,
        table: sa.Table = t.photos,
        suffix: str = ".jpg",
        noun: str = "照片",
    ) -> None:
        self.root = Path(root) if root is not None else photo_dir()  # also where "file" rows are read from
        self.table, self.suffix, self.noun = table, suffix, noun

    def path_for(self, sha256: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{64}", sha256):
            raise ValueError(f"不是 SHA-256：{sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / f"{sha256}{self.suffix}"

    def put(self, conn: sa.Connection, prepared: PreparedPhoto, *, uploaded_by: str) -> int:
        """Store the photo once: the id of the row with the same content if there is one, else a new row's."""
        row = self._row(conn, sha256=prepared.sha256, with_data=False)
        if row is not None:
            if row.storage == "file" and not self.path_for(row.sha256).is_file():
                self._write_file(prepared)  # the file was lost: the same content puts it back
            return row.id
        values = {c.name: getattr(prepared, c.name) for c in self.table.columns if c.name not in _STORE_COLUMNS}
        values.update(
            storage=self.storage,
            data=self._column_data(prepared),
            uploaded_by=uploaded_by,
            uploaded_at=audit.now(),
        )
        try:
            # Two people may upload the same bytes at the same moment: the unique hash refuses the second insert.
            # On PostgreSQL that would abort the transaction; a savepoint keeps it usable and the row is shared.
            with conn.begin_nested() if conn.dialect.name == "postgresql" else contextlib.nullcontext():
                photo_id = self._insert(conn, values)
        except sa.exc.IntegrityError:
            row = self._row(conn, sha256=prepared.sha256, with_data=False)
            if row is None:
                raise
            return row.id
        if self.storage == "file":
            self._write_file(prepared)  # after the (audited) insert, before the caller commits
        return photo_id

    def get_bytes(self, conn: sa.Connection, photo_id: int) -> bytes:
        """The stored JPEG of a photo, from wherever its row says it is. Raises PhotoNotFound."""
        row = self._row(conn, photo_id=photo_id, with_data=True)
        if row is None:
            raise PhotoNotFound(f"{self.noun} #{photo_id} 不存在")
        if row.storage == "db":
            if row.data is None:
                raise PhotoNotFound(f"{self.noun} #{photo_id} 在数据库中没有内容")
            return bytes(row.data)
        try:
            return self.path_for(row.sha256).read_bytes()
        except FileNotFoundError as e:
            raise PhotoNotFound(f"{self.noun} #{photo_id} 的文件缺失：{self.path_for(row.sha256)}") from e

    def exists(self, conn: sa.Connection, photo_id: int, *, verify: bool = False) -> bool:
        """Whether the photo's row and bytes are there; with ``verify``, also whether the bytes match the hash."""
        row = self._row(conn, photo_id=photo_id, with_data=False)
        if row is None:
            return False
        if not verify:
            if row.storage == "db":
                return bool(row.has_data)
            return self.path_for(row.sha256).is_file()
        try:
            data = self.get_bytes(conn, photo_id)
        except PhotoNotFound:
            return False
        return hashlib.sha256(data).hexdigest() == row.sha256

    @abstractmethod
    def _column_data(self, prepared: PreparedPhoto) -> bytes | None:
        """What goes in ``photos.data``."""

    def _row(self, conn: sa.Connection, *, photo_id: int | None = None, sha256: str | None = None, with_data: bool):
        p = self.table.c
        cols = [p.id, p.sha256, p.storage, (p.data.isnot(None)).label("has_data")]
        if with_data:
            cols.append(p.data)
        q = sa.select(*cols)
        q = q.where(p.id == photo_id) if photo_id is not None else q.where(p.sha256 == sha256)
        return conn.execute(q).first()

    def _insert(self, conn: sa.Connection, values: dict[str, Any]) -> int:
        stmt = sa.insert(self.table).values(**values)
        if conn.dialect.name != "postgresql":
            # SQLite serialises writers; a savepoint there would escape the caller's transaction (pysqlite).
            return conn.execute(stmt).inserted_primary_key[0]
        try:
            with conn.begin_nested():  # another session may store the same photo between our look-up and here
                return conn.execute(stmt).inserted_primary_key[0]
        except sa.exc.IntegrityError:
            row = self._row(conn, sha256=values["sha256"], with_data=False)
            if row is None:
                raise
            return row.id

    def _write_file(self, prepared: PreparedPhoto) -> None:
        path = self.path_for(prepared.sha256)
        try:
            _write_atomically(path, prepared.data)
        except OSError as e:
            problem = e.strerror or e
            raise PhotoStoreError(f"{self.noun}“{prepared.filename}”保存失败（{problem}）：{path.parent}") from e


class FileStore(PhotoStore):
    """Bytes as files ``root/ab/cd/<sha256>.jpg``, written atomically; rows with storage "file"."""

    storage = "file"

    def _column_data(self, prepared: PreparedPhoto) -> bytes | None:
        return None


class DbStore(PhotoStore):
    """Bytes in ``photos.data``; rows with storage "db". ``root`` is only for reading older "file" rows."""

    storage = "db"

    def _column_data(self, prepared: PreparedPhoto) -> bytes | None:
        return prepared.data


def photo_store(engine: sa.Engine | sa.Connection) -> PhotoStore:
    """The default store: files for SQLite, the database for PostgreSQL; env CIVEVAL_PHOTO_STORAGE=file|db."""
    return default_store_class(engine)(photo_dir(engine))


def default_store_class(engine: sa.Engine | sa.Connection) -> type[PhotoStore]:
    """FileStore for SQLite, DbStore for PostgreSQL, unless env CIVEVAL_PHOTO_STORAGE says file or db (for every
    upload kept by content: photos and materials documents alike)."""
    choice = os.environ.get("CIVEVAL_PHOTO_STORAGE", "").strip().lower()
    if not choice:
        choice = "db" if engine.dialect.name == "postgresql" else "file"
    if choice == "file":
        return FileStore
    if choice == "db":
        return DbStore
    raise ValueError(f"环境变量 CIVEVAL_PHOTO_STORAGE 只能是 file 或 db，不能是“{choice}”")


# --- where the photo was taken ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LocationCheck:
    distance_m: float
    limit_m: float
    too_far: bool
    message: str


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine on the mean Earth radius)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def positive_env(name: str, default: float) -> float:
    """The environment variable ``name`` when it is a positive number, else ``default`` (a warning when it is set
    but is not one)."""
    env = os.environ.get(name, "").strip()
    if env:
        try:
            value = float(env)
        except ValueError:
            value = math.nan
        if math.isfinite(value) and value > 0:
            return value
        log.warning("%s=%r is not a positive number; using %s", name, env, default)
    return default


def distance_limit_m() -> float:
    """PHOTO_DISTANCE_LIMIT_M, or env CIVEVAL_PHOTO_DISTANCE_M when it is a positive number."""
    return positive_env("CIVEVAL_PHOTO_DISTANCE_M", PHOTO_DISTANCE_LIMIT_M)


def _distance_text(metres: float) -> str:
    if round(metres) < 1000:
        return f"{round(metres)} 米"
    return f"{metres / 1000:.1f}".removesuffix(".0") + " 公里"


def _usable(lat: float | None, lon: float | None) -> bool:
    return (
        lat is not None
        and lon is not None
        and math.isfinite(lat)
        and math.isfinite(lon)
        and -90 <= lat <= 90
        and -180 <= lon <= 180
    )


def location_check(
    photo_lat: float | None,
    photo_lon: float | None,
    point_lat: float | None,
    point_lon: float | None,
    limit_m: float | None = None,
) -> LocationCheck | None:
    """How far the photo was taken from the point, and whether that is beyond the limit; None without positions.

    EXIF GPS is WGS-84; the point register's coordinates are in the system CIVEVAL_POINT_COORDINATES names
    (wgs84, the default; gcj02 for coordinates taken from Amap or Tencent maps; bd09 for Baidu maps), and the
    photo's position is converted to it before measuring.
    """
    if not (_usable(photo_lat, photo_lon) and _usable(point_lat, point_lon)):
        return None
    limit = distance_limit_m() if limit_m is None else float(limit_m)
    photo_lat, photo_lon = to_register_coordinates(photo_lat, photo_lon)
    d = distance_m(photo_lat, photo_lon, point_lat, point_lon)
    too_far = d > limit
    if too_far:
        message = f"照片拍摄位置距点位约 {_distance_text(d)}，超过 {_distance_text(limit)}"
    else:
        message = f"照片拍摄位置距点位约 {_distance_text(d)}，在 {_distance_text(limit)}以内"
    return LocationCheck(distance_m=d, limit_m=limit, too_far=too_far, message=message)


# --- coordinate systems used by Chinese web maps ------------------------------------------------------------
# GCJ-02 is WGS-84 shifted by a published non-linear offset (applied inside China only); BD-09 is GCJ-02 shifted
# again by Baidu. The formulas below are the widely used public approximations (errors of a few metres).

_A = 6378245.0
_EE = 0.00669342162296594323


def _outside_china(lat: float, lon: float) -> bool:
    return not (73.66 < lon < 135.05 and 3.86 < lat < 53.55)


def _dlat(x: float, y: float) -> float:
    r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    r += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    r += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    r += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return r


def _dlon(x: float, y: float) -> float:
    r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    r += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    r += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    r += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return r


def wgs84_to_gcj02(lat: float, lon: float) -> tuple[float, float]:
    if _outside_china(lat, lon):
        return lat, lon
    dlat, dlon = _dlat(lon - 105.0, lat - 35.0), _dlon(lon - 105.0, lat - 35.0)
    rad = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(rad) ** 2
    sqrt_magic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrt_magic) * math.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * math.cos(rad) * math.pi)
    return lat + dlat, lon + dlon


def gcj02_to_bd09(lat: float, lon: float) -> tuple[float, float]:
    x_pi = math.pi * 3000.0 / 180.0
    z = math.sqrt(lon * lon + lat * lat) + 0.00002 * math.sin(lat * x_pi)
    theta = math.atan2(lat, lon) + 0.000003 * math.cos(lon * x_pi)
    return z * math.sin(theta) + 0.006, z * math.cos(theta) + 0.0065


def register_coordinates() -> str:
    """The coordinate system of the point register: CIVEVAL_POINT_COORDINATES = wgs84 (default), gcj02 or bd09."""
    value = os.environ.get("CIVEVAL_POINT_COORDINATES", "wgs84").strip().lower() or "wgs84"
    if value not in ("wgs84", "gcj02", "bd09"):
        raise ValueError(f"环境变量 CIVEVAL_POINT_COORDINATES 只能是 wgs84、gcj02 或 bd09，不能是“{value}”")
    return value


def to_register_coordinates(lat: float, lon: float) -> tuple[float, float]:
    """A WGS-84 position (a photo's GPS) in the point register's coordinate system."""
    system = register_coordinates()
    if system == "wgs84":
        return lat, lon
    lat, lon = wgs84_to_gcj02(lat, lon)
    return gcj02_to_bd09(lat, lon) if system == "bd09" else (lat, lon)
