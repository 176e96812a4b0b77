"""Deployment files that cannot run here (no Docker engine) are checked statically: the compose file and the
collector config parse, wire what they should, reference only files that exist and variables that
.env.example documents; the collector's attribute allowlist stays in sync with deploy/trace-allowlist.yaml;
the shell scripts parse; the CI workflow runs the Makefile's targets."""

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from payloads.policy import load_policy

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
APP_SERVICES = ("web", "grpc", "worker", "beat")


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load(DEPLOY / "docker-compose.yml")


@pytest.fixture(scope="module")
def collector() -> dict[str, Any]:
    return load(DEPLOY / "otel-collector.yaml")


@pytest.fixture(scope="module")
def documented() -> set[str]:
    return set(re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.MULTILINE))


def settings_variables() -> set[str]:
    source = (ROOT / "tracefoundry_site" / "settings.py").read_text()
    return set(re.findall(r"env(?:\.\w+)?\(\s*\"([A-Z][A-Z0-9_]*)\"", source))


def script_variables(path: Path) -> set[str]:
    return set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)[:}-]", path.read_text()))


class TestCompose:
    def test_has_every_service_with_health_checks_and_volumes(self, compose: dict[str, Any]) -> None:
        services = compose["services"]
        assert set(services) == {"postgres", "redis", "minio", "minio-init", *APP_SERVICES, "otel-collector"}
        assert services["postgres"]["image"].startswith("postgres:16")
        assert services["otel-collector"]["image"].startswith("otel/opentelemetry-collector-contrib:")
        long_running = {"postgres", "redis", "minio", *APP_SERVICES}
        assert {name for name, s in services.items() if "healthcheck" in s} == long_running
        named = {v.split(":")[0] for s in services.values() for v in s.get("volumes", []) if not v.startswith(".")}
        assert named == set(compose["volumes"]) == {"postgres-data", "redis-data", "minio-data", "beat-state"}

    def test_app_services_run_one_image_in_their_roles_after_their_dependencies(self, compose: dict[str, Any]) -> None:
        services = compose["services"]
        assert [services[name]["command"] for name in APP_SERVICES] == [["web"], ["grpc"], ["worker"], ["beat"]]
        assert {services[name]["build"]["dockerfile"] for name in APP_SERVICES} == {"deploy/Dockerfile"}
        assert (DEPLOY / services["web"]["build"]["context"] / "deploy" / "Dockerfile").is_file()
        assert services["web"]["depends_on"] == {
            "postgres": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
            "minio-init": {"condition": "service_completed_successfully"},
        }
        web_env = services["web"]["environment"]
        assert web_env["REDIS_URL"] == "redis://redis:6379/0"
        assert re.fullmatch(r"postgres://.+@postgres:5432/.+", web_env["DATABASE_URL"])
        assert (web_env["PAYLOAD_STORAGE"], web_env["AWS_S3_ENDPOINT_URL"]) == ("s3", "http://minio:9000")
        assert services["worker"]["environment"] == services["beat"]["environment"]

    def test_app_environment_names_only_variables_the_services_read(self, compose: dict[str, Any]) -> None:
        read = settings_variables() | script_variables(DEPLOY / "entrypoint.sh")
        for name in APP_SERVICES:
            assert set(compose["services"][name]["environment"]) <= read

    def test_bind_mounts_point_at_existing_files(self, compose: dict[str, Any]) -> None:
        binds = [
            v.split(":")[0] for s in compose["services"].values() for v in s.get("volumes", []) if v.startswith(".")
        ]
        assert binds == ["./otel-collector.yaml"]
        assert all((DEPLOY / bind).is_file() for bind in binds)

    def test_every_interpolated_variable_is_documented(self, compose: dict[str, Any], documented: set[str]) -> None:
        lines = (DEPLOY / "docker-compose.yml").read_text().splitlines()
        text = "\n".join(line for line in lines if not line.lstrip().startswith("#"))
        used = set(re.findall(r"(?<!\$)\$\{([A-Z][A-Z0-9_]*)", text))
        assert used
        assert used - documented == set()


