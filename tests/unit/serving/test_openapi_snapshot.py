"""The OpenAPI document is the claim service's contract: a refactor must not change one byte.

`snapshots/openapi.json` was written from the app before `serving/` moved into domain folders.
When a change to the API is meant, write the snapshot again (`SETTLEWATCH_WRITE_SNAPSHOT=1`)
and say so in the commit.
"""

from __future__ import annotations

import os
from pathlib import Path

from api_support import make_settings
from fastapi.testclient import TestClient

from serving.app import create_app
from storage import make_engine

SNAPSHOT = Path(__file__).with_name("snapshots") / "openapi.json"


def test_openapi_document_is_the_snapshot_byte_for_byte(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'api.db'}")
    app = create_app(make_settings(tmp_path, f"file://{tmp_path / 'mlruns'}"), engine=engine)
    # no lifespan: the document needs no database, no model and no key
    served = TestClient(app).get("/openapi.json")
    assert served.status_code == 200
    if os.environ.get("SETTLEWATCH_WRITE_SNAPSHOT") == "1":
        SNAPSHOT.write_bytes(served.content)
    assert served.content == SNAPSHOT.read_bytes(), (
        "the OpenAPI document changed; if that is meant, write the snapshot again "
        "(SETTLEWATCH_WRITE_SNAPSHOT=1) and say why in the commit"
    )
