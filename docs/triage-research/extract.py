"""Per-request signal extraction from OTLP traces (no labels used), joined to truth for evaluation.
Writes out/<scenario>.jsonl. Convention-agnostic: each signal is read from an ordered list of keys."""
import json, hashlib, re, sys, os
from common import *

def jload(x):
    if isinstance(x, (dict, list)): return x
    if not isinstance(x, str): return None
    try: return json.loads(x)
    except Exception: return None

def role_of(s):
    a = s.attrs
    k = (a.get('openinference.span.kind') or '').upper()
    op = a.get('gen_ai.operation.name') or ''
    if not s.parent: return 'root'
    if k == 'LLM' or op in ('chat', 'generate_content', 'text_completion'): return 'llm'
    if k == 'TOOL' or op == 'execute_tool': return 'tool'
    if k == 'RETRIEVER' or op == 'retrieval': return 'retrieval'
    if k == 'EMBEDDING' or op == 'embeddings': return 'embedding'
    return 'other'

def parts_text(parts):
    if not isinstance(parts, list): return None
    t = [p.get('content') for p in parts if isinstance(p, dict) and p.get('type') in (None, 'text') and isinstance(p.get('content'), str)]
    return '\n'.join(t) if t else None

def genai_msgs_by_role(v, role):
    """gen_ai.input/output.messages -> list of text for role."""
    m = jload(v)
    if not isinstance(m, list): return []
    return [t for t in (parts_text(x.get('parts')) for x in m if isinstance(x, dict) and x.get('role') == role) if t]

def oi_msgs(a, prefix):
    """llm.input_messages.<i>.message.* -> list of (role, content) ordered by i."""
    out = {}
    for k, v in a.items():
        m = re.match(re.escape(prefix) + r'\.(\d+)\.message\.(role|content)$', k)
        if m: out.setdefault(int(m.group(1)), {})[m.group(2)] = v
    return [(out[i].get('role'), out[i].get('content')) for i in sorted(out)]

def last_user_question(spans):
    """The user's own last turn. Prefer root (holds the raw question), then retrieval query, then template var,
    then last user message of the first LLM span (may contain appended context)."""
    root = spans[0]; a = root.attrs
    for key in ('gen_ai.input.messages',):
        if key in a:
            u = genai_msgs_by_role(a[key], 'user')
            if u: return u[-1], 'root:' + key + '[-1 user]'
    if 'input.value' in a:
        v = a['input.value']; j = jload(v)
        if isinstance(j, dict) and isinstance(j.get('messages'), list):
            u = [m.get('content') for m in j['messages'] if m.get('role') == 'user']
            if u: return u[-1], 'root:input.value.messages[-1 user]'
        elif isinstance(v, str): return v, 'root:input.value'
    oi = oi_msgs(a, 'llm.input_messages')
    if oi:
        u = [c for r, c in oi if r == 'user']
        if u: return u[-1], 'root:llm.input_messages'
    for s in spans:
        if role_of(s) == 'retrieval':
            q = s.attrs.get('gen_ai.retrieval.query.text') or s.attrs.get('input.value')
            if q: return q, 'retrieval query'
    for s in spans:
        if role_of(s) == 'llm':
            tv = jload(s.attrs.get('llm.prompt_template.variables'))
            if isinstance(tv, dict) and 'question' in tv: return tv['question'], 'llm.prompt_template.variables.question'
            u = genai_msgs_by_role(s.attrs.get('gen_ai.input.messages'), 'user') or [c for r, c in oi_msgs(s.attrs, 'llm.input_messages') if r == 'user']
            if u: return u[-1], 'llm span last user'
    return None, None

def llm_output_text(s):
    a = s.attrs
    o = genai_msgs_by_role(a.get('gen_ai.output.messages'), 'assistant')
    if o: return o[-1]
    oi = [c for r, c in oi_msgs(a, 'llm.output_messages') if c]
    if oi: return oi[-1]
    j = jload(a.get('output.value'))
    if isinstance(j, dict):
        try: return j['choices'][0]['message']['content']
        except Exception: pass
        if isinstance(j.get('content'), list): return parts_text(j['content'])
    elif isinstance(a.get('output.value'), str) and a.get('output.mime_type', 'text/plain') == 'text/plain':
        return a['output.value']
    return None

def final_answer(spans):
    root = spans[0]; a = root.attrs
    o = genai_msgs_by_role(a.get('gen_ai.output.messages'), 'assistant')
    if o: return o[-1], 'root:gen_ai.output.messages'
    if isinstance(a.get('output.value'), str) and not isinstance(jload(a['output.value']), dict):
        return a['output.value'], 'root:output.value'
    llms = [s for s in spans if role_of(s) == 'llm']
    if llms: return llm_output_text(llms[-1]), 'last llm span'
    return None, None

