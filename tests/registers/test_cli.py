"""The registers from the command line: the same functions as the API, one line saying what was done."""

from __future__ import annotations

from click.testing import CliRunner

from gridops.cli import cli
from tests.conftest import TEST_GRID


def _run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_the_office_keeps_workers_calendars_and_categories_from_the_command_line(writable_demo_url, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", writable_demo_url)
    monkeypatch.setenv("GRIDOPS_INSTANCE_PATH", str(tmp_path / "instance"))
    added = _run("workers", "add", "W8001", "韩梅", "--role", "grid_worker", "--phone", "13800008001")
    assert added.exit_code == 0 and "worker W8001 韩梅 (grid_worker) added" in added.output, added.output
    assigned = _run("workers", "assign", "W8001", TEST_GRID, "--duty", "backup", "--from", "2026-12-07")
    assert assigned.exit_code == 0 and "W8001 is backup of " + TEST_GRID in assigned.output, assigned.output
    listed = _run("workers", "list", "--area", TEST_GRID)
    assert f"W8001\t韩梅\tgrid_worker\t{TEST_GRID}:backup" in listed.output

    bad = tmp_path / "bad.csv"
    bad.write_text("date,kind,name\n2027-02-06,holiday,春节\n2027-13-01,holiday,?\n", encoding="utf-8")
    refused = _run("calendar", "import", str(bad))
    assert refused.exit_code != 0 and "row 3" in refused.output and "nothing was imported" in refused.output, refused.output
    good = tmp_path / "2027.csv"
    good.write_text("\ufeffdate,kind,name\n2027-02-06,休,春节\n2027-02-20,班,春节调休\n", encoding="utf-8")
    imported = _run("calendar", "import", str(good))
    assert imported.exit_code == 0 and "2 day(s) imported for 2027" in imported.output, imported.output
    shown = _run("calendar", "show", "--year", "2027")
    assert "2027-02-06\tholiday\t春节" in shown.output and "2027-02-20\tworkday\t春节调休" in shown.output

    changed = _run("categories", "set", "hazard.fire_lane", "time_limit_minutes=120")
    assert changed.exit_code == 0 and "time_limit_minutes=120" in changed.output, changed.output
    wrong = _run("categories", "set", "hazard.fire_lane", "time_limit=5")
    assert wrong.exit_code != 0
    listed = _run("categories", "list")
    assert "hazard\thazard.fire_lane\t消防通道堵塞\turgent\taccept/handle/verify 60/120/1440 min\tdepartment" in listed.output
    named = _run("categories", "group", "09", "--name", "突发事件")
    assert named.exit_code == 0 and "class 09: 突发事件" in named.output, named.output
    assert "09\t突发事件\t\t0 categories" in _run("categories", "groups").output
    sheet = tmp_path / "categories.csv"
    assert _run("categories", "export", "--out", str(sheet)).exit_code == 0
    back = _run("categories", "import", str(sheet))
    assert back.exit_code == 0 and "0 added, 0 changed; classes: 0 added, 0 renamed" in back.output, back.output

    deactivated = _run("workers", "deactivate", "W8001", "--note", "试用期未过")
    assert deactivated.exit_code == 0 and "worker W8001 deactivated: 1 assignment(s) ended" in deactivated.output, deactivated.output
    trail = _run("audit", "--key", "W8001")
    assert "system\tworker W8001\tdeactivate" in trail.output and "system\tworker W8001\tcreate" in trail.output


def test_households_round_trip_through_a_file_from_the_command_line(writable_demo_url, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", writable_demo_url)
    monkeypatch.setenv("GRIDOPS_INSTANCE_PATH", str(tmp_path / "instance"))
    out = tmp_path / "households.xlsx"
    exported = _run("households", "export", "--out", str(out))
    assert exported.exit_code == 0 and "row(s) written" in exported.output, exported.output
    n = int(exported.output.split("households: ")[1].split(" ")[0])
    again = _run("households", "import", str(out), "--note", "原样导回")
    assert again.exit_code == 0 and f"{n} row(s) imported from households.xlsx: 0 added, 0 updated, {n} unchanged" in again.output, \
        again.output
    bad = tmp_path / "bad.csv"
    bad.write_text("code,building\nHH-Z-1,NOWHERE\n", encoding="utf-8")
    refused = _run("households", "import", str(bad))
    assert refused.exit_code != 0 and "row 2 (building): no building has the code NOWHERE" in refused.output, refused.output


def test_each_register_in_bulk_and_a_visit_entry_kept_from_the_command_line(city, tmp_path, monkeypatch):
    from tests.registers.test_imports import _doors_of

    monkeypatch.setenv("DATABASE_URL", city.app.config["DATABASE_URL"])  # the test's own database, its clock
    monkeypatch.setenv("GRIDOPS_INSTANCE_PATH", str(tmp_path / "instance"))
    for register in ("workers", "assignments", "buildings", "registers"):
        out = tmp_path / f"{register}.{'xlsx' if register == 'buildings' else 'csv'}"
        exported = _run(register, "export", "--out", str(out))
        assert exported.exit_code == 0 and "row(s) written to" in exported.output, exported.output
        n = int(exported.output.split(f"{register}: ")[1].split(" ")[0])
        again = _run(register, "import", str(out), "--note", "原样导回")
        assert again.exit_code == 0 and f"{n} row(s) imported from {out.name}: 0 added, 0 updated, {n} unchanged" in again.output, \
            again.output
    bad = tmp_path / "people.csv"
    bad.write_text("工号,姓名,角色\nW9401,新人,网格员\nW9402,,网格员\n", encoding="utf-8")
    refused = _run("workers", "import", str(bad))
    assert refused.exit_code != 0 and "row 3 (name)" in refused.output and "nothing was imported" in refused.output, refused.output

    here, there, _ = _doors_of(city, TEST_GRID)
    added = _run("registers", "add", here, "--kind", "low_income", "--person", "赵奶奶", "--note", "新登记")
    assert added.exit_code == 0 and "低保户 赵奶奶" in added.output, added.output
    entry = added.output.split("register ")[1].split(":")[0]
    listed = _run("registers", "list", "--area", TEST_GRID)
    assert f"{entry}\t{TEST_GRID}\tlow_income\t赵奶奶\t{here}\tevery 30 days" in listed.output, listed.output
    for args, said in ((("change", entry, "--every", "10"), "changed"), (("pause", entry, "2026-12-01"), "paused until 2026-12-01"),
                       (("resume", entry), "resumed"), (("move", entry, "--household", there), f"moved to {there}"),
                       (("end", entry, "--note", "迁出"), "ended")):
        done = _run("registers", *args)
        assert done.exit_code == 0 and f"register {entry} {said}" in done.output, done.output
    trail = _run("audit", "--kind", "register", "--key", entry)
    assert [line.split("\t")[3] for line in trail.output.splitlines()[:-1]] == ["end", "move", "resume", "pause", "update", "create"]
