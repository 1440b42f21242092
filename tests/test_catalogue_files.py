"""A maker's catalogue files: checked with file, line and field; stored; exported back."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from fleetcare import catalogue as cat
from fleetcare.catalogue_files import CatalogueError, active, export, read_folder, store
from fleetcare.queries import beside

Q = beside(__file__)


def _folder(tmp_path: Path, components: str, codes: str) -> Path:
    folder = tmp_path / "catalogue"
    folder.mkdir(exist_ok=True)
    (folder / "components.csv").write_text(components)
    (folder / "fault_codes.csv").write_text(codes)
    return folder


GOOD_COMPONENTS = ("component_id,name,family,interval_h\n"
                   "Motor,Dieselmotor,engine,500\nPumpe,Hauptpumpe,hydraulic_pump,\n")
GOOD_CODES = "spn,name,component\n521001,oil pressure low,Motor\n110,coolant hot,cooling\n"


def test_errors_name_file_line_and_field(tmp_path: Path) -> None:
    folder = _folder(tmp_path, GOOD_COMPONENTS + "Kabine,Kabine,cab,100\n",
                     GOOD_CODES + "521002,x,Hydro\n600000,y,Motor\n")
    with pytest.raises(CatalogueError) as err:
        read_folder(folder)
    message = str(err.value)
    assert message.startswith(f"{folder / 'components.csv'} line 4, field family: 'cab'")
    assert message.endswith("(and 2 more)")
    folder = _folder(tmp_path, GOOD_COMPONENTS, GOOD_CODES + "521003,z,Hydro\n")
    with pytest.raises(CatalogueError, match=r"fault_codes.csv line 4, field component: "
                                             r"'Hydro' is neither"):
        read_folder(folder)
    folder = _folder(tmp_path, "component_id,name\nMotor,x\n", GOOD_CODES)
    with pytest.raises(CatalogueError, match="components.csv line 1: missing column"):
        read_folder(folder)


def test_store_show_export_round_trip(db_url: str, tmp_path: Path) -> None:
    maker = read_folder(_folder(tmp_path, GOOD_COMPONENTS, GOOD_CODES))
    with psycopg.connect(db_url, autocommit=True) as conn:
        assert store(conn, maker) == {"components": 2, "fault_codes": 2}
        data = active(conn)
        assert conn.execute(Q.value_fleetcare_component_family_pum).fetchone() == (
            "hydraulic_pump", "swing")
        out = export(conn, tmp_path / "exported")
        again = read_folder(out[0].parent)
        assert sorted(again.components) == sorted(maker.components)
        assert len(again.fault_codes) == len(cat.SPNS) + 1   # 110 replaced, 521001 added
        # An import replaces the previous one.
        store(conn, read_folder(_folder(tmp_path, GOOD_COMPONENTS.splitlines()[0] + "\n",
                                        "spn,name,component\n")))
        assert conn.execute(Q.count_catalogue_components).fetchone()[0] == 0
    assert [c["source"] for c in data["fault_codes"] if c["spn"] == 110] == ["imported"]
    assert sum(c["source"] == "imported" for c in data["components"]) == 2