FR_NORM = {'end_turn': 'stop', 'stop_sequence': 'stop', 'max_tokens': 'length', 'tool_use': 'tool_call', 'tool_calls': 'tool_call',
           'function_call': 'tool_call', 'STOP': 'stop', 'MAX_TOKENS': 'length', 'SAFETY': 'content_filter', 'refusal': 'content_filter'}

def finish_reason(s):
    a = s.attrs
    fr = a.get('gen_ai.response.finish_reasons')
    if isinstance(fr, list) and fr: fr = fr[0]
    if not fr: fr = a.get('llm.finish_reason')
    if not fr:
        j = jload(a.get('output.value'))
        if isinstance(j, dict):
            try: fr = j['choices'][0]['finish_reason']
            except Exception: fr = j.get('stop_reason')
    return FR_NORM.get(fr, fr) if fr else None

def sys_instructions(s):
    a = s.attrs
    if 'gen_ai.system_instructions' in a:
        j = jload(a['gen_ai.system_instructions'])
        return (parts_text(j) if isinstance(j, list) else a['gen_ai.system_instructions']), 'gen_ai.system_instructions'
    t = genai_msgs_by_role(a.get('gen_ai.input.messages'), 'system')
    if t: return t[0], 'gen_ai.input.messages[role=system]'
    t = [c for r, c in oi_msgs(a, 'llm.input_messages') if r == 'system']
    if t: return t[0], 'llm.input_messages[role=system]'
    j = jload(a.get('input.value'))
    if isinstance(j, dict) and isinstance(j.get('messages'), list):
        t = [m.get('content') for m in j['messages'] if m.get('role') == 'system']
        if t: return t[0], 'input.value.messages[role=system]'
    return None, None

def first(*vals):
    for v in vals:
        if v not in (None, ''): return v
    return None

def retrieval_docs(s):
    a = s.attrs; docs = []
    j = jload(a.get('gen_ai.retrieval.documents'))
    if isinstance(j, list):
        for d in j: docs.append({'id': d.get('id'), 'score': d.get('score'), 'content': d.get('content'), 'meta': d.get('metadata')})
    else:
        idx = {}
        for k, v in a.items():
            m = re.match(r'retrieval\.documents\.(\d+)\.document\.(\w+)$', k)
            if m: idx.setdefault(int(m.group(1)), {})[m.group(2)] = v
        for i in sorted(idx):
            d = idx[i]; docs.append({'id': d.get('id'), 'score': d.get('score'), 'content': d.get('content'), 'meta': jload(d.get('metadata'))})
    return docs

