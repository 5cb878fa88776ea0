"""bundle.yaml, deployed locally: the whole stack comes up and a request through apache2
reaches the app with every backend working (Elasticsearch is the runner's STAND-IN)."""

from __future__ import annotations

from pathlib import Path

from localmodel import ROOT, LocalModel, http_get


def test_bundle_deploys_the_whole_stack(model: LocalModel, charm: Path) -> None:
    model.cli("deploy-bundle", str(ROOT / "bundle.yaml"), "--charm", str(charm))
    status = model.status()
    for name, app in status["applications"].items():
        for unit, info in app["units"].items():
            assert info["workload-status"] == "active", (name, unit, info)
    assert len(status["relations"]) >= 4
    apache = status["applications"]["apache2"]["units"]["apache2/0"]
    port = apache["open-ports"][0].split("/")[0] if apache["open-ports"] else "8000"
    health = model.wait_serving(f"http://127.0.0.1:{port}/healthz").json()
    assert health["status"] == "ok", health
    assert all(backend["ok"] is True for backend in health["backends"].values()), health
    assert "postgresql" in health["backends"]["database"]["detail"]
    assert http_get("http://127.0.0.1:8080/healthz").status == 200


def test_the_16_charm_has_no_db_endpoint(model: LocalModel) -> None:
    """bundle.yaml deploys postgresql 16/stable, whose only client endpoint is database."""
    refused = model.cli("relate", "wsgi-app:db", "postgresql:db", check=False)
    assert refused.returncode != 0 and "no matching endpoint for postgresql:db" in refused.stderr, refused
    relations = model.status()["relations"]
    assert any("postgresql:database" in str(rel) for rel in relations), relations
