"""Photos: checking uploads, upright downscaled JPEGs, EXIF time and GPS, both stores, distance to the point.

Every image is made here with Pillow; the store tests run on SQLite and PostgreSQL through the ``engine`` fixture.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import struct
import time
import warnings
import zlib

import pytest
import sqlalchemy as sa
from PIL import Image, TiffImagePlugin

from civeval import audit, photos
from civeval.photos import DbStore, FileStore, PhotoNotFound, PhotoRefused
from civeval.store import schema as t
from tests.conftest import ADMIN

R = TiffImagePlugin.IFDRational
RED, BLUE = (255, 0, 0), (0, 0, 200)
TIANANMEN = (39.9087, 116.3975)


def jpeg(
    size: tuple[int, int] = (640, 480),
    *,
    orientation: int | None = None,
    original: str | None = None,
    datetime: str | None = None,
    gps: dict[int, object] | None = None,
    exif_bytes: bytes | None = None,
    noise: bool = False,
) -> bytes:
    """A JPEG with a red block in its stored top-left corner and the EXIF asked for."""
    img = Image.effect_noise(size, 64).convert("RGB") if noise else Image.new("RGB", size, BLUE)
    img.paste(RED, (0, 0, size[0] // 10, size[1] // 10))
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    if datetime:
        exif[0x0132] = datetime
    if original:
        exif.get_ifd(0x8769)[0x9003] = original
    if gps:
        exif.get_ifd(0x8825).update(gps)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90, exif=exif_bytes if exif_bytes is not None else exif)
    return buf.getvalue()


def dms(value: float) -> tuple[R, R, R]:
    d = int(value)
    m = int((value - d) * 60)
    s = round(((value - d) * 60 - m) * 60 * 1000)
    return R(d), R(m), R(s, 1000)


def gps_ifd(lat: float, lon: float) -> dict[int, object]:
    return {1: "N" if lat >= 0 else "S", 2: dms(abs(lat)), 3: "E" if lon >= 0 else "W", 4: dms(abs(lon))}


def png_header(width: int, height: int) -> bytes:
    """A PNG that only claims its size (what a decompression bomb looks like before decoding)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def camera_jpeg() -> bytes:
    """A tablet photo: 4000×3000 stored sideways (orientation 6), taken in Rio (south, west)."""
    return jpeg(
        (4000, 3000),
        orientation=6,
        original="2024:05:01 08:30:15",
        datetime="2024:05:02 10:00:00",
        gps={1: "S", 2: (R(22), R(54), R(30)), 3: "W", 4: (R(43), R(11), R(4710, 100))},
    )


@pytest.fixture(scope="module")
def prepared(camera_jpeg) -> photos.PreparedPhoto:
    return photos.prepare(camera_jpeg, "IMG_0001.jpg")


