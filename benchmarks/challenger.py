"""HTTP predict with a shadow challenger against the same versions folder without one."""

import json
import shutil
from pathlib import Path

from app.models.training import train
from app.models.versions import challenger as challengers

# Both servers get the same body, with an id: the shadow server records the customer's assignment too.
BODY = json.dumps({"customer_id": "C-1042", "annual_income": 60, "spending_score": 50}).encode()


def with_and_without_challenger(model_dir: Path, data: Path, workdir: Path) -> tuple[Path, Path]:
    """Two copies of the versions folder with a second version: one with it as a shadow challenger, one without."""
    plain, shadow = workdir / "no-challenger", workdir / "shadow-challenger"
    shutil.copytree(model_dir, plain)
    second = train(data, output_dir=plain, seed=7, activate=False).model.version
    shutil.copytree(plain, shadow)
    setting = {"version": second, "mode": "shadow", "share": 1.0, "set_at": "2026-12-06T00:00:00+00:00"}
    challengers.write_setting(shadow, setting, event="set", reason="benchmark", key=None)
    return shadow, plain
