"""A local Amazon SQS: moto's server mode (its real SQS implementation) on loopback, for the event entry.

moto serves the SQS wire protocol that boto3 and aiobotocore speak, so the Amazon provider's SQS
trigger runs unchanged against it. On top of moto's server this wrapper counts the SQS actions
it is asked for (``calls``): the IAM policy test checks docs/iam/airflow-sync-policy.json grants
exactly what Airflow really called.
"""

from __future__ import annotations

import threading
from urllib.parse import parse_qs

import boto3
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from local_servers.common import BIND_HOST, CallCounter

REGION = "us-east-1"
# moto's account: queue URLs are http://host:port/123456789012/<name>.
ACCOUNT = "123456789012"
# moto accepts any keys; these only keep boto3 from looking for real ones.
CREDENTIALS = {"aws_access_key_id": "AKIDLOCALSQS", "aws_secret_access_key": "local-sqs-secret"}


def _action(environ: dict) -> str | None:
    """The SQS action of a request: the JSON protocol's X-Amz-Target, or the query protocol's Action."""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target.startswith("AmazonSQS."):
        return target.split(".", 1)[1]
    action = parse_qs(environ.get("QUERY_STRING", "")).get("Action")
    return action[0] if action else None


class SqsServer:
    """moto's SQS on ``url``; ``calls`` counts the SQS actions served (e.g. ReceiveMessage)."""

    def __init__(self, port: int = 0, host: str | None = None) -> None:
        self.calls = CallCounter()
        self._host = host or BIND_HOST
        self._port = port
        self._server = None
        self._thread: threading.Thread | None = None
        self.url: str | None = None

    def _app(self):
        moto_app = DomainDispatcherApplication(create_backend_app)

        def app(environ, start_response):
            action = _action(environ)
            if action:
                self.calls.add(action)
            return moto_app(environ, start_response)

        return app

    def start(self) -> str:
        self._server = make_server(self._host, self._port, self._app(), threaded=True, request_handler=MotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-sqs", daemon=True)
        self._thread.start()
        host, port = self._server.server_address[:2]
        self.url = f"http://{host}:{port}"
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._thread.join(timeout=10)
            self._server = None

    def __enter__(self) -> SqsServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def client(self):
        """A boto3 SQS client on this server (what the tests and the log stream send with)."""
        if self.url is None:
            raise RuntimeError("start() the server before asking for a client")
        return boto3.client("sqs", endpoint_url=self.url, region_name=REGION, **CREDENTIALS)

    def create_queue(self, name: str) -> str:
        """Create an empty queue and return its URL. moto keeps queues per process, not per server, so a
        queue of that name left by an earlier server in this process is emptied, not handed over as it is."""
        client = self.client()
        try:
            client.delete_queue(QueueUrl=client.get_queue_url(QueueName=name)["QueueUrl"])
        except client.exceptions.QueueDoesNotExist:
            pass
        return client.create_queue(QueueName=name)["QueueUrl"]

    def depth(self, queue_url: str) -> int:
        """Messages waiting or in flight (SQS's approximate counts; exact on moto)."""
        attributes = self.client().get_queue_attributes(
            QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])

    def airflow_connection_extra(self) -> dict:
        """An AWS connection's ``service_config`` that sends only SQS here (QuickSight keeps its endpoint)."""
        return {"service_config": {"sqs": {"endpoint_url": self.url}}}
