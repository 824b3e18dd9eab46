"""How every Kafka client of the election connects: the brokers, and the security settings
(SASL, TLS) from the settings catalogue, for librdkafka clients and for Spark's Java client.

Every producer, consumer and admin client is configured here, so a secured cluster needs the
settings once (KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_*, KAFKA_SSL_CA_LOCATION) and nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping

from election.settings import SettingError, setting

_SCRAM_MODULE = "org.apache.kafka.common.security.scram.ScramLoginModule"
_PLAIN_MODULE = "org.apache.kafka.common.security.plain.PlainLoginModule"


def _security(environ: Mapping[str, str] | None) -> tuple[str, str, str, str, str]:
    protocol = setting("KAFKA_SECURITY_PROTOCOL", environ)
    mechanism = setting("KAFKA_SASL_MECHANISM", environ)
    user = setting("KAFKA_SASL_USERNAME", environ)
    password = setting("KAFKA_SASL_PASSWORD", environ)
    ca = setting("KAFKA_SSL_CA_LOCATION", environ)
    if protocol.startswith("SASL") and not (user and password):
        raise SettingError(
            f"KAFKA_SECURITY_PROTOCOL={protocol} needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"
        )
    return protocol, mechanism, user, password, ca


def security_config(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """librdkafka's security settings ({} for a plaintext cluster)."""
    protocol, mechanism, user, password, ca = _security(environ)
    if protocol == "PLAINTEXT":
        return {}
    config = {"security.protocol": protocol.lower()}
    if protocol.startswith("SASL"):
        config |= {"sasl.mechanism": mechanism, "sasl.username": user, "sasl.password": password}
    if protocol.endswith("SSL") and ca:
        config["ssl.ca.location"] = ca
    return config


def client_config(bootstrap: str, **extra) -> dict:
    """A librdkafka client's settings: the brokers, the security settings, then extra."""
    return {"bootstrap.servers": bootstrap, **security_config(), **extra}


def spark_kafka_options(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The same security for Spark's Kafka source and sink (Java client, `kafka.` options)."""
    protocol, mechanism, user, password, ca = _security(environ)
    if protocol == "PLAINTEXT":
        return {}
    options = {"kafka.security.protocol": protocol}
    if protocol.startswith("SASL"):
        module = _PLAIN_MODULE if mechanism == "PLAIN" else _SCRAM_MODULE
        options |= {
            "kafka.sasl.mechanism": mechanism,
            "kafka.sasl.jaas.config": (
                f'{module} required username="{jaas_quoted(user)}" password="{jaas_quoted(password)}";'
            ),
        }
    if protocol.endswith("SSL") and ca:
        options |= {"kafka.ssl.truststore.type": "PEM", "kafka.ssl.truststore.location": ca}
    return options


def jaas_quoted(text: str) -> str:
    """A value inside a JAAS configuration's double quotes."""
    return text.replace("\\", "\\\\").replace('"', '\\"')
