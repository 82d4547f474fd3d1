"""Fingerprint system instructions across conventions: show which raw bytes differ."""
import json, hashlib, collections
from common import *
from extract import role_of, oi_msgs, jload
H = lambda s: hashlib.sha256(s.encode()).hexdigest()[:16]
seen = collections.OrderedDict()
for scen in ['prompt-regression', 'infra-retrieval']:
    for spans in iter_traces(scen):
        svc = spans[0].res['service.name']
        llm = next(s for s in spans if role_of(s) == 'llm'); a = llm.attrs
        v = {}
        if 'gen_ai.system_instructions' in a:
            v['raw gen_ai.system_instructions'] = a['gen_ai.system_instructions']
            v['parts[].content joined'] = '\n'.join(p['content'] for p in jload(a['gen_ai.system_instructions']))
        for r, c in oi_msgs(a, 'llm.input_messages'):
            if r == 'system': v['llm.input_messages.0.message.content'] = c
        if 'llm.prompt_template.template' in a: v['llm.prompt_template.template'] = a['llm.prompt_template.template']
        iv = jload(a.get('input.value'))
        if isinstance(iv, dict): v['input.value.messages[0].content'] = iv['messages'][0]['content']
        m = jload(a.get('gen_ai.input.messages'))
        if m and m[0].get('role') == 'system': v['gen_ai.input.messages[0] (role system).parts[0].content'] = m[0]['parts'][0]['content']
        pv = spans[0].attrs.get('gen_ai.prompt.version') or a.get('llm.prompt_template.version')
        key = (svc, pv)
        if key not in seen: seen[key] = v
for (svc, pv), v in seen.items():
    print(f'### {svc} {pv}')
    for k, s in v.items(): print(f'  {k}: sha16={H(s)} len={len(s)} head={s[:60]!r} tail={s[-60:]!r}')
import difflib
a = seen[('support-email', 'v7')]['parts[].content joined']; b = seen[('support-email', 'v8')]['parts[].content joined']
print('\nv7 -> v8 support_system diff:')
for op in difflib.SequenceMatcher(None, a, b).get_opcodes():
    if op[0] != 'equal': print(' ', op[0], repr(a[op[1]:op[2]]), '->', repr(b[op[3]:op[4]]))
a = seen[('research-agent', 'v4')]['gen_ai.input.messages[0] (role system).parts[0].content']; b = seen[('research-agent', 'v5')]['gen_ai.input.messages[0] (role system).parts[0].content']
print('\nresearch v4 -> v5 diff:')
for op in difflib.SequenceMatcher(None, a, b).get_opcodes():
    if op[0] != 'equal': print(' ', op[0], repr(a[op[1]:op[2]]), '->', repr(b[op[3]:op[4]]))
