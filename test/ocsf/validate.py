"""Validate `pitr-guard scan --format ocsf` output: every record with py-ocsf-models'
ComplianceFinding.model_validate (OCSF 1.5.0), plus the schema requirements the models do not
enforce (they ignore unknown attributes, make compliance.standards optional and take any int as a
time). Usage: validate.py FILE [EXPECTED_COUNT]. Exit 0 and one summary line when every record
passes; exit 1 and one line per problem otherwise.
"""
import json
import sys

from py_ocsf_models import OCSF_VERSION
from py_ocsf_models.events.findings.compliance_finding import ComplianceFinding

# OCSF 1.5.0 enums (dictionary.json / compliance_finding.json / objects/compliance.json).
ACTIVITY = {0: "Unknown", 1: "Create", 2: "Update", 3: "Close", 99: "Other"}
SEVERITY = {0: "Unknown", 1: "Informational", 2: "Low", 3: "Medium", 4: "High", 5: "Critical", 6: "Fatal", 99: "Other"}
FINDING_STATUS = {0: "Unknown", 1: "New", 2: "In Progress", 3: "Suppressed", 4: "Resolved", 5: "Archived", 99: "Other"}
COMPLIANCE_STATUS = {0: "Unknown", 1: "Pass", 2: "Warning", 3: "Fail", 99: "Other"}
# What pitr-guard emits at the event level: every name is an attribute of compliance_finding in 1.5.0
# (base event, finding, compliance finding, cloud profile). Anything else belongs in `unmapped`.
ALLOWED_TOP = {
    "activity_id", "activity_name", "category_uid", "category_name", "class_uid", "class_name",
    "type_uid", "type_name", "time", "severity_id", "severity", "status_id", "status",
    "status_code", "status_detail", "message", "metadata", "cloud", "finding_info",
    "compliance", "resources", "remediation", "unmapped",
}
REQUIRED_TOP = ["activity_id", "category_uid", "class_uid", "type_uid", "time", "metadata", "severity_id", "finding_info", "compliance"]
# Milliseconds since the epoch between 2001 and 2286: a time in seconds is far below.
MS_MIN, MS_MAX = 1_000_000_000_000, 9_999_999_999_999


def check(i, r, problems):
    def bad(msg):
        problems.append(f"record {i} ({r.get('finding_info', {}).get('uid', '?')}): {msg}")

    for key in REQUIRED_TOP:
        if key not in r:
            bad(f"required attribute {key} missing")
    for key in r:
        if key not in ALLOWED_TOP:
            bad(f"attribute {key} is not a compliance_finding attribute (put it in unmapped)")
    if r.get("category_uid") != 2:
        bad(f"category_uid {r.get('category_uid')} != 2")
    if r.get("class_uid") != 2003:
        bad(f"class_uid {r.get('class_uid')} != 2003")
    act = r.get("activity_id")
    if act not in ACTIVITY:
        bad(f"activity_id {act} not in the enum")
    elif r.get("activity_name") not in (None, ACTIVITY[act]):
        bad(f"activity_name {r.get('activity_name')} != {ACTIVITY[act]}")
    if r.get("type_uid") != 2003 * 100 + (act if isinstance(act, int) else -1):
        bad(f"type_uid {r.get('type_uid')} != class_uid*100+activity_id")
    for key, enum in (("severity_id", SEVERITY), ("status_id", FINDING_STATUS)):
        v = r.get(key)
        if v is not None and v not in enum:
            bad(f"{key} {v} not in the enum")
    if r.get("severity_id") in SEVERITY and r.get("severity") not in (None, SEVERITY[r["severity_id"]]):
        bad(f"severity {r.get('severity')} != {SEVERITY[r['severity_id']]}")
    if r.get("status_id") in FINDING_STATUS and r.get("status") not in (None, FINDING_STATUS[r["status_id"]]):
        bad(f"status {r.get('status')} != {FINDING_STATUS[r['status_id']]}")

    def ms(path, v):
        if v is None:
            return
        if not isinstance(v, int) or isinstance(v, bool) or not (MS_MIN <= v <= MS_MAX):
            bad(f"{path} {v!r} is not a timestamp_t in milliseconds")

    ms("time", r.get("time"))
    md = r.get("metadata") or {}
    if md.get("version") != OCSF_VERSION:
        bad(f"metadata.version {md.get('version')!r} != {OCSF_VERSION} (the version validated against)")
    prod = md.get("product") or {}
    if not prod.get("vendor_name"):
        bad("metadata.product.vendor_name missing")
    if not (prod.get("name") or prod.get("uid")):
        bad("metadata.product needs name or uid")
    if "cloud" in (md.get("profiles") or []):
        cloud = r.get("cloud")
        if not isinstance(cloud, dict) or not cloud.get("provider"):
            bad("cloud profile applied but cloud.provider missing")
    fi = r.get("finding_info") or {}
    for key in ("uid", "title"):
        if not fi.get(key):
            bad(f"finding_info.{key} missing")
    for key in ("created_time", "first_seen_time", "last_seen_time", "modified_time"):
        ms(f"finding_info.{key}", fi.get(key))
    comp = r.get("compliance") or {}
    standards = comp.get("standards")
    if not isinstance(standards, list) or not standards or not all(isinstance(s, str) and s for s in standards):
        bad("compliance.standards (required) missing or empty")
    cs = comp.get("status_id")
    if cs is not None and cs not in COMPLIANCE_STATUS:
        bad(f"compliance.status_id {cs} not in the enum")
    elif cs is not None and comp.get("status") not in (None, COMPLIANCE_STATUS[cs]):
        bad(f"compliance.status {comp.get('status')} != {COMPLIANCE_STATUS[cs]}")
    for j, res in enumerate(r.get("resources") or []):
        if not (res.get("uid") or res.get("name")):
            bad(f"resources[{j}] needs uid or name")
    if "remediation" in r and not (r["remediation"] or {}).get("desc"):
        bad("remediation.desc (required in remediation) missing")


def main():
    path = sys.argv[1]
    expected = int(sys.argv[2]) if len(sys.argv) > 2 else None
    with open(path, encoding="utf-8") as f:
        records = json.load(f)
    problems = []
    if not isinstance(records, list):
        print("FAIL: the output is not a JSON array")
        return 1
    if expected is not None and len(records) != expected:
        problems.append(f"{len(records)} records, expected {expected}")
    uids = [r.get("finding_info", {}).get("uid") for r in records]
    if len(set(uids)) != len(uids):
        problems.append("finding_info.uid is not unique per table")
    for i, r in enumerate(records):
        try:
            ComplianceFinding.model_validate(r)
        except Exception as e:  # pydantic.ValidationError: every field that failed
            problems.append(f"record {i}: py-ocsf-models rejected it: {' '.join(str(e).split())}")
        check(i, r, problems)
    for p in problems:
        print(f"FAIL: {p}")
    if problems:
        return 1
    print(f"OK: {len(records)} OCSF {OCSF_VERSION} Compliance Finding records valid")
    return 0


if __name__ == "__main__":
    sys.exit(main())
