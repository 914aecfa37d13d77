#!/usr/bin/env python3
"""Make the hostile archives the bundle reader must refuse (stdlib only, deterministic).

    python3 tests/bundles/unsafe/make_unsafe.py

  bomb-1g.zip      one entry expanding to 1 GiB of zeros (about 1 MB on disk)
  dotdot.zip       an entry named ../../escaped.txt
  symlink.zip      an entry marked as a symbolic link to /etc/passwd
"""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATE = (2026, 1, 1, 0, 0, 0)


def main() -> None:
    with zipfile.ZipFile(HERE / "bomb-1g.zip", "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        info = zipfile.ZipInfo("scorewell.json", DATE)
        info.compress_type = zipfile.ZIP_DEFLATED
        with z.open(info, "w", force_zip64=True) as f:
            chunk = bytes(1 << 20)
            for _ in range(1024):
                f.write(chunk)
    with zipfile.ZipFile(HERE / "dotdot.zip", "w") as z:
        z.writestr(zipfile.ZipInfo("../../escaped.txt", DATE), "escaped")
    with zipfile.ZipFile(HERE / "symlink.zip", "w") as z:
        info = zipfile.ZipInfo("models/model.json", DATE)
        info.create_system = 3  # unix, so the mode bits below are read
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        z.writestr(info, "/etc/passwd")
    for p in sorted(HERE.glob("*.zip")):
        print(f"{p.name}: {p.stat().st_size} bytes")


if __name__ == "__main__":
    main()
