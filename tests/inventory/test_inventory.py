"""``souverain inventory``: each kind of inventory, built from its format's documentation, becomes
dependencies of the scan model, with evidence pointing at the file's line or JSON pointer."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from souverain.cli.main import cli
from souverain.inventory import attribute as inventory_attribute
from souverain.inventory.detect import detect_kind
from souverain.inventory.kubernetes import image_registry
from souverain.kb.base import load_kb

DATA = Path(__file__).parents[1] / "data" / "inventory"


def run(*args: str) -> dict:
    result = CliRunner().invoke(cli, ["inventory", *args, "--org", "acme", "--at", "2026-12-01", "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def by_service(doc: dict) -> dict[str, dict]:
    return {(d["service"] or {}).get("id") or d["subject"]: d for d in doc["dependencies"]}


def evidence(doc: dict, dep: dict) -> list[dict]:
    items = {e["id"]: e for e in doc["evidence"]["acme"]}
    return [items[i] for i in dep["evidence"]]


@pytest.mark.parametrize(("name", "kind"), [("saas.csv", "saas-list"), ("terraform-plan.json", "terraform"),
                                            ("manifests.yaml", "kubernetes"), ("cyclonedx.json", "cyclonedx"),
                                            ("spdx.json", "spdx"), ("session.har", "har")])
def test_kind_told_from_content(name: str, kind: str, tmp_path: Path) -> None:
    assert detect_kind(DATA / name) == kind
    renamed = tmp_path / "export.txt"  # the name does not matter
    renamed.write_bytes((DATA / name).read_bytes())
    assert detect_kind(renamed) == kind


def test_terraform_providers_and_regions() -> None:
    doc = run(str(DATA / "terraform-plan.json"))
    deps = by_service(doc)
    aws = deps["aws-cloud"]
    assert aws["function"] == "cloud.compute" and aws["status"] == "identified" and aws["tier"] == "verified"
    assert aws["subject"] == "aws-cloud eu-west-3"  # region from the plan's provider configuration
    assert aws["controller"]["id"] == "amazon" and "us-cloud-act" in aws["foreign_laws"]
    assert aws["rule"] == "services/aws-cloud.yaml fingerprints.terraform: hashicorp/aws"
    assert evidence(doc, aws)[0]["subject"].endswith("terraform-plan.json#/planned_values/root_module/resources/0")
    assert evidence(doc, aws)[0]["source"] == "file"
    assert deps["scaleway-cloud"]["subject"] == "scaleway-cloud fr-par"
    assert deps["scaleway-cloud"]["foreign_laws"] == []
    assert deps["azure-cloud"]["reason_params"]["region"] == "westeurope"
    local = deps["registry.terraform.io/hashicorp/random"]
    assert local["status"] == "none" and local["controller"] is None
    private = deps["registry.example.internal/acme/storage"]  # a private registry: never attributed by its name
    assert private["status"] == "unknown" and private["tier"] == "unknown"
    assert private["reason_params"]["hint"] == "fingerprints.terraform"
    assert len(doc["dependencies"]) == 5  # nothing dropped


def test_kubernetes_registries_storage_and_load_balancers() -> None:
    doc = run(str(DATA / "manifests.yaml"))
    deps = {(d["function"], (d["service"] or {}).get("id") or d["subject"]): d for d in doc["dependencies"]}
    hub = deps[("software.registry", "docker-hub")]  # nginx:1.27 has no registry host: Docker Hub
    assert evidence(doc, hub)[0]["subject"].endswith("manifests.yaml:14")
    assert deps[("software.registry", "github-container-registry")]["controller"]["id"] == "microsoft"
    assert deps[("software.registry", "aws-cloud")]["rule"].endswith("fingerprints.registry: amazonaws.com")
    compute = [d for d in doc["dependencies"] if d["function"] == "cloud.compute"]
    assert {d["reason_params"]["what"] for d in compute} == {"load-balancer", "storage"}
    assert all(d["service"]["id"] == "aws-cloud" for d in compute)
    storage = next(d for d in compute if d["reason_params"]["what"] == "storage")
    assert evidence(doc, storage)[0]["subject"].endswith("manifests.yaml:33")
    own = deps[("software.registry", "registry.acme.example")]
    assert own["status"] == "unknown" and own["reason_params"]["hint"] == "fingerprints.registry"


@pytest.mark.parametrize(("image", "registry"), [
    ("nginx", "docker.io"), ("library/nginx:1", "docker.io"), ("bitnami/redis", "docker.io"),
    ("ghcr.io/a/b:1", "ghcr.io"), ("localhost/x", "localhost"), ("registry.local:5000/x@sha256:1", "registry.local"),
])
def test_image_registry_follows_docker_rule(image: str, registry: str) -> None:
    assert image_registry(image) == registry


def test_sboms_suppliers_purls_and_services() -> None:
    doc = run(str(DATA / "cyclonedx.json"), str(DATA / "spdx.json"))
    deps = by_service(doc)
    assert deps["oracle-software"]["rule"].endswith("fingerprints.purl: maven/com.oracle.database.jdbc")
    assert deps["microsoft-software"]["rule"].endswith("fingerprints.supplier: Microsoft Corporation")
    assert deps["aws-software"]["controller"]["id"] == "amazon"
    assert evidence(doc, deps["aws-software"])[0]["subject"].endswith("spdx.json#/packages/0")
    nested = deps["pkg:npm/left-pad"]  # a nested component, unknown: listed with what would identify it
    assert nested["status"] == "unknown"
    assert evidence(doc, nested)[0]["subject"].endswith("cyclonedx.json#/components/1/components/0")
    scaleway = deps["scaleway-cloud"]  # a service of the SBOM is what its KB service is: cloud storage
    assert scaleway["function"] == "cloud.compute" and scaleway["operator"]["id"] == "scaleway"
    assert deps["libfoo@0.1"]["status"] == "unknown"  # a person as supplier names no company
    assert doc["scan"]["functions"] == ["inventory:cyclonedx", "inventory:spdx"]


def test_har_third_parties_only() -> None:
    doc = run(str(DATA / "session.har"))
    deps = by_service(doc)
    assert set(deps) == {"google-tag-manager", "unknown-widgets.example"}  # intranet.acme.example is first party
    assert deps["google-tag-manager"]["function"] == "web.third_party"


def test_saas_list_by_host_and_name() -> None:
    doc = run(str(DATA / "saas.csv"))
    deps = by_service(doc)
    assert deps["hubspot-crm"]["rule"].endswith("fingerprints.host: app.hubspot.com")  # the CRM application, not its tracking scripts
    assert evidence(doc, deps["hubspot-crm"])[0]["subject"].endswith("saas.csv:3")
    salesforce = next(d for d in doc["dependencies"] if d["operator"] and d["operator"]["id"] == "salesforce")
    assert salesforce["reason"] == "inventory-name" and salesforce["confidence"] == "medium"
    assert deps["Paie Locale SARL"]["status"] == "unknown"
    assert len(doc["dependencies"]) == 5


def test_saas_list_column_options(tmp_path: Path) -> None:
    path = tmp_path / "apps.csv"
    path.write_text("Outil;Site web\nSupport;acme.zendesk.com\n", encoding="utf-8")
    doc = run(str(path), "--domain-column", "Site web")
    assert by_service(doc)["zendesk-widget"]["status"] == "identified"
    result = CliRunner().invoke(cli, ["inventory", str(path), "--domain-column", "nope"])
    assert result.exit_code == 2 and "'nope' is not a column" in result.output


def test_hostile_cells_neutralised_in_csv_and_escaped_in_html() -> None:
    result = CliRunner().invoke(cli, ["inventory", str(DATA / "saas.csv"), "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert any("HYPERLINK" in cell for row in rows for cell in row)
    assert not [cell for row in rows for cell in row if cell[:1] in ("=", "+", "-", "@")]
    html = CliRunner().invoke(cli, ["inventory", str(DATA / "saas.csv"), "--format", "html"])
    assert html.exit_code == 0, html.output
    assert "<script>alert(1)</script>" not in html.stdout and "&lt;script&gt;" in html.stdout


@pytest.mark.parametrize("fmt", ["table", "sarif"])
def test_other_formats_render(fmt: str) -> None:
    result = CliRunner().invoke(cli, ["inventory", str(DATA / "terraform-plan.json"), "--format", fmt])
    assert result.exit_code == 0, result.output
    assert "aws" in result.stdout.lower()


def test_big_list_streams_with_bounded_evidence(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8") as handle:
        handle.write("name,domain\n")
        for index in range(5000):
            handle.write(f"app{index},t{index}.zendesk.com\n")
    doc = run(str(path))
    (dep,) = doc["dependencies"]
    assert dep["reason_params"]["count"] == 5000
    assert len(dep["evidence"]) == inventory_attribute.MAX_EVIDENCE == len(doc["evidence"]["acme"])


def test_kb_matching_is_on_boundaries() -> None:
    idx = load_kb().indexes
    assert idx.match_terraform("registry.terraform.io/HashiCorp/AWS").service == "aws-cloud"
    assert idx.match_terraform("hashicorp/aws").service == "aws-cloud"
    assert idx.match_terraform("registry.example/hashicorp/aws") is None
    assert idx.match_purl("pkg:maven/com.oracle.database.jdbc/ojdbc11@1").service == "oracle-software"
    assert idx.match_purl("pkg:maven/com.oraclefake/x@1") is None
    assert idx.match_purl("pkg:npm/%40azure/storage-blob@12").service == "microsoft-software"
    assert idx.match_purl("pkg:npm/left-pad@1") is None
    assert idx.match_host("ghcr.io.evil.example", ("registry",)) is None
    assert idx.match_kubernetes("service.beta.kubernetes.io/aws-load-balancer-type").service == "aws-cloud"


def test_cyclonedx_xml_like_json() -> None:
    doc = run(str(DATA / "cyclonedx.xml"))
    deps = by_service(doc)
    assert deps["oracle-software"]["status"] == "identified"
    assert deps["microsoft-software"]["rule"].endswith("fingerprints.supplier: Microsoft Corporation")
    nested = deps["pkg:npm/left-pad"]
    assert evidence(doc, nested)[0]["subject"].endswith(
        "cyclonedx.xml#/bom/components/component[2]/components/component[1]")
    storage = deps["scaleway-cloud"]  # the service's endpoint host, before the provider's name
    assert storage["function"] == "cloud.compute" and storage["rule"].endswith("fingerprints.cname: scw.cloud")


def test_identity_provider_export_read_as_saas_list() -> None:
    doc = run(str(DATA / "entra-enterprise-apps.csv"))
    deps = by_service(doc)
    assert deps["zendesk-widget"]["rule"].endswith("fingerprints.host: zendesk.com")  # Homepage URL column
    zoom = next(d for d in doc["dependencies"] if d["operator"] and d["operator"]["id"] == "zoom")
    assert zoom["reason"] == "inventory-name"
    assert deps["Internal HR portal"]["status"] == "unknown"


def test_json_follows_the_scan_schema() -> None:
    import jsonschema

    schema = json.loads(CliRunner().invoke(cli, ["schema", "scan"]).stdout)
    validator = jsonschema.Draft202012Validator(schema)
    for name in ("terraform-plan.json", "manifests.yaml", "saas.csv", "cyclonedx.xml", "session.har"):
        doc = run(str(DATA / name))
        problems = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]
        assert not problems, (name, problems[:3])


def test_evidence_recheck_commands_show_the_item() -> None:
    import shlex
    import shutil
    import subprocess

    doc = run(str(DATA / "manifests.yaml"), str(DATA / "terraform-plan.json"), str(DATA / "cyclonedx.xml"))
    items = doc["evidence"]["acme"]
    by_kind = {e["kind"]: e for e in items}
    assert by_kind["kubernetes"]["recheck"].startswith("sed -n ")
    assert by_kind["terraform"]["recheck"].startswith("jq 'getpath([\"planned_values\", \"root_module\"")
    assert by_kind["cyclonedx"]["recheck"] is None  # an XML element path: no command
    hub = next(e for e in items if e["detail"].get("registry") == "docker.io")
    if shutil.which("sed"):
        shown = subprocess.run(shlex.split(hub["recheck"]), capture_output=True, text=True, check=True).stdout
        assert "image: nginx:1.27" in shown
    aws = next(e for e in items if e["detail"].get("label") == "aws_instance.web")
    if shutil.which("jq"):
        shown = subprocess.run(shlex.split(aws["recheck"]), capture_output=True, text=True, check=True).stdout
        assert json.loads(shown)["address"] == "aws_instance.web"


def test_applications_named_by_product(tmp_path: Path) -> None:
    path = tmp_path / "apps.csv"
    path.write_text("Application,Vendor\nJira,\nSlack,\nMicrosoft Teams,\nOkta,\n", encoding="utf-8")
    doc = run(str(path))
    found = {(d["function"], d["service"]["id"]) for d in doc["dependencies"] if d["service"]}
    assert found == {("saas", "atlassian-cloud"), ("saas", "slack"), ("saas", "microsoft-teams"),
                     ("saas", "okta-workforce-identity")}
    assert all(d["rule"] and "fingerprints.supplier" in d["rule"] for d in doc["dependencies"])


def test_saas_list_columns_named_on_the_command_line(tmp_path: Path) -> None:
    """A register whose headers no default spelling matches: every column can be named."""
    path = tmp_path / "register.csv"
    path.write_text("Outil;Éditeur;Adresse;Nature du traitement;Note\n"
                    "Messagerie;Microsoft;outlook.office365.com;Collaboration;x\n", encoding="utf-8")
    document = run(str(path), "--name-column", "Outil", "--vendor-column", "Éditeur",
                   "--domain-column", "Adresse", "--category-column", "Nature du traitement")
    [dep] = document["dependencies"]
    assert dep["status"] == "identified" and dep["reason_params"]["first"] == "Messagerie [Collaboration]"
    result = CliRunner().invoke(cli, ["inventory", str(path), "--name-column", "Outil", "--category-column", "Kind"])
    assert result.exit_code == 2 and "--category-column 'Kind' is not a column" in result.output
