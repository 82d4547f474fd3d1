"""Floods a Tracehound server with spans through the real OpenTelemetry SDK exporters,
faster than a deliberately tiny write queue admits, so the server must push back and the
exporters must retry.

Usage: flood.py PROTOCOL ENDPOINT RUN_ID SPANS
Prints one JSON object: {"spans": N} once every span was handed to the exporter and flushed.
"""

import json
import sys

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor


def exporter_for(protocol, endpoint):
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter(endpoint=endpoint, insecure=True, timeout=60)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces", timeout=60)


def main():
    protocol, endpoint, run_id, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    provider = TracerProvider(resource=Resource.create({"service.name": f"flood-{run_id}"}))
    # A queue large enough that the SDK never drops a span: every loss would be the server's.
    processor = BatchSpanProcessor(
        exporter_for(protocol, endpoint),
        max_queue_size=count + 1,
        max_export_batch_size=256,
        schedule_delay_millis=5,
    )
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("flood")
    prompt = "Summarise the refund policy for order B-31726. " * 40
    for i in range(count):
        with tracer.start_as_current_span("chat gpt-4o") as span:
            span.set_attribute("request.id", f"req_flood_{run_id}_{i // 10}")
            span.set_attribute("gen_ai.operation.name", "chat")
            span.set_attribute("gen_ai.request.model", "gpt-4o")
            span.set_attribute("gen_ai.input.messages", json.dumps([{"role": "user", "parts": [{"type": "text", "content": prompt}]}]))
    ok = provider.force_flush(timeout_millis=120_000)
    provider.shutdown()
    print(json.dumps({"spans": count, "flushed": ok}))


if __name__ == "__main__":
    main()