def opened(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


# --- prepare --------------------------------------------------------------------------------------------------


def test_camera_photo_is_made_upright_and_downscaled(prepared):
    assert (prepared.width, prepared.height) == (1500, 2000)
    img = opened(prepared.data)
    assert img.format == "JPEG" and img.mode == "RGB" and img.size == (1500, 2000)
    # Orientation 6 turns the picture a quarter clockwise: the stored top-left corner ends up top right.
    assert img.getpixel((1490, 10))[0] > 200 and img.getpixel((10, 10))[0] < 50
    assert not img.getexif()  # nothing of the original's metadata is kept in the bytes
    assert prepared.sha256 == hashlib.sha256(prepared.data).hexdigest()
    assert prepared.size_bytes == len(prepared.data) < 1_000_000
    assert prepared.content_type == "image/jpeg"
    assert "data" not in repr(prepared)


def test_exif_time_and_gps_south_west(prepared):
    assert prepared.taken_at == dt.datetime(2024, 5, 1, 8, 30, 15)  # DateTimeOriginal before DateTime
    assert prepared.gps_lat == pytest.approx(-(22 + 54 / 60 + 30 / 3600), abs=1e-6)
    assert prepared.gps_lon == pytest.approx(-(43 + 11 / 60 + 47.1 / 3600), abs=1e-6)
    assert prepared.has_location


def test_exif_gps_north_east_and_datetime_fallback():
    p = photos.prepare(jpeg(datetime="2025:03:09 14:05:00", gps=gps_ifd(*TIANANMEN)), "天安门.jpg")
    assert p.taken_at == dt.datetime(2025, 3, 9, 14, 5)
    assert p.gps_lat == pytest.approx(TIANANMEN[0], abs=1e-5)
    assert p.gps_lon == pytest.approx(TIANANMEN[1], abs=1e-5)


def test_small_image_is_not_upscaled_and_without_exif_has_no_time_or_place():
    p = photos.prepare(jpeg((640, 480)), "small.jpg")
    assert (p.width, p.height) == (640, 480)
    assert p.taken_at is None and p.gps_lat is None and p.gps_lon is None and not p.has_location


def test_camera_input_png_with_transparency_becomes_jpeg_on_white():
    img = Image.new("RGBA", (300, 200), (0, 0, 0, 0))
    img.paste((0, 128, 0, 255), (0, 0, 100, 100))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    p = photos.prepare(buf.getvalue(), "image.png")
    out = opened(p.data)
    assert out.format == "JPEG" and out.size == (300, 200)
    assert min(out.getpixel((250, 150))) > 240  # transparent → white, not black
    assert out.getpixel((50, 50))[1] > 100


@pytest.mark.parametrize("fmt", ["WEBP", "GIF", "BMP"])
def test_other_formats_are_accepted(fmt):
    buf = io.BytesIO()
    Image.new("RGB", (2400, 100), BLUE).save(buf, fmt)
    p = photos.prepare(buf.getvalue(), f"x.{fmt.lower()}")
    assert (p.width, p.height) == (2000, 83)


def test_same_upload_gives_the_same_bytes(camera_jpeg, prepared):
    assert photos.prepare(camera_jpeg, "again.jpg").sha256 == prepared.sha256


def raw_exif(gps_entries: list[tuple[int, int, int, bytes]]) -> bytes:
    """An EXIF block (big-endian TIFF) whose GPS IFD holds exactly the entries given: (tag, type, count, value).

    Pillow's own writer coerces values to each tag's type, so garbage has to be written by hand.
    """
    gps_at = 8 + 2 + 12 + 4
    data_at = gps_at + 2 + 12 * len(gps_entries) + 4
    entries, extra = b"", b""
    for tag, kind, count, value in gps_entries:
        if len(value) <= 4:
            entries += struct.pack(">HHI", tag, kind, count) + value.ljust(4, b"\0")
        else:
            entries += struct.pack(">HHII", tag, kind, count, data_at + len(extra))
            extra += value
    ifd0 = struct.pack(">HHHII", 1, 0x8825, 4, 1, gps_at) + b"\0\0\0\0"
    gps = struct.pack(">H", len(gps_entries)) + entries + b"\0\0\0\0"
    return b"Exif\0\0" + b"MM\0\x2a" + struct.pack(">I", 8) + ifd0 + gps + extra


ASCII, SHORT, RATIONAL, UNDEFINED, SRATIONAL = 2, 3, 5, 7, 10


def rationals(*pairs: tuple[int, int]) -> bytes:
    return b"".join(struct.pack(">II", n, d) for n, d in pairs)


GOOD_LAT = (2, RATIONAL, 3, rationals((39, 1), (54, 1), (31, 1)))
GOOD_LON = (4, RATIONAL, 3, rationals((116, 1), (23, 1), (51, 1)))


@pytest.mark.filterwarnings("ignore:Tag data larger than file")
@pytest.mark.parametrize(
    "entries",
    [
        [(1, ASCII, 2, b"N\0"), (2, ASCII, 8, b"garbage\0"), (3, ASCII, 2, b"E\0"), (4, UNDEFINED, 3, b"\xff\xfe\x00")],
        [(1, ASCII, 2, b"N\0"), (2, RATIONAL, 3, rationals((39, 0), (0, 0), (0, 0))), (3, ASCII, 2, b"E\0"), GOOD_LON],
        [(1, SHORT, 1, b"\0\x07"), GOOD_LAT, (3, ASCII, 2, b"Q\0"), GOOD_LON],
        [
            (1, ASCII, 2, b"N\0"),
            (2, SRATIONAL, 3, struct.pack(">iiiiii", -39, 1, 0, 1, 0, 1)),
            (3, ASCII, 2, b"E\0"),
            GOOD_LON,
        ],
        [(1, ASCII, 2, b"N\0"), (2, RATIONAL, 3_000_000, b"\0" * 24), (3, ASCII, 2, b"E\0"), GOOD_LON],  # past the end
        [(1, ASCII, 2, b"N\0"), (2, RATIONAL, 1, b"\0" * 8)],  # latitude only
    ],
)
def test_garbage_in_the_gps_ifd_gives_no_position(entries):
    p = photos.prepare(jpeg(exif_bytes=raw_exif(entries)), "g.jpg")
    assert p.gps_lat is None and p.gps_lon is None
    assert (p.width, p.height) == (640, 480)


def test_the_raw_exif_builder_writes_a_readable_position():
    entries = [(1, ASCII, 2, b"N\0"), GOOD_LAT, (3, ASCII, 2, b"E\0"), GOOD_LON]
    p = photos.prepare(jpeg(exif_bytes=raw_exif(entries)), "g.jpg")
    assert p.gps_lat == pytest.approx(39 + 54 / 60 + 31 / 3600) and p.gps_lon == pytest.approx(
        116 + 23 / 60 + 51 / 3600
    )


@pytest.mark.parametrize(
    "gps",
    [
        {2: dms(39.9), 4: dms(116.4)},  # no hemisphere
        {1: "N", 2: (R(95), R(0), R(0)), 3: "E", 4: (R(116), R(0), R(0))},  # latitude out of range
        {1: "N", 2: dms(39.9), 3: "E", 4: (R(116), R(99), R(0))},  # 99 minutes
        {1: "N", 2: (R(0), R(0), R(0)), 3: "E", 4: (R(0), R(0), R(0))},  # no fix
        {1: "N", 2: dms(39.9), 3: "E", 4: dms(116.4), 9: "V"},  # measurement void
    ],
)
def test_implausible_gps_gives_no_position(gps):
    p = photos.prepare(jpeg(gps=gps, original="not a date"), "g.jpg")
    assert p.gps_lat is None and p.gps_lon is None and p.taken_at is None


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_garbage_exif_block_does_not_crash():
    garbage = b"Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x05\x88\x25\x00\x04\x00\x00\x00\x01\xff\xff\xff\xf0"
    p = photos.prepare(jpeg(exif_bytes=garbage + b"\x00" * 7), "e.jpg")
    assert p.gps_lat is None and p.taken_at is None and (p.width, p.height) == (640, 480)


# --- refusals -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"hello, this is a text file\n", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"])
def test_refuses_what_is_not_an_image(data):
    with pytest.raises(PhotoRefused, match=r"^文件“x.jpg”不是图片"):
        photos.prepare(data, "x.jpg")


def test_refuses_an_empty_file():
    with pytest.raises(PhotoRefused, match=r"“x.jpg”.*不是图片"):
        photos.prepare(b"", "x.jpg")


@pytest.mark.parametrize("keep", [0.5, 0.99])
def test_refuses_a_truncated_jpeg(keep):
    data = jpeg((400, 300), noise=True)
    with pytest.raises(PhotoRefused, match=r"^图片“broken.jpg”已损坏，无法读取"):
        photos.prepare(data[: int(len(data) * keep)], "broken.jpg")


def test_refuses_a_damaged_png_header():
    data = bytearray(png_header(100, 100))
    data[20] ^= 0xFF  # IHDR checksum no longer matches
    with pytest.raises(PhotoRefused, match=r"“p.png”已损坏"):
        photos.prepare(bytes(data), "p.png")


def test_refuses_over_20_mb_without_decoding(monkeypatch):
    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded an upload that was too big")

    monkeypatch.setattr(Image, "open", no_decoding)
    data = b"\xff\xd8\xff" + b"\0" * (21 * 1024 * 1024)
    started = time.perf_counter()
    with pytest.raises(PhotoRefused, match=r"^图片“big.jpg”超过 20 MB") as e:
        photos.prepare(data, "big.jpg")
    assert time.perf_counter() - started < 0.5
    assert "21 MB" in str(e.value)


def test_the_limit_is_configurable(monkeypatch):
    monkeypatch.setattr(photos, "MAX_UPLOAD_BYTES", 1000)
    with pytest.raises(PhotoRefused, match=r"超过"):
        photos.prepare(jpeg(noise=True), "x.jpg")


@pytest.mark.parametrize("side", [20_000, 10_000])  # beyond Pillow's error limit; between its warning and error
def test_refuses_decompression_bombs(side):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with pytest.raises(PhotoRefused, match=r"^图片“bomb.png”尺寸过大"):
            photos.prepare(png_header(side, side), "bomb.png")


def test_refused_heic_says_what_to_do():
    data = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 100
    with pytest.raises(PhotoRefused, match=r"“IMG_1.HEIC”是 HEIC 格式"):
        photos.prepare(data, "IMG_1.HEIC")


def test_file_names_are_shown_without_directories():
    assert photos.display_name("../../etc/passwd.jpg") == "passwd.jpg"
    assert photos.display_name("C:\\fakepath\\现场.jpg") == "现场.jpg"
    assert photos.display_name("gpj.\u202eexe") == "gpj.exe"
    assert photos.display_name("") == "未命名文件"
    assert len(photos.display_name("a" * 300 + ".jpg")) < 80
    with pytest.raises(PhotoRefused) as e:
        photos.prepare(b"not an image", "../../etc/passwd.jpg")
    assert "“passwd.jpg”" in str(e.value) and ".." not in str(e.value)


def test_thumbnail(prepared):
    thumb = opened(photos.thumbnail(prepared.data))
    assert thumb.format == "JPEG" and thumb.size == (240, 320)
    assert opened(photos.thumbnail(jpeg((100, 50)))).size == (100, 50)


# --- stores ---------------------------------------------------------------------------------------------------


@pytest.fixture
def sqlite_engine(sqlite_url):
    """For what does not depend on the database (files on disk, the audit guard): SQLite only."""
    from civeval.store import open_engine

    eng = open_engine(sqlite_url)
    yield eng
    eng.dispose()


def photo_row(engine, photo_id):
    with engine.connect() as conn:
        return conn.execute(sa.select(t.photos).where(t.photos.c.id == photo_id)).one()


def test_db_store_stores_once_and_round_trips(engine, prepared, tmp_path):
    store = DbStore(tmp_path)
    with audit.writing(engine, ADMIN, context="上传照片") as conn:
        first = store.put(conn, prepared, uploaded_by="inspector1")
    with audit.writing(engine, ADMIN) as conn:
        assert store.put(conn, prepared, uploaded_by="inspector2") == first
    with engine.connect() as conn:
        assert store.get_bytes(conn, first) == prepared.data
        assert store.exists(conn, first) and store.exists(conn, first, verify=True)
        assert (
            conn.scalar(sa.select(sa.func.count()).select_from(t.photos).where(t.photos.c.sha256 == prepared.sha256))
            == 1
        )
        logged = conn.execute(sa.select(t.audit_log.c.after).where(t.audit_log.c.table_name == "photos")).all()
    row = photo_row(engine, first)
    assert (row.storage, row.width, row.height, row.size_bytes) == ("db", 1500, 2000, len(prepared.data))
    assert (row.taken_at, row.uploaded_by) == (dt.datetime(2024, 5, 1, 8, 30, 15), "inspector1")
    assert row.gps_lat == pytest.approx(prepared.gps_lat) and row.gps_lon == pytest.approx(prepared.gps_lon)
    first_entry = logged[0].after
    assert first_entry["data"] == f"<{len(prepared.data)} bytes>"  # the log does not carry the photo


def test_file_store_writes_the_file_once_and_round_trips(engine, prepared, tmp_path):
    store = FileStore(tmp_path / "photos")
    with audit.writing(engine, ADMIN) as conn:
        first = store.put(conn, prepared, uploaded_by="inspector1")
        assert store.put(conn, prepared, uploaded_by="inspector1") == first
    path = tmp_path / "photos" / prepared.sha256[:2] / prepared.sha256[2:4] / f"{prepared.sha256}.jpg"
    assert path.read_bytes() == prepared.data
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left
    row = photo_row(engine, first)
    assert row.storage == "file" and row.data is None
    with engine.connect() as conn:
        assert store.get_bytes(conn, first) == prepared.data
        assert store.exists(conn, first, verify=True)
        assert not store.exists(conn, first + 1000)
        with pytest.raises(PhotoNotFound, match=r"不存在"):
            store.get_bytes(conn, first + 1000)


def test_rows_are_read_by_their_own_storage(engine, prepared, tmp_path):
    other = photos.prepare(jpeg((800, 600)), "other.jpg")
    files, database = FileStore(tmp_path), DbStore(tmp_path)
    with audit.writing(engine, ADMIN) as conn:
        in_file = files.put(conn, prepared, uploaded_by="a")
        in_db = database.put(conn, other, uploaded_by="a")
        assert database.put(conn, prepared, uploaded_by="b") == in_file  # same content: the file row is reused
    with engine.connect() as conn:
        assert database.get_bytes(conn, in_file) == prepared.data
        assert files.get_bytes(conn, in_db) == other.data
        assert files.exists(conn, in_db) and database.exists(conn, in_file)


def test_missing_or_altered_file_is_noticed_and_put_restores_it(sqlite_engine, prepared, tmp_path):
    engine = sqlite_engine
    store = FileStore(tmp_path)
    with audit.writing(engine, ADMIN) as conn:
        photo_id = store.put(conn, prepared, uploaded_by="a")
    path = store.path_for(prepared.sha256)
    path.write_bytes(b"tampered")
    with engine.connect() as conn:
        assert store.exists(conn, photo_id) and not store.exists(conn, photo_id, verify=True)
    path.unlink()
    with engine.connect() as conn:
        assert not store.exists(conn, photo_id)
        with pytest.raises(PhotoNotFound, match=r"文件缺失"):
            store.get_bytes(conn, photo_id)
    with audit.writing(engine, ADMIN) as conn:
        assert store.put(conn, prepared, uploaded_by="a") == photo_id
    assert path.read_bytes() == prepared.data


def test_put_without_an_actor_is_refused_before_any_file_is_written(sqlite_engine, prepared, tmp_path):
    engine = sqlite_engine
    with engine.begin() as conn, pytest.raises(audit.AuditError):
        FileStore(tmp_path).put(conn, prepared, uploaded_by="a")
    assert not any(tmp_path.rglob("*.jpg"))


def test_default_store_follows_the_database_and_the_environment(engine, tmp_path, monkeypatch):
    from civeval.store import db

    monkeypatch.delenv("CIVEVAL_PHOTO_STORAGE", raising=False)
    monkeypatch.delenv("CIVEVAL_PHOTO_DIR", raising=False)
    monkeypatch.setattr(db, "EVALUATIONS_DIR", tmp_path)
    store = photos.photo_store(engine)
    assert isinstance(store, DbStore if engine.dialect.name == "postgresql" else FileStore)
    assert store.root == tmp_path / "photos"
    monkeypatch.setenv("CIVEVAL_PHOTO_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("CIVEVAL_PHOTO_STORAGE", "file")
    store = photos.photo_store(engine)
    assert isinstance(store, FileStore) and store.root == tmp_path / "elsewhere"
    monkeypatch.setenv("CIVEVAL_PHOTO_STORAGE", "DB")
    assert isinstance(photos.photo_store(engine), DbStore)
    monkeypatch.setenv("CIVEVAL_PHOTO_STORAGE", "s3")
    with pytest.raises(ValueError, match=r"CIVEVAL_PHOTO_STORAGE"):
        photos.photo_store(engine)


# --- distance -------------------------------------------------------------------------------------------------


def test_distance_of_known_coordinates():
    lat, lon = TIANANMEN
    north = lat + 1000 / 111_195  # 1 km north: a degree of latitude is ~111.195 km
    assert photos.distance_m(lat, lon, north, lon) == pytest.approx(1000, rel=0.01)
    assert photos.distance_m(lat, lon, lat, lon) == 0
    # Tiananmen to the Bund, Shanghai: about 1,067 km.
    assert photos.distance_m(lat, lon, 31.2400, 121.4900) == pytest.approx(1_067_000, rel=0.01)


def test_location_check():
    lat, lon = TIANANMEN
    assert photos.location_check(None, lon, lat, lon) is None
    assert photos.location_check(lat, lon, lat, None) is None
    far = photos.location_check(lat, lon, lat + 1200 / 111_195, lon)
    assert far.too_far and far.limit_m == 300
    assert far.message == "照片拍摄位置距点位约 1.2 公里，超过 300 米"
    near = photos.location_check(lat, lon, lat + 100 / 111_195, lon)
    assert not near.too_far and near.message == "照片拍摄位置距点位约 100 米，在 300 米以内"


def test_too_far_only_beyond_the_limit(monkeypatch):
    lat, lon = TIANANMEN
    point = (lat + 0.002, lon + 0.002)
    d = photos.distance_m(lat, lon, *point)
    assert not photos.location_check(lat, lon, *point, limit_m=d).too_far
    assert photos.location_check(lat, lon, *point, limit_m=d - 1).too_far
    monkeypatch.setenv("CIVEVAL_PHOTO_DISTANCE_M", str(d - 1))
    assert photos.location_check(lat, lon, *point).too_far
    monkeypatch.setenv("CIVEVAL_PHOTO_DISTANCE_M", "1000")
    check = photos.location_check(lat, lon, *point)
    assert not check.too_far and check.limit_m == 1000
    monkeypatch.setenv("CIVEVAL_PHOTO_DISTANCE_M", "many")
    assert photos.location_check(lat, lon, *point).limit_m == photos.PHOTO_DISTANCE_LIMIT_M


def test_photo_gps_is_converted_to_the_registers_coordinate_system(monkeypatch):
    # Tiananmen: WGS-84 39.90734,116.39089 is about GCJ-02 39.90874,116.39713 (Amap shows the gate there)
    lat, lon = photos.wgs84_to_gcj02(39.90734, 116.39089)
    assert photos.distance_m(lat, lon, 39.90874, 116.39713) < 30
    assert photos.wgs84_to_gcj02(48.85, 2.35) == (48.85, 2.35)  # outside China: unchanged
    # a photo taken at the point itself, whose register coordinates were picked on Amap (GCJ-02)
    monkeypatch.setenv("CIVEVAL_POINT_COORDINATES", "wgs84")
    assert photos.location_check(39.90734, 116.39089, 39.90874, 116.39713).too_far  # ~550 m apart as numbers
    monkeypatch.setenv("CIVEVAL_POINT_COORDINATES", "gcj02")
    assert not photos.location_check(39.90734, 116.39089, 39.90874, 116.39713).too_far
    monkeypatch.setenv("CIVEVAL_POINT_COORDINATES", "bd09")
    blat, blon = photos.gcj02_to_bd09(39.90874, 116.39713)
    assert not photos.location_check(39.90734, 116.39089, blat, blon).too_far
    monkeypatch.setenv("CIVEVAL_POINT_COORDINATES", "mars")
    with pytest.raises(ValueError, match="CIVEVAL_POINT_COORDINATES"):
        photos.location_check(39.9, 116.3, 39.9, 116.3)
