"""Check extracted fields against truth dims (evaluation only)."""
import json, collections
from common import SCENARIOS
mis = collections.Counter(); tot = 0; ex = {}
for scen in SCENARIOS:
    for line in open(f'out/{scen}.jsonl'):
        r = json.loads(line); t = r['truth']; d = t['dims']; tot += 1
        checks = {
            'prompt': (f"{r['prompt_name']}@{r['prompt_version']}", d.get('prompt')),
            'request_model': (r.get('request_model'), d.get('requested_model')),
            'response_model': (r.get('response_model'), d.get('response_model')),
            'fingerprint': (r.get('fingerprint'), d.get('system_fingerprint')),
            'index_version': (r.get('index_version'), d.get('index_version')),
            'service_version': (r['service_version'], d.get('service_version')),
            'sysinst_sha': (r['sysinst_sha'], d.get('system_instructions_sha256')),
            'tool': ((r['tools'][0]['name'] if r['tools'] else None), d.get('tool') if r['tools'] else None),
            'tool_schema': ((r['tools'][0]['schema_version'] if r['tools'] else None), d.get('tool_schema_version') if r['tools'] else None),
            'answer_chars': (len(r['answer'] or ''), t['answer_chars']),
            'user': (r['user_id'], t['user_id']), 'session': (r['session_id'], t['session_id']),
        }
        for k, (a, b) in checks.items():
            if a != b:
                mis[(r['service'], k)] += 1; ex.setdefault((r['service'], k), (scen, a, b))
print('total', tot)
for k, v in sorted(mis.items()): print(k, v, ex[k])