class TestEnvironmentDocumentation:
    def test_every_variable_settings_and_scripts_read_is_documented(self, documented: set[str]) -> None:
        read = (
            settings_variables()
            | script_variables(DEPLOY / "entrypoint.sh")
            | script_variables(ROOT / "scripts" / "run_all.sh")
        )
        assert {"RETENTION_METADATA_DAYS", "RETENTION_PAYLOAD_DAYS", "REDIS_URL"} <= read
        assert read - documented == set()


class TestCollectorConfig:
    def test_pipeline_runs_memory_limiter_redaction_batch_into_otlp_http(self, collector: dict[str, Any]) -> None:
        pipeline = collector["service"]["pipelines"]["traces"]
        assert pipeline == {
            "receivers": ["otlp"],
            "processors": ["memory_limiter", "redaction", "batch"],
            "exporters": ["otlp_http"],
        }
        assert set(pipeline["receivers"]) <= set(collector["receivers"])
        assert set(pipeline["processors"]) <= set(collector["processors"])
        assert set(pipeline["exporters"]) <= set(collector["exporters"])
        assert set(collector["service"]["extensions"]) <= set(collector["extensions"])
        protocols = collector["receivers"]["otlp"]["protocols"]
        assert (protocols["grpc"]["endpoint"], protocols["http"]["endpoint"]) == (
            "0.0.0.0:4317",
            "0.0.0.0:4318",
        )
        assert collector["processors"]["memory_limiter"]["check_interval"] == "1s"
        assert collector["processors"]["redaction"]["allow_all_keys"] is False

    def test_exporter_sends_to_the_web_service_with_the_ingest_key_retrying_and_queueing(
        self, collector: dict[str, Any], compose: dict[str, Any], documented: set[str]
    ) -> None:
        exporter = collector["exporters"]["otlp_http"]
        assert exporter["endpoint"] == "http://web:8000/otlp"
        assert compose["services"]["web"]["ports"] == ["${WEB_PORT:-8000}:8000"]
        assert exporter["headers"] == {"Authorization": "Bearer ${env:TRACEFOUNDRY_INGEST_KEY}"}
        assert exporter["retry_on_failure"]["enabled"] is True
        assert exporter["sending_queue"]["enabled"] is True
        text = (DEPLOY / "otel-collector.yaml").read_text()
        env_used = set(re.findall(r"\$\{env:([A-Z][A-Z0-9_]*)", text))
        assert env_used == {"TRACEFOUNDRY_INGEST_KEY"}
        assert env_used <= set(compose["services"]["otel-collector"]["environment"]) & documented

    def test_collector_mounts_its_config_where_its_command_reads_it(self, compose: dict[str, Any]) -> None:
        service = compose["services"]["otel-collector"]
        mounted = {v.split(":")[1] for v in service["volumes"]}
        assert {c.removeprefix("--config=") for c in service["command"]} <= mounted


@pytest.fixture(scope="module")
def kept() -> list[str]:
    allowlist = load(DEPLOY / "trace-allowlist.yaml")
    return [
        *allowlist["allowed_attributes"],
        *(rule["key"] for rule in allowlist["payload_attributes"]),
        *(key for rule in allowlist["payload_events"] for key in rule["content_attributes"]),
    ]


def glob_regex(glob: str) -> str:
    """The collector regex for an allowlist glob (`*` any run of characters, dots included; `?` one)."""
    return "^" + "".join({"*": ".*", "?": "."}.get(c, re.escape(c)) for c in glob) + "$"


