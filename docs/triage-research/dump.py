"""Dump raw spans of a few traces for inspection: python dump.py <scenario> <batch> [n_traces] [service]"""
import sys, json, os
from common import SCEN_DIR, av
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as ts
from google.protobuf.json_format import MessageToDict
scen, b = sys.argv[1], sys.argv[2]
n = int(sys.argv[3]) if len(sys.argv) > 3 else 1
svc = sys.argv[4] if len(sys.argv) > 4 else None
req = ts.ExportTraceServiceRequest()
req.ParseFromString(open(os.path.join(SCEN_DIR, scen, f'batch-{int(b):04d}.pb'),'rb').read())
traces = {}
for rs in req.resource_spans:
    res = {a.key: av(a.value) for a in rs.resource.attributes}
    for ss in rs.scope_spans:
        for sp in ss.spans:
            traces.setdefault(sp.trace_id.hex(), []).append((res, ss.scope.name, ss.scope.version, sp))
shown = 0
for tid, spans in traces.items():
    if svc and spans[0][0].get('service.name') != svc: continue
    print('=== TRACE', tid, 'resource', spans[0][0], 'scope', spans[0][1], spans[0][2])
    for res, sn, sv, sp in sorted(spans, key=lambda x: x[3].start_time_unix_nano):
        print('--- span', sp.name, 'kind', sp.kind, 'id', sp.span_id.hex(), 'parent', sp.parent_span_id.hex(), 'dur_ms', (sp.end_time_unix_nano-sp.start_time_unix_nano)/1e6, 'status', sp.status.code, sp.status.message)
        for a in sp.attributes:
            v = av(a.value); s = json.dumps(v, ensure_ascii=False)
            print('   ', a.key, '=', s[:600] + ('...' if len(s) > 600 else ''))
        for e in sp.events:
            print('   EVENT', e.name, {a.key: av(a.value) for a in e.attributes})
        for l in sp.links: print('   LINK', l.trace_id.hex())
    shown += 1
    if shown >= n: break
