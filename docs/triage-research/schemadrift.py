"""OpenInference only: advertised tool parameters (llm.tools.<i>.tool.json_schema) vs executed schema (tool.parameters)."""
import json, collections
from common import *
from extract import role_of
for scen in SCENARIOS:
    c = collections.Counter()
    for spans in iter_traces(scen):
        adv = {}
        for s in spans:
            if role_of(s) == 'llm':
                for k, v in s.attrs.items():
                    if k.startswith('llm.tools.') and k.endswith('.tool.json_schema'):
                        j = json.loads(v)['function']; adv[j['name']] = sorted(j['parameters']['properties'])
        for s in spans:
            if role_of(s) == 'tool' and 'tool.parameters' in s.attrs:
                n = s.attrs.get('tool.name'); act = sorted(json.loads(s.attrs['tool.parameters'])['properties'])
                if n in adv: c[(n, s.attrs.get('tool.schema.version'), 'match' if adv[n] == act else f'MISMATCH adv={adv[n]} exec={act}', s.status)] += 1
    print(scen, dict(c))
