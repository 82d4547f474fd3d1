"""Partial-rollout / weak-effect simulation (truth used ONLY to construct the simulated worlds).
For rollout fraction f, each post-change request that carries the changed value keeps it with prob f; otherwise the value is
reverted to the old one (language: the request is dropped) and its incident-caused failure is healed. Then detect + triage."""
import json, copy, collections, numpy as np
from common import load_truth
import signals, onset, attribution
rng = np.random.default_rng(11)
def revert(r, ch):
    d = ch['dimension']
    if d == 'index_version': r['index_version'] = ch['from']
    elif d == 'tool_schema_version':
        for t in r['tools']:
            if t['name'] == ch['tool']: t['schema_version'] = ch['from']; t['error'] = False if r['truth']['cause'] == 'incident' else t['error']
    elif d == 'prompt_version':
        r['prompt_version'] = ch['from']; r['sysinst_sha'] = ch['system_instructions_sha256']['from'][:16]
    elif d == 'response_model':
        r['response_model'] = ch['from']; r['fingerprint'] = ch['system_fingerprint']['from'][0]
    if r['truth']['cause'] == 'incident':
        r['sig'] = dict(r['sig'], suspect=False)
out = open('robustness.txt', 'w')
for scen in ['infra-retrieval', 'infra-toolschema', 'data-drift', 'prompt-regression', 'model-regression']:
    base = signals.load(scen); t = load_truth(scen); ch = t['change']
    for f in (1.0, 0.5, 0.25, 0.1, 0.05):
        hits = collections.Counter(); slices_hit = []
        for rep in range(5):
            rows = []
            for r in base:
                r2 = copy.deepcopy(r) if r['truth']['changed_dimension_value'] == ch.get('to') or r['truth']['language'] == 'es' else r
                carries = (r['truth']['language'] == 'es') if ch['dimension'] == 'input_language' else (r['truth']['changed_dimension_value'] == ch['to'])
                if carries and rng.random() > f:
                    if ch['dimension'] == 'input_language': continue
                    revert(r2, ch)
                rows.append(r2)
            det, res = attribution.full_triage(rows, rng, n_perm=199, n_boot=50)
            c = res['cause'] if res else None
            ok = bool(c) and c['dim'] == ch['dimension'] and (str(ch.get('to')) in c['value'] or ch['dimension'] in ('input_language', 'prompt_version'))
            hits['shift'] += det['shift']; slices_hit.append(det.get('slice','')[:40]) if det['shift'] else None; hits['correct'] += ok
            hits['onset_err_min'] += abs(det['tau_time'] - t['change_time']['unix_nano']) / 6e10 / 5 if det['shift'] else 0
            if c and not ok: hits['wrong:' + c['dim'] + '=' + c['value'][:30]] += 1
        line = f"{scen:18s} slices_hit={dict(collections.Counter(s for s in slices_hit))}  rollout={f:4.2f}: shift {hits['shift']}/5, correct cause {hits['correct']}/5, mean|onset err| {hits['onset_err_min']:.1f} min " + \
               ' '.join(f'{k}:{v}' for k, v in hits.items() if k.startswith('wrong'))
        print(line); out.write(line + '\n')
