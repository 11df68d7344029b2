"""SpatiaLite, PROJ, GEOS and GDAL in one process, in the order a request uses them.

mod_spatialite is loaded RTLD_GLOBAL by SQLite and drags in the system PROJ,
GEOS and libsqlite3; the wheels' own copies must stay bound to themselves.
Before gridops.core.db loaded them first, this crashed at exit (PROJ) or while
writing a GeoPackage (GDAL's SQLite).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_spatialite_then_proj_geos_and_gdal_in_one_process(tmp_path):
    script = textwrap.dedent(
        f"""
        from sqlalchemy import text
        from gridops.core.db import Database

        db = Database("sqlite:///{tmp_path / 'x.sqlite'}")
        with db.connect() as conn:  # mod_spatialite is loaded here
            conn.execute(text("SELECT AsText(Transform(MakePoint(104.1, 30.6, 4326), 32648))")).scalar()

        import geopandas as gpd
        import pyproj
        import shapely
        from shapely.geometry import box

        pyproj.Transformer.from_crs(4326, 4547, always_xy=True).transform(104.1, 30.6)
        shapely.union_all([box(0, 0, 1, 1), box(1, 0, 2, 1)])
        frame = gpd.GeoDataFrame({{"code": ["a"]}}, geometry=[box(104, 30, 104.1, 30.1)], crs=4326)
        frame.to_file("{tmp_path / 'x.gpkg'}", driver="GPKG", engine="pyogrio")
        assert len(gpd.read_file("{tmp_path / 'x.gpkg'}")) == 1
        db.dispose()
        print("ok")
        """
    )
    for _ in range(3):  # the crash was at exit, every time; a lucky run proves nothing
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr[-2000:]
        assert out.stdout.strip() == "ok"