class TestCollectorAllowlistInSync:
    """The collector keeps what TraceFoundry's strict mode keeps: allowed attributes, payload attributes and
    payload event content attributes of deploy/trace-allowlist.yaml. Exact keys map to `allowed_keys`, globs
    to anchored `ignored_key_patterns`."""

    def test_exact_keys_and_globs_match_the_allowlist(self, collector: dict[str, Any], kept: list[str]) -> None:
        redaction = collector["processors"]["redaction"]
        exact = {key for key in kept if not set(key) & set("*?[")}
        globs = {key for key in kept if set(key) & set("*?[")}
        assert set(redaction["allowed_keys"]) == exact, f"allowed_keys should be: {sorted(exact)}"
        expected_patterns = {glob_regex(g) for g in globs}
        assert set(redaction["ignored_key_patterns"]) == expected_patterns, (
            f"ignored_key_patterns should be: {sorted(expected_patterns)}"
        )

    def test_collector_and_server_policy_agree_on_sample_keys(self, collector: dict[str, Any]) -> None:
        policy = load_policy(DEPLOY / "trace-allowlist.yaml")
        redaction = collector["processors"]["redaction"]
        patterns = [re.compile(p) for p in redaction["ignored_key_patterns"]]

        def collector_keeps(key: str) -> bool:
            return key in redaction["allowed_keys"] or any(p.search(key) for p in patterns)

        def server_keeps(key: str) -> bool:
            return policy.is_allowed(key) or policy.payload_rule(key) is not None

        samples = [
            "service.name",
            "gen_ai.usage.input_tokens",
            "gen_ai.request.model",
            "llm.token_count.total",
            "llm.input_messages.0.message.content",
            "input.value",
            "tool.name",
            "exception.stacktrace",
            "user.email",
            "http.request.header.authorization",
            "db.statement",
            "enduser.id",
            "gen_ai.usage",
            "servicename",
            "llm.input_messagesX",
        ]
        assert {k: collector_keeps(k) for k in samples} == {k: server_keeps(k) for k in samples}
        assert not collector_keeps("user.email")


class TestScripts:
    @pytest.mark.parametrize("script", ["deploy/entrypoint.sh", "scripts/run_all.sh"])
    def test_parses_under_bash_n_and_is_executable(self, script: str) -> None:
        path = ROOT / script
        subprocess.run(["bash", "-n", str(path)], check=True)
        assert path.stat().st_mode & 0o111

    def test_make_run_and_the_image_serve_with_the_slow_client_proof_server(self, compose: dict[str, Any]) -> None:
        # One way to serve everywhere: tracefoundry_site/serve.py (Granian, header and body deadlines).
        assert '"$venv/python" -m tracefoundry_site.serve --host "$host"' in (ROOT / "scripts/run_all.sh").read_text()
        assert (
            "exec python -m tracefoundry_site.serve \\\n      --host 0.0.0.0" in (DEPLOY / "entrypoint.sh").read_text()
        )
        web_env = compose["services"]["web"]["environment"]
        timeouts = {name: web_env[name] for name in ("WEB_HEADER_TIMEOUT_SECONDS", "WEB_BODY_TIMEOUT_SECONDS")}
        assert timeouts == {
            "WEB_HEADER_TIMEOUT_SECONDS": "${WEB_HEADER_TIMEOUT_SECONDS:-10}",
            "WEB_BODY_TIMEOUT_SECONDS": "${WEB_BODY_TIMEOUT_SECONDS:-60}",
        }

    def test_dockerfile_builds_the_explorer_with_pnpm_and_copies_its_export(self) -> None:
        dockerfile = (DEPLOY / "Dockerfile").read_text()
        assert re.search(r"^FROM node:\S+ AS explorer$", dockerfile, re.MULTILINE)
        assert "RUN pnpm install --frozen-lockfile" in dockerfile
        assert "RUN pnpm build" in dockerfile
        assert "COPY --from=explorer --chown=tracefoundry:tracefoundry /src/frontend/out /app/frontend/out" in (
            dockerfile
        )
        assert 'ENTRYPOINT ["/app/deploy/entrypoint.sh"]' in dockerfile
        copied = re.findall(r"^COPY (?!--from)(?:--\S+ )*(\S+) ", dockerfile, re.MULTILINE)
        assert all((ROOT / source).exists() for source in copied), copied


class TestCiWorkflow:
    def test_jobs_run_the_makefile_targets(self) -> None:
        workflow = load(ROOT / ".github" / "workflows" / "ci.yml")
        runs = {name: [step.get("run", "") for step in job["steps"]] for name, job in workflow["jobs"].items()}
        assert "make lint" in runs["lint"]
        assert "make test-sqlite PYTEST_ARGS='-m \"not browser\"'" in runs["unit"]
        assert "make frontend-test" in runs["unit"]
        assert "make test-postgres PYTEST_ARGS='-m \"not browser\"'" in runs["integration"]
        assert "make test-sqlite PYTEST_ARGS='-m browser'" in runs["e2e"]
        assert set(workflow["jobs"]["integration"]["services"]) == {"postgres", "redis"}
        makefile = (ROOT / "Makefile").read_text()
        assert all(f"\n{target}:" in makefile for target in ("lint", "test-sqlite", "test-postgres", "frontend-test"))
