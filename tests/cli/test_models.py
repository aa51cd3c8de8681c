"""`python -m app.cli models ...` does what the API does, on the local folder."""

from app.models.versions.store import VersionStore


def test_models_cli_lists_activates_rolls_back_and_deletes(run_cli, two_versions):
    root, first, second = two_versions

    def models(*args: str) -> tuple[int, str, str]:
        return run_cli("models", "--model-dir", root, *args)

    code, out, _ = models("list")
    assert code == 0 and f"* {first}" in out and f"  {second}" in out
    assert models("show", second)[0] == 0
    assert models("activate", second, "--reason", "cli test")[0] == 0
    assert VersionStore(root).active_version() == second
    code, _, err = models("delete", second)
    assert code == 2 and err.startswith("error: ") and "is active" in err
    assert models("rollback")[0] == 0
    assert VersionStore(root).active_version() == first
    code, out, _ = models("history")
    assert "cli test" in out and f"{second} -> {first}" in out
    assert models("delete", second)[0] == 0
    assert VersionStore(root).versions() == [first]
    code, _, err = models("show", "nope")
    assert code == 2 and "no model version" in err
