"""Shared OTLP decoding helpers."""
import json, glob, os
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as ts
SCEN_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'shared', 'scenarios')
SCENARIOS = ['infra-retrieval', 'infra-toolschema', 'data-drift', 'prompt-regression', 'model-regression', 'control']

def av(v):
    k = v.WhichOneof('value')
    if k == 'string_value': return v.string_value
    if k == 'int_value': return v.int_value
    if k == 'double_value': return v.double_value
    if k == 'bool_value': return v.bool_value
    if k == 'array_value': return [av(x) for x in v.array_value.values]
    if k == 'kvlist_value': return {x.key: av(x.value) for x in v.kvlist_value.values}
    if k == 'bytes_value': return v.bytes_value.hex()
    return None

class Span:
    __slots__ = ('trace_id', 'span_id', 'parent', 'name', 'kind', 'start', 'end', 'status', 'status_msg',
                 'attrs', 'events', 'res', 'scope', 'scope_version')

def iter_traces(scen):
    """Yield list[Span] per trace, in batch order."""
    man = json.load(open(os.path.join(SCEN_DIR, scen, 'manifest.json')))
    files = man['batches'] if isinstance(man, dict) and 'batches' in man else man
    files = [f['file'] if isinstance(f, dict) else f for f in files]
    for fn in files:
        req = ts.ExportTraceServiceRequest()
        req.ParseFromString(open(os.path.join(SCEN_DIR, scen, fn), 'rb').read())
        traces = {}
        for rs in req.resource_spans:
            res = {a.key: av(a.value) for a in rs.resource.attributes}
            for ss in rs.scope_spans:
                for sp in ss.spans:
                    s = Span()
                    s.trace_id = sp.trace_id.hex(); s.span_id = sp.span_id.hex(); s.parent = sp.parent_span_id.hex()
                    s.name = sp.name; s.kind = sp.kind; s.start = sp.start_time_unix_nano; s.end = sp.end_time_unix_nano
                    s.status = sp.status.code; s.status_msg = sp.status.message
                    s.attrs = {a.key: av(a.value) for a in sp.attributes}
                    s.events = [(e.name, e.time_unix_nano, {a.key: av(a.value) for a in e.attributes}) for e in sp.events]
                    s.res = res; s.scope = ss.scope.name; s.scope_version = ss.scope.version
                    traces.setdefault(s.trace_id, []).append(s)
        for tid, spans in traces.items():
            spans.sort(key=lambda s: s.start)
            yield spans

def load_truth(scen):
    return json.load(open(os.path.join(SCEN_DIR, scen, 'truth.json')))
