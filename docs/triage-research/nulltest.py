"""False-alarm check: every scenario's pre-change traffic (and the whole control day) must give 'no shift'."""
import numpy as np
from common import SCENARIOS, load_truth
import signals, onset, attribution
rng = np.random.default_rng(5); out = open('nulltest.txt', 'w')
for scen in SCENARIOS:
    rows = signals.load(scen); t = load_truth(scen)
    cut = t['change_time']['unix_nano'] if t['change_time'] else None
    sub = [r for r in rows if cut is None or r['start'] < cut]
    sub = signals.compute(sub)             # recompute window-relative thresholds on the sub-window
    det, res = attribution.full_triage(sub, rng)
    named = res['cause']['value'] if (res and res['cause']) else None
    _, tests = attribution.scan_transitions(sub)
    line0 = '   transitions tested: ' + '; '.join(f"{x['dim']}={x['value'][:30]} RR={x['rr']:.2f} p_holm={x['p_holm']:.2g}" for x in tests)
    line = f"{scen:18s} window={'pre-change only' if cut else 'whole control day'} n={len(sub)} shift={det['shift']} slice={det['slice']} p={det['p']:.3f} p_bonf={det.get('p_bonf', 0):.3f} rate {det['p0']:.3f}->{det['p1']:.3f} named={named}"
    print(line); print(line0); out.write(line + '\n' + line0 + '\n')
