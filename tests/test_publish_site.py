"""The online hall of deeds (volreg.publish_site, ``volreg site``): consent, pages, determinism, photos."""

from __future__ import annotations

import json
import re
import struct
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner
from factories import make_id_number

import volreg
from volreg.cli import cli
from volreg.publish.images import clean_image

pytest.importorskip("jinja2", reason="jinja2 is not installed (the site extra)")


def _png(*chunks: tuple[bytes, bytes]) -> bytes:
    """A 1×1 PNG with extra chunks before its image data."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    head = chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
    extra = b"".join(chunk(k, b) for k, b in chunks)
    return (b"\x89PNG\r\n\x1a\n" + head + extra + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
            + chunk(b"IEND", b""))


@pytest.fixture
def hall(registry, community, tmp_path):
    """A registry with named and unnamed honourees, a family, a group and a promotion chain."""
    registry.define_honour("xiongguan_good_person", "雄关好人", level="city", cadence="edition",
                           counted_from=("中国好人",))
    registry.define_honour("gansu_good_person", "甘肃好人", level="provincial", cadence="annual",
                           counts_as=("雄关好人",))
    registry.define_honour("civilised_family", "嘉峪关市文明家庭", level="city", recipient="family",
                           cadence="annual", categories=())
    registry.define_honour("model_group", "先进集体", level="city", recipient="group", cadence="annual",
                           categories=())
    edition = registry.add_edition("雄关好人", 1, year=2020, ceremony_on="2020-12-10", title="第一期雄关好人发布仪式")
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "王秀兰.png").write_bytes(_png((b"tEXt", b"Comment\x00GPS 39.8N 98.3E"),
                                                       (b"eXIf", b"MM\x00*secret")))
    named = registry.add_person("王秀兰", id_number=make_id_number("19600504"), phone="13812345678", consent=True)
    hidden = registry.add_person("李建国", id_number=make_id_number(), phone="13900001111", consent=False)
    first = registry.award("雄关好人", named, category="助人为乐", edition=edition, awarded_on="2020-12-10",
                           deed="三十年照顾孤寡老人。", photo=str(tmp_path / "photos" / "王秀兰.png"),
                           links=[("专访王秀兰", "https://www.example.cn/a/1")])
    registry.promote(first, "甘肃好人", awarded_on="2021-05-20")
    registry.award("雄关好人", hidden, category="见义勇为", edition=edition, awarded_on="2020-12-10",
                   deed="李建国跳河救人。")
    family = registry.add_family("赵刚家庭", members=[registry.add_person("赵刚", consent=True)], consent=False)
    registry.award("嘉峪关市文明家庭", family, period="2024", awarded_on="2024-05-15", deed="赵家家风淳朴。")
    registry.award("先进集体", community, period="2024", awarded_on="2024-06-01", deed="社区志愿服务队。")
    return registry, named, hidden


def _all_text(root: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(root.rglob("*")) if p.is_file()
                     and p.suffix in (".html", ".js", ".css")) + "\n".join(p.name for p in root.rglob("*"))


def test_only_consenting_recipients_are_named(hall, tmp_path):
    """The consenting person and the group have pages; the others are counted, never named."""
    registry, named, hidden = hall
    out = tmp_path / "site"
    files = volreg.publish_site(registry, out)
    pages = {f for f in files if f.startswith("honourees/")}
    group = next(registry.organisations()).id
    assert {f"honourees/{named.id}.html"} | {f for f in pages if group not in f} >= pages
    assert f"honourees/{hidden.id}.html" not in pages
    text = _all_text(out)
    for secret in ("李建国", "赵刚", "13812345678", "13900001111", "1960-05-04", "1960年5月4日", "GPS",
                   "王秀兰.png", "跳河救人", "家风淳朴"):
        assert secret not in text, secret
    page = (out / "honourees" / f"{named.id}.html").read_text(encoding="utf-8")
    assert "王秀兰" in page and "三十年照顾孤寡老人" in page and "第一期雄关好人发布仪式" in page
    assert re.search(r"雄关好人.*甘肃好人", page.split("逐级推荐")[1], re.S)
    assert 'href="https://www.example.cn/a/1"' in page and "专访王秀兰" in page
    assert 'alt="王秀兰的照片"' in page
    home = (out / "index.html").read_text(encoding="utf-8")
    assert "共 2 人次，公开姓名 1 人次" in home  # 雄关好人: one named, one only counted
    title = (out / "titles" / "xiongguan_good_person.html").read_text(encoding="utf-8")
    assert "另有 1 位获评者未同意公开姓名" in title


def test_file_names_are_ids_and_the_photo_loses_its_metadata(hall, tmp_path):
    """Pages and photos are named by ids; the copied PNG keeps its picture but not its text or EXIF chunks."""
    registry, named, _ = hall
    files = volreg.publish_site(registry, tmp_path / "site")
    for name in files:
        assert re.fullmatch(r"[a-z0-9_./-]+", name), name
    photo = next(f for f in files if f.startswith("photos/"))
    data = (tmp_path / "site" / photo).read_bytes()
    assert b"IDAT" in data and b"tEXt" not in data and b"eXIf" not in data and b"GPS" not in data
    assert f"honourees/{named.id}.html" in files


def test_the_same_registry_gives_the_same_bytes(hall, tmp_path):
    """Two runs write identical files; a second run into the same directory replaces the first."""
    registry, _, _ = hall
    first = volreg.publish_site(registry, tmp_path / "a")
    volreg.publish_site(registry, tmp_path / "b")
    assert first == volreg.publish_site(registry, tmp_path / "a")
    for name in first:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_withdrawn_consent_removes_the_page(hall, tmp_path):
    """A site generated again after a person withdraws consent no longer has their page or name."""
    registry, named, _ = hall
    out = tmp_path / "site"
    volreg.publish_site(registry, out)
    registry.db.execute("UPDATE people SET consent = 0 WHERE id = ?", [named.id])
    files = volreg.publish_site(registry, out)
    assert f"honourees/{named.id}.html" not in files
    assert not (out / "honourees" / f"{named.id}.html").exists()
    assert "王秀兰" not in _all_text(out)


def test_a_directory_that_is_not_a_site_is_refused(hall, tmp_path):
    """Writing into a directory with other files is refused, and the files stay."""
    registry, _, _ = hall
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "keep.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(volreg.InvalidValue, match="out_dir"):
        volreg.publish_site(registry, tmp_path / "docs")
    assert ["keep.txt"] == [p.name for p in (tmp_path / "docs").iterdir()]


def test_titles_and_since_filter_the_site(hall, tmp_path):
    """Only the chosen titles, and only honours awarded since the date, are published and counted."""
    registry, named, _ = hall
    files = volreg.publish_site(registry, tmp_path / "s", titles=["甘肃好人"])
    assert ["titles/gansu_good_person.html"] == [f for f in files if f.startswith("titles/")]
    files = volreg.publish_site(registry, tmp_path / "t", since=2024)
    assert {"years/2024.html"} == {f for f in files if f.startswith("years/")}
    assert f"honourees/{named.id}.html" not in files
    with pytest.raises(volreg.NotFound):
        volreg.publish_site(registry, tmp_path / "u", titles=["没有的称号"])


def test_search_index_holds_only_named_recipients(hall, tmp_path):
    """The offline search index lists the named recipients with their titles, and nobody else."""
    registry, named, _ = hall
    volreg.publish_site(registry, tmp_path / "site")
    text = (tmp_path / "site" / "assets" / "search-index.js").read_text(encoding="utf-8")
    index = json.loads(text.removeprefix("window.VOLREG_INDEX = ").rstrip().rstrip(";"))
    assert {"王秀兰", "新华社区"} == {entry["name"] for entry in index}
    entry = next(e for e in index if e["id"] == named.id)
    assert ["甘肃好人", "雄关好人"] == entry["titles"]


def test_links_must_be_web_urls(registry):
    """A javascript: link is refused when the honour is recorded, so it can never reach a page."""
    person = registry.add_person("王秀兰", consent=True)
    with pytest.raises(volreg.InvalidValue, match="links"):
        registry.award("中国好人", person, category="助人为乐", awarded_on="2024-03-01",
                       links=["javascript:alert(1)"])
    assert [] == list(registry.db.query("SELECT id FROM honours"))


def test_honour_import_reads_photo_and_links(registry, tmp_path):
    """The honours import fills 照片 and 采访链接 (several links, each with an optional title)."""
    registry.add_person("王秀兰", consent=True)
    path = tmp_path / "honours.csv"
    path.write_text("荣誉称号,姓名,类别,授予日期,照片,采访链接\n"
                    "中国好人,王秀兰,助人为乐,2024-03-01,photos/w.jpg,专访 https://a.cn/1; https://b.cn/2\n",
                    encoding="utf-8")
    report = volreg.import_file(registry, path, kind="honours")
    assert 1 == report.created, report.problems
    honour = registry.honours_of(registry.db.execute("SELECT id FROM people").fetchone()[0])[0]
    assert ("photos/w.jpg", (("专访", "https://a.cn/1"), ("https://b.cn/2", "https://b.cn/2"))) == (
        honour.photo, honour.links)


def test_a_missing_photo_is_named(registry, tmp_path):
    """A photo file that does not exist stops the site with the field and the honour named."""
    person = registry.add_person("王秀兰", consent=True)
    honour = registry.award("中国好人", person, category="助人为乐", awarded_on="2024-03-01", photo="nowhere.jpg")
    with pytest.raises(volreg.InvalidValue, match=f"photo.*{honour.id}"):
        volreg.publish_site(registry, tmp_path / "site")
    assert not (tmp_path / "site").exists()


def test_clean_jpeg_drops_exif_and_comments():
    """APP1 (EXIF) and COM segments go; JFIF, the tables and the scan stay."""
    jfif = b"\xff\xe0" + struct.pack(">H", 7) + b"JFIF\x00"
    exif = b"\xff\xe1" + struct.pack(">H", 10) + b"Exif\x00\x00GP"
    comment = b"\xff\xfe" + struct.pack(">H", 6) + b"home"
    dqt = b"\xff\xdb" + struct.pack(">H", 4) + b"\x00\x01"
    scan = b"\xff\xda\x00\x02pixels\xff\xd9"
    cleaned = clean_image(b"\xff\xd8" + jfif + exif + comment + dqt + scan, ".jpg")
    assert b"\xff\xd8" + jfif + dqt + scan == cleaned
    with pytest.raises(volreg.InvalidValue, match="photo"):
        clean_image(b"not a jpeg", ".jpg")


def test_site_command(hall, tmp_path):
    """``volreg site DB OUT_DIR`` writes the site and says how many pages."""
    registry, named, _ = hall
    path = tmp_path / "city.db"
    registry.db.execute("VACUUM INTO ?", [str(path)])
    result = CliRunner().invoke(cli, ["--key-file", str(_key(tmp_path)), "site", str(path), str(tmp_path / "out"),
                                      "--title", "雄关好人", "--title", "甘肃好人"])
    assert 0 == result.exit_code, result.output
    assert "pages" in result.output
    assert (tmp_path / "out" / "honourees" / f"{named.id}.html").is_file()
    assert not (tmp_path / "out" / "titles" / "civilised_family.html").exists()


def _key(tmp_path: Path) -> Path:
    key = tmp_path / "test.key"
    key.write_text("test-key-16-bytes", encoding="utf-8")
    key.chmod(0o600)
    return key


def test_pages_are_accessible(hall, tmp_path):
    """Every page says it is Chinese, has one h1, alt text on every image and a label for every field."""
    from html.parser import HTMLParser

    class Page(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.tags: list[tuple[str, dict[str, str | None]]] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            self.tags.append((tag, dict(attrs)))

    registry, _, _ = hall
    out = tmp_path / "site"
    pages = [f for f in volreg.publish_site(registry, out) if f.endswith(".html")]
    assert len(pages) > 5
    for name in pages:
        page = Page()
        page.feed((out / name).read_text(encoding="utf-8"))
        assert ("html", {"lang": "zh-CN"}) in page.tags, name
        assert 1 == sum(tag == "h1" for tag, _ in page.tags), name
        assert ("meta", {"name": "viewport", "content": "width=device-width, initial-scale=1"}) in page.tags
        assert all(attrs.get("alt") for tag, attrs in page.tags if tag == "img"), name
        labelled = {attrs["for"] for tag, attrs in page.tags if tag == "label"}
        fields = {attrs["id"] for tag, attrs in page.tags if tag in ("input", "select")}
        assert fields <= labelled, name
        assert not any("http" in str(attrs.get("src", "")) for _, attrs in page.tags), name  # nothing external


def test_the_shareable_copy_is_the_same_bytes_each_time(hall, tmp_path):
    """Publishing the same registry twice gives identical files, and a registry file is never overwritten."""
    registry, _, _ = hall
    volreg.publish_database(registry, tmp_path / "a.db")
    volreg.publish_database(registry, tmp_path / "b.db")
    assert (tmp_path / "a.db").read_bytes() == (tmp_path / "b.db").read_bytes()
    volreg.publish_database(registry, tmp_path / "a.db")  # replacing an earlier copy is fine
    other = volreg.open(tmp_path / "other.db", key="k-key-of-16-bytes")
    other.close()
    with pytest.raises(volreg.InvalidValue, match="out_path"):
        volreg.publish_database(registry, tmp_path / "other.db")


def test_m010_gives_older_honours_no_photo_and_no_links(tmp_path):
    """A registry made before m010_honour_media upgrades; its honours read with no photo and no links."""
    import sqlite_utils

    from volreg.store.schema import MIGRATIONS

    path = tmp_path / "old.db"
    db = sqlite_utils.Database(path)
    MIGRATIONS.apply(db, stop_before="m010_honour_media")
    assert "photo" not in db["honours"].columns_dict
    db["people"].insert({"id": "per-old", "name": "王秀兰"})
    db["honours"].insert({"id": "hon-old", "honour": "china_good_person", "recipient_kind": "person",
                          "person": "per-old", "period": "2024-Q1", "year": 2024, "awarded_on": "2024-03-01"})
    db.close()
    registry = volreg.open(path, key="k-key-of-16-bytes")
    assert {"photo": str, "links": str} == {c: t for c, t in registry.db["honours"].columns_dict.items()
                                           if c in ("photo", "links")}
    assert ("", ()) == (registry.honour_record("hon-old").photo, registry.honour_record("hon-old").links)
    registry.close()
