"""SaaS vendors named in inventories (issue 15 item 3): application names and hosts reach the right service and operator."""

from __future__ import annotations

import pytest

from souverain.kb.base import load_kb
from souverain.kb.indexes import Indexes

# (name as a SaaS list or an identity-provider export writes it, service, operator)
NAMES = [
    ("ServiceNow", "servicenow-platform", "servicenow"),
    ("Zendesk Support", "zendesk-suite", "zendesk"),
    ("Workday", "workday-hcm", "workday"),
    ("Yousign", "yousign-esignature", "yousign"),
    ("QuickBooks Online", "quickbooks-online", "intuit"),
    ("Auth0", "auth0-identity", "okta"),
    ("Zscaler Internet Access", "zscaler-zero-trust-exchange", "zscaler"),
    ("HubSpot", "hubspot-crm", "hubspot"),
    ("Zoho CRM", "zoho-crm", "zoho"),
    ("Tixeo", "tixeo-cloud", "tixeo"),
    ("Freshdesk", "freshworks-freshdesk", "freshworks"),
    ("Xero", "xero-accounting", "xero"),
    ("SAP Concur", "sap-concur", "sap"),
    ("Dynamics 365", "microsoft-dynamics-365", "microsoft"),
    ("Cloudflare Access", "cloudflare-zero-trust", "cloudflare"),
    ("CrowdStrike Falcon", "crowdstrike-falcon", "crowdstrike"),
    ("SentinelOne", "sentinelone-singularity", "sentinelone"),
    ("GitHub Enterprise Cloud", "github-enterprise", "github"),
    ("GitLab", "gitlab-saas", "gitlab-inc"),
    ("Tableau Cloud", "tableau-cloud", "salesforce"),
    ("Sage Intacct", "sage-business-cloud", "sage"),
    ("Intercom", "intercom-platform", "intercom"),
    ("Crisp", "crisp-workspace", "crisp"),
    ("Calendly", "calendly-scheduling", "calendly"),
    ("Typeform", "typeform-forms", "typeform"),
    ("Whaller", "whaller-network", "whaller"),
    ("Wimi", "wimi-workspace", "wimi"),
    ("Cegid Talentsoft", "cegid-cloud", "cegid"),
    ("PayFit", "payfit-payroll", "payfit"),
    ("Qonto", "qonto-business", "qonto"),
    ("Figgo", "lucca-hr", "lucca"),
    ("Pennylane", "pennylane-accounting", "pennylane"),
    ("Personio", "personio-hr", "personio"),
    ("Odoo", "odoo-online", "odoo"),
    ("Mailchimp", "mailchimp-marketing", "intuit"),
    ("Sendinblue", "brevo-marketing", "brevo"),
    ("Bitwarden", "bitwarden-password-manager", "bitwarden"),
    ("Dashlane Business", "dashlane-business", "dashlane"),
    ("Livestorm", "livestorm-events", "livestorm"),
    ("Jamespot", "jamespot-platform", "jamespot"),
    ("Google Workspace", "google-workspace-suite", "google"),
    ("Office 365", "microsoft-365-tenant", "microsoft"),
    ("Doctolib", "doctolib-pro", "doctolib"),
    ("Tresorit", "tresorit-cloud", "tresorit"),
    ("Olvid", "olvid-messaging", "olvid"),
    ("Threema Work", "threema-work-saas", "threema"),
    ("Element", "element-matrix-saas", "element"),
    ("ZITADEL", "zitadel-cloud", "zitadel"),
    ("LimeSurvey", "limesurvey-cloud", "limesurvey"),
    ("Le Chat", "mistral-le-chat", "mistral-ai"),
    ("ONLYOFFICE DocSpace", "onlyoffice-docspace", "ascensio"),
    ("Whereby", "whereby-video", "whereby"),
    ("Twilio", "twilio-platform", "twilio"),
    ("Power BI", "microsoft-power-bi", "microsoft"),
    ("Oracle Fusion Cloud HCM", "oracle-fusion-cloud", "oracle"),
    ("SAP Ariba", "sap-ariba", "sap"),
]


@pytest.fixture(scope="module")
def indexes() -> Indexes:
    return load_kb().indexes


@pytest.mark.parametrize(("name", "service", "operator"), NAMES, ids=[n[0] for n in NAMES])
def test_application_name_reaches_service_and_operator(indexes: Indexes, name: str, service: str, operator: str) -> None:
    kb = load_kb()
    for spelling in (name, name.upper(), f"  {name.lower()} "):
        match = indexes.match_supplier(spelling)
        assert match is not None, f"{spelling!r} matched no service"
        assert match.service == service
    assert kb.services[service].operator == operator
    assert operator in kb.entities


def test_saas_services_are_many_and_each_has_a_known_operator() -> None:
    kb = load_kb()
    saas = [s for s in kb.services.values() if s.category == "saas"]
    assert len(saas) >= 115
    for record in saas:
        assert record.operator in kb.entities, record.id