def extract(spans):
    root = spans[0]; ra = root.attrs; res = root.res
    r = {'trace_id': root.trace_id, 'start': root.start, 'latency_ms': (root.end - root.start) / 1e6,
         'service': res.get('service.name'), 'service_version': res.get('service.version'),
         'instance': res.get('service.instance.id'), 'scope': root.scope,
         'request_id': ra.get('request.id') or (jload(ra.get('metadata')) or {}).get('request_id') or root.trace_id,
         'user_id': first(ra.get('user.id'), ra.get('enduser.id')),
         'session_id': first(ra.get('session.id'), ra.get('gen_ai.conversation.id')),
         'tier': ra.get('app.customer.tier'), 'root_status': root.status}
    q, qsrc = last_user_question(spans); r['question'] = q; r['question_src'] = qsrc
    ans, asrc = final_answer(spans); r['answer'] = ans; r['answer_src'] = asrc
    llms = [s for s in spans if role_of(s) == 'llm']
    r['n_llm'] = len(llms)
    r['finish_reason'] = finish_reason(llms[-1]) if llms else None
    r['tokens_in'] = sum(first(s.attrs.get('gen_ai.usage.input_tokens'), s.attrs.get('llm.token_count.prompt'), 0) for s in llms)
    r['tokens_out'] = sum(first(s.attrs.get('gen_ai.usage.output_tokens'), s.attrs.get('llm.token_count.completion'), 0) for s in llms)
    r['out_tokens_last'] = first(llms[-1].attrs.get('gen_ai.usage.output_tokens'), llms[-1].attrs.get('llm.token_count.completion')) if llms else None
    mt = None
    if llms:
        la = llms[-1].attrs; mt = la.get('gen_ai.request.max_tokens') or (jload(la.get('llm.invocation_parameters')) or {}).get('max_tokens')
    r['max_tokens'] = mt
    # versions
    pv = first(ra.get('gen_ai.prompt.version'), ra.get('llm.prompt_template.version'),
               *[s.attrs.get('gen_ai.prompt.version') or s.attrs.get('llm.prompt_template.version') for s in llms])
    pn = first(ra.get('gen_ai.prompt.name'), *[s.attrs.get('gen_ai.prompt.name') for s in llms])
    r['prompt_name'] = pn; r['prompt_version'] = pv
    si, sisrc = sys_instructions(llms[0]) if llms else (None, None)
    r['sysinst_src'] = sisrc
    r['sysinst_sha'] = hashlib.sha256(si.encode()).hexdigest()[:16] if si else None
    r['sysinst_sha_norm'] = hashlib.sha256(re.sub(r'\s+', ' ', si).strip().encode()).hexdigest()[:16] if si else None
    if llms:
        la = llms[-1].attrs; ov = jload(la.get('output.value'))
        r['request_model'] = first(la.get('gen_ai.request.model'), (jload(la.get('llm.invocation_parameters')) or {}).get('model'),
                                   (jload(la.get('input.value')) or {}).get('model') if isinstance(jload(la.get('input.value')), dict) else None)
        r['response_model'] = first(la.get('gen_ai.response.model'), la.get('llm.response.model_name'), la.get('llm.model_name'),
                                    ov.get('model') if isinstance(ov, dict) else None)
        r['fingerprint'] = first(la.get('openai.response.system_fingerprint'), la.get('gen_ai.openai.response.system_fingerprint'),
                                 ov.get('system_fingerprint') if isinstance(ov, dict) else None)
        r['provider'] = first(la.get('gen_ai.provider.name'), la.get('llm.provider'), la.get('gen_ai.system'), la.get('llm.system'))
    # retrieval
    rets = [s for s in spans if role_of(s) == 'retrieval']
    r['has_retrieval'] = bool(rets)
    if rets:
        s = rets[-1]; docs = retrieval_docs(s)
        sc = [d['score'] for d in docs if isinstance(d.get('score'), (int, float))]
        r['n_docs'] = len(docs); r['top_score'] = max(sc) if sc else None; r['mean_score'] = sum(sc) / len(sc) if sc else None
        metaiv = next((d['meta'].get('index_version') for d in docs if isinstance(d.get('meta'), dict)), None)
        r['index_version'] = first(s.attrs.get('retrieval.index.version'), s.attrs.get('app.retrieval.index_version'),
                                   s.attrs.get('gen_ai.retrieval.index.version'), metaiv)
        r['data_source'] = s.attrs.get('gen_ai.data_source.id')
        r['doc_text'] = ' '.join(d.get('content') or '' for d in docs)
        r['doc_ids'] = [d.get('id') for d in docs]
        r['retrieval_ms'] = (s.end - s.start) / 1e6
    # tools
    tools = []
    for s in spans:
        if role_of(s) != 'tool': continue
        a = s.attrs
        exc = [e[2] for e in s.events if e[0] == 'exception']
        tools.append({'name': first(a.get('gen_ai.tool.name'), a.get('tool.name'), s.name.replace('execute_tool ', '')),
                      'schema_version': first(a.get('tool.schema.version'), a.get('app.tool.schema_version'), a.get('gen_ai.tool.version')),
                      'error': s.status == 2 or 'error.type' in a or bool(exc), 'error_type': a.get('error.type') or (exc[0].get('exception.type') if exc else None),
                      'error_msg': s.status_msg or (exc[0].get('exception.message') if exc else None), 'ms': (s.end - s.start) / 1e6})
    r['tools'] = tools
    r['tool_error'] = any(t['error'] for t in tools)
    r['any_error_status'] = any(s.status == 2 for s in spans)
    # evals
    ev = []
    for s in spans:
        for name, t, at in s.events:
            if name == 'gen_ai.evaluation.result':
                ev.append({'name': at.get('gen_ai.evaluation.name'), 'label': at.get('gen_ai.evaluation.score.label'), 'score': at.get('gen_ai.evaluation.score.value')})
    r['evals'] = ev
    return r

def main():
    os.makedirs('out', exist_ok=True)
    for scen in (sys.argv[1:] or SCENARIOS):
        truth = {x['trace_id']: x for x in load_truth(scen)['requests']}
        with open(f'out/{scen}.jsonl', 'w') as f:
            for spans in iter_traces(scen):
                r = extract(spans)
                t = truth.get(r['trace_id'])
                r['truth'] = {k: t[k] for k in ('failing', 'reason', 'cause', 'language', 'window', 'changed_dimension_value', 'dims', 'answer_chars', 'user_id', 'session_id')} if t else None
                f.write(json.dumps(r, ensure_ascii=False) + '\n')
        print(scen, 'done')
if __name__ == '__main__': main()
