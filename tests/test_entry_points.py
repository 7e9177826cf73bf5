"""Finding plugins: the installed entry points, remembered until what is installed changes."""

from __future__ import annotations

import shutil

from plugin_dist import GOOD_PLUGIN, make_dist_info, make_plugin

from runner import entry_points


def test_entry_points_are_read_once_then_remembered(tmp_path, monkeypatch):
    site = tmp_path / "site"
    monkeypatch.syspath_prepend(str(site))
    module = make_plugin(site, GOOD_PLUGIN, dist="pdrun-bobs")
    found = entry_points.pdrun_entry_points()
    assert [(ep.name, ep.value, ep.dist) for ep in found if ep.name == "pdrun-bobs"] == [
        ("pdrun-bobs", module, ("pdrun-bobs", "1.0"))
    ]

    def unread():
        raise AssertionError("the metadata was read again")

    monkeypatch.setattr(entry_points, "_read_metadata", unread)
    assert entry_points.pdrun_entry_points() == found
    bobs = next(ep for ep in entry_points.pdrun_entry_points() if ep.name == "pdrun-bobs")
    assert bobs.load().__name__ == module


def test_other_files_written_where_python_looks_keep_the_cache(tmp_path, monkeypatch):
    site = tmp_path / "site"
    monkeypatch.syspath_prepend(str(site))
    make_plugin(site, GOOD_PLUGIN, dist="pdrun-bobs")
    found = entry_points.pdrun_entry_points()
    (site / "report.html").write_text("<html></html>")

    def unread():
        raise AssertionError("the metadata was read again")

    monkeypatch.setattr(entry_points, "_read_metadata", unread)
    assert entry_points.pdrun_entry_points() == found


def test_installing_or_removing_a_distribution_reads_them_again(tmp_path, monkeypatch):
    site = tmp_path / "site"
    monkeypatch.syspath_prepend(str(site))
    make_plugin(site, GOOD_PLUGIN, dist="pdrun-bobs")
    assert "pdrun-bobs" in {ep.name for ep in entry_points.pdrun_entry_points()}
    make_plugin(site, GOOD_PLUGIN, dist="pdrun-more")
    assert {"pdrun-bobs", "pdrun-more"} <= {ep.name for ep in entry_points.pdrun_entry_points()}
    for info in site.glob("pdrun_bobs_*.dist-info"):
        shutil.rmtree(info)
    assert "pdrun-bobs" not in {ep.name for ep in entry_points.pdrun_entry_points()}


def test_upgrading_a_distribution_reads_them_again(tmp_path, monkeypatch):
    site = tmp_path / "site"
    monkeypatch.syspath_prepend(str(site))
    make_dist_info(site, "pdrun-bobs", "1.0", {"pdrun-bobs": "bobs_v1"})
    assert [(ep.value, ep.dist) for ep in entry_points.pdrun_entry_points() if ep.name == "pdrun-bobs"] == [
        ("bobs_v1", ("pdrun-bobs", "1.0"))
    ]
    assert list((tmp_path / "cache" / "pdrun").iterdir())  # under $XDG_CACHE_HOME/pdrun
    shutil.rmtree(site / "pdrun_bobs-1.0.dist-info")
    make_dist_info(site, "pdrun-bobs", "2.0", {"pdrun-bobs": "bobs_v2"})
    assert [(ep.value, ep.dist) for ep in entry_points.pdrun_entry_points() if ep.name == "pdrun-bobs"] == [
        ("bobs_v2", ("pdrun-bobs", "2.0"))
    ]


def test_a_damaged_cache_is_read_past(tmp_path, monkeypatch):
    site = tmp_path / "site"
    monkeypatch.syspath_prepend(str(site))
    make_plugin(site, GOOD_PLUGIN, dist="pdrun-bobs")
    found = entry_points.pdrun_entry_points()
    cache = next((tmp_path / "cache" / "pdrun").glob("entry-points-*.json"))
    cache.write_text("{not json")
    assert entry_points.pdrun_entry_points() == found
