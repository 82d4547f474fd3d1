"""Exports live LLM-shaped traffic to a Tracehound server with the real OpenTelemetry SDK.

Usage: export_live.py PROTOCOL ENDPOINT RUN_ID [CA_PEM]
  PROTOCOL  grpc | http
  ENDPOINT  e.g. http://127.0.0.1:4317 (grpc) or http://127.0.0.1:4318 (http);
            https://... with CA_PEM to export over TLS
  CA_PEM    certificate authority the server's certificate is checked against
Prints one JSON object: the request ids, session id and texts it sent, for the test to look up.
"""

import json
import os
import sys

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Status, StatusCode


def exporter_for(protocol, endpoint, ca_path=None):
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        if ca_path is None:
            return OTLPSpanExporter(endpoint=endpoint, insecure=True)
        import grpc

        with open(ca_path, "rb") as ca:
            credentials = grpc.ssl_channel_credentials(root_certificates=ca.read())
        return OTLPSpanExporter(endpoint=endpoint, insecure=False, credentials=credentials)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    if ca_path is not None:
        # requests lets these variables override the session's CA file (it passes no
        # per-request `verify`), so a machine-wide bundle would hide the one given here.
        os.environ.pop("REQUESTS_CA_BUNDLE", None)
        os.environ.pop("CURL_CA_BUNDLE", None)
    return OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces", certificate_file=ca_path)


def main():
    protocol, endpoint, run_id = sys.argv[1], sys.argv[2], sys.argv[3]
    ca_path = sys.argv[4] if len(sys.argv) > 4 else None
    resource = Resource.create(
        {"service.name": "live-agent", "service.version": "2.0.1", "deployment.environment.name": "test"}
    )
    provider = TracerProvider(resource=resource)
    # Small batches so one trace spreads over several export requests, children first.
    provider.add_span_processor(
        BatchSpanProcessor(exporter_for(protocol, endpoint, ca_path), max_export_batch_size=2, schedule_delay_millis=50)
    )
    tracer = provider.get_tracer("live-agent", "1.0")
    session_id = f"sess_live_{run_id}"
    sent = {"session_id": session_id, "requests": []}
    for turn in range(3):
        request_id = f"req_live_{run_id}_{turn}"
        question = f"Where is order LIVE-{run_id}-{turn}? Please check twice."
        answer = f"Order LIVE-{run_id}-{turn} ships tomorrow."
        with tracer.start_as_current_span("agent.handle") as root:
            root.set_attribute("request.id", request_id)
            root.set_attribute("session.id", session_id)
            root.set_attribute("user.id", "user_live")
            root.set_attribute("gen_ai.prompt.name", "support")
            root.set_attribute("gen_ai.prompt.version", "v42")
            with tracer.start_as_current_span("chat gpt-4o") as llm:
                llm.set_attribute("gen_ai.operation.name", "chat")
                llm.set_attribute("gen_ai.provider.name", "openai")
                llm.set_attribute("gen_ai.request.model", "gpt-4o")
                llm.set_attribute("gen_ai.response.model", "gpt-4o-2024-08-06")
                llm.set_attribute("gen_ai.response.id", f"chatcmpl-live-{run_id}-{turn}")
                llm.set_attribute("gen_ai.request.temperature", 0.2)
                llm.set_attribute("gen_ai.usage.input_tokens", 120)
                llm.set_attribute("gen_ai.usage.output_tokens", 17)
                llm.set_attribute("gen_ai.response.finish_reasons", ["tool_calls"])
                llm.set_attribute(
                    "gen_ai.input.messages",
                    json.dumps(
                        [
                            {"role": "system", "parts": [{"type": "text", "content": "You are a support agent."}]},
                            {"role": "user", "parts": [{"type": "text", "content": question}]},
                        ]
                    ),
                )
                llm.set_attribute(
                    "gen_ai.output.messages",
                    json.dumps(
                        [
                            {
                                "role": "assistant",
                                "parts": [
                                    {
                                        "type": "tool_call",
                                        "id": f"call_{turn}",
                                        "name": "lookup_order",
                                        "arguments": {"order_id": f"LIVE-{run_id}-{turn}"},
                                    }
                                ],
                                "finish_reason": "tool_call",
                            }
                        ]
                    ),
                )
            with tracer.start_as_current_span("execute_tool lookup_order") as tool:
                tool.set_attribute("gen_ai.operation.name", "execute_tool")
                tool.set_attribute("gen_ai.tool.name", "lookup_order")
                tool.set_attribute("gen_ai.tool.call.id", f"call_{turn}")
                tool.set_attribute("gen_ai.tool.call.arguments", json.dumps({"order_id": f"LIVE-{run_id}-{turn}"}))
                tool.set_attribute("gen_ai.tool.call.result", json.dumps({"status": "ships tomorrow"}))
                if turn == 2:
                    tool.set_status(Status(StatusCode.ERROR, "carrier timeout"))
            with tracer.start_as_current_span("chat gpt-4o") as llm:
                llm.set_attribute("gen_ai.operation.name", "chat")
                llm.set_attribute("gen_ai.request.model", "gpt-4o")
                llm.set_attribute("gen_ai.response.model", "gpt-4o-2024-08-06")
                llm.set_attribute(
                    "gen_ai.output.messages",
                    json.dumps([{"role": "assistant", "parts": [{"type": "text", "content": answer}]}]),
                )
        sent["requests"].append({"request_id": request_id, "question": question, "answer": answer})
    provider.force_flush()
    provider.shutdown()
    print(json.dumps(sent))


if __name__ == "__main__":
    main()
