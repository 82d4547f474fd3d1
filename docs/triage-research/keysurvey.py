"""Survey attribute keys per (service, span role) across all scenarios -> keysurvey.txt"""
import re, collections
from common import *
def norm(k): return re.sub(r'\.\d+\.', '.<i>.', k)
keys = collections.defaultdict(collections.Counter)
names = collections.defaultdict(collections.Counter)
events = collections.Counter(); resk = collections.defaultdict(collections.Counter); status = collections.Counter()
for scen in SCENARIOS:
    for spans in iter_traces(scen):
        svc = spans[0].res.get('service.name')
        for s in spans:
            role = 'root' if not s.parent else (s.attrs.get('openinference.span.kind') or s.attrs.get('gen_ai.operation.name') or '?')
            names[(svc, role)][re.sub(r' \S+$', ' *', s.name) if role in ('execute_tool',) else s.name] += 1
            for k in s.attrs: keys[(svc, role)][norm(k)] += 1
            for e in s.events: events[(svc, role, e[0], tuple(sorted(e[2])))] += 1
            status[(svc, role, s.status)] += 1
        for k, v in spans[0].res.items(): resk[svc][(k, v if k in ('service.version',) else '')] += 1
with open('keysurvey.txt', 'w') as f:
    for (svc, role), c in sorted(keys.items(), key=lambda x: (str(x[0][0]), str(x[0][1]))):
        f.write(f'## {svc} / {role}  names={dict(names[(svc, role)])}\n')
        for k, n in sorted(c.items()): f.write(f'   {k}: {n}\n')
    f.write('\n## events\n')
    for k, n in sorted(events.items(), key=str): f.write(f'   {k}: {n}\n')
    f.write('\n## status\n')
    for k, n in sorted(status.items(), key=str): f.write(f'   {k}: {n}\n')
    f.write('\n## resource\n')
    for svc, c in resk.items():
        for k, n in sorted(c.items()): f.write(f'   {svc} {k}: {n}\n')
