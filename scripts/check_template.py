#!/usr/bin/env python3
"""The template as a deployer meets it, beyond cfn-lint: SAM's own validation (`sam validate
--lint`), and checkov on the template the SAM translator expands (with the roles, permissions and
functions SAM generates), once with every default and once with every ingest path switched on.
A failed check fails this script; a check skipped must say why, next to the resource it skips
(`Metadata: checkov: skip: [{id, comment}]` in template.yaml).

    python scripts/check_template.py [template.yaml]

Runs in the template-tools venv (scripts/requirements-template.txt: aws-sam-cli, checkov), offline.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

# Every optional path on: the direct subscription, Kinesis (and its subscription), log-subscriber,
# the account-level subscription, ingest-s3 with its EventBridge rule and SNS subscription, the
# alarm e-mail.
EVERY_PATH = {
    "SubscribedLogGroupName": "/app/orders",
    "KinesisStreamMode": "ON_DEMAND",
    "KinesisSubscribedLogGroupName": "/app/payments",
    "SubscribeLogGroupPatterns": "/aws/lambda/*",
    "AlarmEmail": "ops@example.com",
    "SubscribeAccount": "true",
    "S3LogSources": "central-logs/AWSLogs,cf-logs",
    "S3EventBridgeBuckets": "central-logs",
    "S3NotificationTopicArn": "arn:aws:sns:us-east-1:123456789012:central-logs-created",
}


def expand(template: Path, defaults: dict[str, str], out: Path) -> None:
    """The template as CloudFormation receives it after the SAM transform, with `defaults` as the
    parameters' defaults (what checkov evaluates conditions with)."""
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse

    class NoManagedPolicies:
        def load(self):
            return {}

    source = yaml_parse(template.read_text())
    for name, value in defaults.items():
        source["Parameters"][name]["Default"] = value
    for resource in source["Resources"].values():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://loglake-artifacts/function.zip"  # sam build's upload
    out.write_text(json.dumps(transform(source, {}, NoManagedPolicies()), indent=1, default=str))


def checkov(expanded: Path) -> tuple[int, int, list[str], list[str]]:
    """(passed, skipped, failures, skips without a reason) of checkov on one expanded template."""
    run = subprocess.run(
        ["checkov", "--quiet", "--compact", "--skip-download", "--framework", "cloudformation", "-o", "json", "-f", str(expanded)],
        capture_output=True, text=True,
    )
    if not run.stdout.strip():
        sys.exit(f"checkov printed nothing (exit {run.returncode}):\n{run.stderr[-2000:]}")
    report = json.loads(run.stdout)
    reports = report if isinstance(report, list) else [report]
    passed, skipped, failures, unexplained = 0, 0, [], []
    for r in reports:
        results = r.get("results", {})
        passed += r.get("summary", {}).get("passed", 0)
        skipped += r.get("summary", {}).get("skipped", 0)
        for check in results.get("failed_checks", []):
            failures.append(f"{check['check_id']} {check['resource']}: {check['check_name']}")
        for check in results.get("skipped_checks", []):
            comment = (check.get("check_result") or {}).get("suppress_comment") or ""
            if len(comment.strip()) < 20:
                unexplained.append(f"{check['check_id']} {check['resource']}: skipped without a reason")
    return passed, skipped, failures, unexplained


def main() -> int:
    template = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "template.yaml"
    lint = subprocess.run(["sam", "validate", "--lint", "--template", str(template)], capture_output=True, text=True)
    print(lint.stdout.strip().splitlines()[0] if lint.stdout.strip() else lint.stderr.strip())
    if lint.returncode != 0:
        print(lint.stdout, lint.stderr)
        return 1
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        for variant, defaults in [("every default", {}), ("every path on", EVERY_PATH)]:
            expanded = Path(tmp) / "expanded.json"
            expand(template, defaults, expanded)
            passed, skipped, failures, unexplained = checkov(expanded)
            print(f"checkov ({variant}): {passed} passed, {len(failures)} failed, {skipped} skipped with a reason beside the resource, {len(unexplained)} without")
            problems += [f"{variant}: {p}" for p in failures + unexplained]
    for problem in problems:
        print("  " + problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
