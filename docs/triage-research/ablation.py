"""Ablation of the suspect rule: which evidence is needed per scenario (precision/recall vs truth)."""
import json, collections
from common import SCENARIOS
import signals
def rule(s, use):
    g = lambda k: s[k] and k in use
    silent = (g('no_docs') or g('low_top') and (g('short') or g('nocite')) or g('dup_answer') and (g('short') or g('nocite'))
              or g('short') and g('nocite') or g('lang_mismatch'))
    return s['loud'] or silent or s['eval_fail']
ALL = {'no_docs', 'low_top', 'short', 'dup_answer', 'nocite', 'lang_mismatch'}
variants = {'loud+eval only': set(), 'full': ALL, 'no citation signal': ALL - {'nocite'}, 'no language signal': ALL - {'lang_mismatch'},
            'no repetition signal': ALL - {'dup_answer'}, 'no retrieval signals': ALL - {'no_docs', 'low_top'}}
out = open('ablation.txt', 'w')
for scen in SCENARIOS:
    rows = signals.load(scen)
    for name, use in variants.items():
        tp = sum(rule(r['sig'], use) and r['truth']['failing'] for r in rows); fl = sum(rule(r['sig'], use) for r in rows)
        f = sum(r['truth']['failing'] for r in rows)
        line = f'{scen:18s} {name:22s} P={tp/max(1,fl):.2f} R={tp/f:.2f}'
        print(line); out.write(line + '\n')
    for r in rows:
        if r['sig']['lang_mismatch'] and not r['truth']['failing']: print('   FP lang', r['lang_q'], r['lang_a'], '|', r['question'][:90], '|', r['answer'][:80])
        if r['truth']['failing'] and not r['sig']['suspect']: print('   MISS', r['truth']['reason'], r['lang_q'], r['lang_a'], r.get('top_score'), '|', r['question'][:60], '|', r['answer'][:120])
