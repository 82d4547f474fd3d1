"""Attribution of a detected shift to (layer, dimension, value), and red-herring rule-outs.
Uses only traces (signals.py) + the onset from onset.py; truth.json only for the evaluation printout."""
import json, collections, datetime, math, sys
import numpy as np
from scipy.stats import fisher_exact
from common import SCENARIOS, load_truth
import signals, onset

LAYERS = ['infra', 'data', 'prompt', 'model']
# dimension -> (layer, scope function). scope = what a value replaces (its "from" is the previous value in the same scope)
def dims_of(r, slow_cut):
    out = []  # (layer, dim, value, scope)
    if r.get('index_version'): out.append(('infra', 'index_version', r['index_version'], r.get('data_source') or 'kb'))
    for t in r['tools']:
        out.append(('infra', 'tool_schema_version', f"{t['name']}@{t['schema_version']}", t['name']))
        if not t['error'] and t['name'] in slow_cut:   # latency state of successful calls vs 3x the pre-onset median
            out.append(('infra', 'tool_latency', f"{t['name']}:{'slow' if t['ms'] > slow_cut[t['name']] else 'normal'}", t['name']))
    out.append(('infra', 'service_version', f"{r['service']}@{r['service_version']}", r['service']))
    if r.get('lang_q'): out.append(('data', 'input_language', r['lang_q'], 'all'))
    out.append(('data', 'user_cohort', r['_cohort'], 'all'))
    if r.get('sysinst_sha'):
        # identity = sha256 of the system-instruction TEXT (same bytes on OpenInference and GenAI services);
        # scope = the set of services the prompt serves, so v7->v8 on two services is one change
        out.append(('prompt', 'prompt_version', f"sys={r['sysinst_sha'][:8]}", 'prompt-of:' + r['service']))
    if r.get('response_model'): out.append(('model', 'response_model', r['response_model'], r.get('request_model')))
    if r.get('fingerprint'): out.append(('model', 'system_fingerprint', r['fingerprint'], r.get('request_model')))
    if r.get('request_model'): out.append(('model', 'request_model', r['request_model'], r['service']))
    return out

def fisher_gt(a, b, c, d):  # one-sided: is rate a/(a+b) > c/(c+d)?
    return fisher_exact([[a, b], [c, d]], alternative='greater')[1]

def fmt(ns): return datetime.datetime.utcfromtimestamp(ns / 1e9).strftime('%H:%M:%S') if ns else '-'

WARMUP_NS = 10 * 60e9
def triage(rows, det, alpha=0.01, rr_min=2.0, share_min=0.3, min_n=5, min_peers=20):
    tau = det['tau_time']; ci_hi = det['ci'][1]
    pre = [r for r in rows if r['start'] < tau]; post = [r for r in rows if r['start'] >= tau]
    p_pre = sum(r['sig']['suspect'] for r in pre) / len(pre)
    F_post = sum(r['sig']['suspect'] for r in post); E = F_post - len(post) * p_pre
    pre_users = {r['user_id'] for r in pre}
    for r in rows: r['_cohort'] = 'returning user' if r['user_id'] in pre_users or r['start'] < tau else 'new user (first seen after onset)'
    slow_cut = {}
    for name in {t['name'] for r in pre for t in r['tools']}:
        ms = [t['ms'] for r in pre for t in r['tools'] if t['name'] == name and not t['error']]
        if len(ms) >= 20: slow_cut[name] = 3 * float(np.median(ms))
    for r in rows: r['_dims'] = dims_of(r, slow_cut)
    # tallies
    st = collections.defaultdict(lambda: {'n_pre': 0, 'f_pre': 0, 'n_post': 0, 'f_post': 0, 'first': None, 'services': collections.Counter(), 'scope': collections.Counter()})
    dim_tot = collections.defaultdict(lambda: {'n_pre': 0, 'f_pre': 0, 'n_post': 0, 'f_post': 0})
    for r in rows:
        ph = 'post' if r['start'] >= tau else 'pre'; f = r['sig']['suspect']
        seen_dims = set()
        for layer, dim, val, scope in r['_dims']:
            k = (layer, dim, val); s = st[k]
            if (k) in seen_dims: continue
            seen_dims.add(k)
            s['n_' + ph] += 1; s['f_' + ph] += f; s['first'] = r['start'] if s['first'] is None else min(s['first'], r['start'])
            s['services'][r['service']] += 1; s['scope'][scope] += 1
        for dim in {d for _, d, _, _ in r['_dims']}:
            dim_tot[dim]['n_' + ph] += 1; dim_tot[dim]['f_' + ph] += f
    labels = collections.defaultdict(set)
    for r in rows:
        if r.get('sysinst_sha'): labels['sys=' + r['sysinst_sha'][:8]].add(f"{r.get('prompt_name') or r['service']}@{r.get('prompt_version')}")
    w0 = min(r['start'] for r in rows); warm = w0 + WARMUP_NS
    cands = []
    for (layer, dim, val), s in st.items():
        T = dim_tot[dim]
        share_pre = s['n_pre'] / max(1, T['n_pre']); share_post = s['n_post'] / max(1, T['n_post'])
        scope = s['scope'].most_common(1)[0][0]
        prev = collections.Counter()
        for (l2, d2, v2), s2 in st.items():
            if d2 == dim and v2 != val and s2['scope'].get(scope) and s2['first'] < s['first']: prev[v2] += s2['scope'][scope]
        frm = prev.most_common(1)[0][0] if prev else None
        # surge = share of ALL requests carrying the value grew >=2x (all-request denominator: immune to composition shifts)
        a_pre = s['n_pre'] / len(pre); a_post = s['n_post'] / len(post)
        surged = (a_post >= 2 * a_pre and a_post - a_pre >= 0.02 and
                  fisher_gt(s['n_post'], len(post) - s['n_post'], s['n_pre'], len(pre) - s['n_pre']) < 0.01)
        new_version = s['first'] > warm and frm is not None          # a transition inside the window
        changed = (s['n_pre'] + s['n_post']) >= min_n and (surged or new_version) and not val.endswith(':normal')
        if dim == 'user_cohort': changed = s['n_post'] >= min_n and val.startswith('new')
        if not changed: continue
        peers_n = T['n_post'] - s['n_post']; peers_f = T['f_post'] - s['f_post']
        if peers_n >= min_peers:
            ref = 'post-onset peers'; rn, rf = peers_n, peers_f
        else:  # value covers (almost) all post traffic of this dimension: compare with the pre-onset traffic of the dimension
            ref = 'pre-onset traffic'; rn, rf = T['n_pre'], T['f_pre']
        rate = s['f_post'] / max(1, s['n_post']); rrate = rf / max(1, rn)
        rr = rate / rrate if rrate > 0 else math.inf
        p = fisher_gt(s['f_post'], s['n_post'] - s['f_post'], rf, rn - rf) if rn else 1.0
        label = ','.join(sorted(labels.get(val, ()))); frm = frm and (frm + (' (' + ','.join(sorted(labels[frm])) + ')' if labels.get(frm) else '')); excess = (s['f_post'] - s['n_post'] * p_pre) / E if E > 0 else 0
        coverage = s['f_post'] / max(1, F_post)
        # pre-onset behaviour of a value that existed well before the onset
        pre_other_n = len(pre) - s['n_pre']; pre_other_f = sum(r['sig']['suspect'] for r in pre) - s['f_pre']
        p_pre_elev = fisher_gt(s['f_pre'], s['n_pre'] - s['f_pre'], pre_other_f, pre_other_n - pre_other_f) if s['n_pre'] >= min_n else 1.0
        cands.append(dict(layer=layer, dim=dim, value=val + (f' ({label})' if label else ''), key=(layer, dim, val), frm=frm, first=s['first'], n_post=s['n_post'], f_post=s['f_post'], n_pre=s['n_pre'],
                          f_pre=s['f_pre'], rate=rate, ref=ref, ref_rate=rrate, rr=rr, p=p, excess=excess, coverage=coverage,
                          services=sorted(s['services']), p_pre_elev=p_pre_elev))
    # Holm over all changed candidates
    m = len(cands)
    for i, c in enumerate(sorted(cands, key=lambda c: c['p'])):
        c['p_holm'] = min(1.0, c['p'] * (m - i))
    running = 0
    for c in sorted(cands, key=lambda c: c['p']):  # enforce monotonicity
        running = max(running, c['p_holm']); c['p_holm'] = running
    for c in cands:
        c['explains'] = (c['p_holm'] < alpha and c['rr'] >= rr_min and c['excess'] >= share_min and c['first'] <= ci_hi)
    # cause = first layer (infra, data, prompt, model) holding a candidate that is NOT explained away by a stronger
    # candidate of another layer (re-test c on post-onset requests that lack d's value); ties -> triage order
    def carries(r, k): return any((l, d, v) == k for l, d, v, _ in r['_dims'])
    def survives(c, d):
        a = [r for r in post if carries(r, c['key']) and not carries(r, d['key'])]
        b = [r for r in post if not carries(r, c['key']) and not carries(r, d['key']) and any(x == c['dim'] for _, x, _, _ in r['_dims'])]
        if not b: b = [r for r in pre if any(x == c['dim'] for _, x, _, _ in r['_dims'])]
        fa = sum(r['sig']['suspect'] for r in a); fb = sum(r['sig']['suspect'] for r in b)
        if len(a) < min_n: return False
        rr = (fa / len(a)) / max(fb / max(1, len(b)), 1e-9)
        return fisher_gt(fa, len(a) - fa, fb, len(b) - fb) < alpha and rr >= rr_min
    passing = sorted([c for c in cands if c['explains']], key=lambda c: c['p'])
    cause = None
    for layer in LAYERS:
        for c in [c for c in passing if c['layer'] == layer]:
            stronger = [d for d in passing if d['layer'] != layer and d['p'] < c['p']]
            blk = next((d for d in stronger if not survives(c, d)), None)
            if blk: c['explained_by'] = blk['value']; continue
            cause = c; break
        if cause: break
    # rule out every other changed candidate
    if cause:
        ck = cause['key']; has_cause = lambda r: any((l, d, v) == ck for l, d, v, _ in r['_dims'])
        post_nc = [r for r in post if not has_cause(r)]
    for c in cands:
        if c is cause: c['verdict'] = 'CAUSE'; continue
        if cause:
            k = c['key']; mine = [r for r in post if any((l, d, v) == k for l, d, v, _ in r['_dims'])]
            c['overlap'] = sum(has_cause(r) for r in mine) / max(1, len(mine))
        if c['first'] > ci_hi:
            c['verdict'] = f"ruled out: appeared after the onset ({fmt(c['first'])} > {fmt(ci_hi)})" + (
                '; also touches no failing request' if c['f_post'] == 0 else '' if c['rr'] >= rr_min else f"; also fails no more than its peers (RR {c['rr']:.2f})")
            continue
        if cause and c.get('overlap', 0) >= 0.9 and c['layer'] == cause['layer'] and abs(c['first'] - cause['first']) <= det['ci'][1] - det['ci'][0]:
            c['verdict'] = f"co-changed with the cause (nested: {c['overlap']:.0%} of its post-onset requests carry {cause['value']})"; continue
        if cause and c.get('explained_by'):
            c['verdict'] = f"explained away by {c['explained_by']} (no excess once its requests are removed)"; continue
        if cause and c['explains']:
            k = c['key']; mine = [r for r in post if any((l, d, v) == k for l, d, v, _ in r['_dims'])]
            overlap = sum(has_cause(r) for r in mine) / max(1, len(mine))
            # explaining-away: does the candidate still fail more than its peers once the cause's requests are removed?
            a = [r for r in post_nc if any((l, d, v) == k for l, d, v, _ in r['_dims'])]
            b = [r for r in post_nc if not any((l, d, v) == k for l, d, v, _ in r['_dims']) and any(d == c['dim'] for _, d, _, _ in r['_dims'])]
            fa = sum(r['sig']['suspect'] for r in a); fb = sum(r['sig']['suspect'] for r in b)
            p_rest = fisher_gt(fa, len(a) - fa, fb, len(b) - fb) if a and b else 1.0
            if p_rest >= alpha: c['verdict'] = (f"explained by the cause: without {cause['value']} it fails {fa}/{len(a)} vs peers {fb}/{len(b)} (p={p_rest:.2g})")
            else: c['verdict'] = f"independent second finding (still elevated without the cause, p={p_rest:.2g})"
            continue
        elif c['f_post'] == 0 and c['f_pre'] == 0: c['verdict'] = 'ruled out: touches no failing request'
        elif c['first'] < det['ci'][0] and c['p_pre_elev'] >= alpha and c['rr'] < rr_min:
            c['verdict'] = (f"ruled out: fails no more than its peers (present since {fmt(c['first'])}, before the onset, at base rate "
                            f"{c['f_pre']}/{c['n_pre']}; post-onset {c['rate']:.2f} vs {c['ref_rate']:.2f} {c['ref']}, RR {c['rr']:.2f})")
        else: c['verdict'] = (f"ruled out: fails no more than its peers (rate {c['rate']:.2f} vs {c['ref_rate']:.2f} {c['ref']}, "
                              f"RR {c['rr']:.2f}, p_holm {c['p_holm']:.2g})")
    return dict(p_pre=p_pre, F_post=F_post, E=E, n_post=len(post), cause=cause, cands=cands)


def scan_transitions(rows, alpha=0.01, rr_min=2.0, min_excess=10, min_n=10, min_peers=20):
    """Stage B (when the global step test finds nothing): test every version/value transition inside the window directly.
    For value v first seen at t_v (after warm-up, with a predecessor in its scope): requests carrying v vs peers of the
    same dimension after t_v (or, if v took over the whole scope, vs the dimension's traffic before t_v). Holm over transitions."""
    w0 = min(r['start'] for r in rows); warm = w0 + WARMUP_NS
    for r in rows: r['_cohort'] = 'n/a'
    for r in rows: r['_dims'] = [d for d in dims_of(r, {}) if d[1] != 'user_cohort']
    first = {}; scope_of = {}
    for r in sorted(rows, key=lambda r: r['start']):
        for l, d, v, sc in r['_dims']:
            if (l, d, v) not in first: first[(l, d, v)] = r['start']; scope_of[(l, d, v)] = sc
    tests = []
    for k, t_v in first.items():
        l, d, v = k
        if t_v <= warm: continue
        if not any(k2[1] == d and k2 != k and scope_of[k2] == scope_of[k] and first[k2] < t_v for k2 in first): continue
        post = [r for r in rows if r['start'] >= t_v]; pre = [r for r in rows if r['start'] < t_v]
        mine = [r for r in post if any((a, b, c) == k for a, b, c, _ in r['_dims'])]
        if len(mine) < min_n: continue
        peers = [r for r in post if r not in mine and any(b == d for _, b, _, _ in r['_dims'])]
        ref = peers if len(peers) >= min_peers else [r for r in pre if any(b == d for _, b, _, _ in r['_dims'])]
        f = sum(r['sig']['suspect'] for r in mine); fr = sum(r['sig']['suspect'] for r in ref)
        p_ref = fr / max(1, len(ref)); rr = (f / len(mine)) / max(p_ref, 1e-9)
        p = fisher_gt(f, len(mine) - f, fr, len(ref) - fr)
        tests.append(dict(key=k, value=v, dim=d, layer=l, t=t_v, n=len(mine), f=f, rr=rr, p=p, excess=f - len(mine) * p_ref))
    tests.sort(key=lambda x: x['p']); m = len(tests); run = 0
    for i, x in enumerate(tests):
        run = max(run, min(1.0, x['p'] * (m - i))); x['p_holm'] = run
    hits = [x for x in tests if x['p_holm'] < alpha and x['rr'] >= rr_min and x['excess'] >= min_excess]
    return hits, tests

def full_triage(rows, rng, n_perm=999, n_boot=200):
    """Stage A (global/slice step test) then Stage B (transition scan). Returns (det, result or None)."""
    det = onset.detect_multi(rows, rng, n_perm=n_perm, n_boot=n_boot)
    if det['shift']:
        res = triage(rows, det)
        if res['cause']: return det, res
        # a shift without an attributable change at the step: fall through to the transition scan
    hits, _ = scan_transitions(rows)
    if not hits: return det, (triage(rows, det) if det['shift'] else None)
    h = min(hits, key=lambda x: (LAYERS.index(x['layer']), x['p']))
    det = dict(det, shift=True, slice=f"transition {h['dim']}={h['value']}", tau_time=h['t'], ci=(h['t'], h['t'] + int(120e9)),
               p=h['p_holm'])
    return det, triage(rows, det)


FORCE = '--force-control-split' in sys.argv
if __name__ == '__main__':
    sys.argv = [a for a in sys.argv if not a.startswith('--')]
    rng = np.random.default_rng(7); out = open('attribution_control_forced.txt' if FORCE else 'attribution.txt', 'w')
    def P(*a): print(*a); print(*a, file=out)
    summary = {}
    for scen in (sys.argv[1:] or SCENARIOS):
        rows = signals.load(scen); t = load_truth(scen)
        det, _r = full_triage(rows, rng)
        if scen == 'control' and FORCE:
            det = dict(det, tau_time=t['incident_window']['start']['unix_nano']); det['ci'] = (det['tau_time'] - int(120e9), det['tau_time'] + int(120e9))
        P(f"\n===== {scen}: slice={det.get('slice')} shift={det['shift']} p={det['p']:.3f} onset={fmt(det['tau_time'])} CI=[{fmt(det['ci'][0])},{fmt(det['ci'][1])}] "
          f"rate {det['p0']:.3f}->{det['p1']:.3f}")
        res = triage(rows, det)   # run even without a shift, to show nothing passes on the control
        if not det['shift']: P('  NO SHIFT -> triage names no layer. (Diagnostic run of attribution at the argmax split anyway:)')
        for c in sorted(res['cands'], key=lambda c: (LAYERS.index(c['layer']), c['p'])):
            P(f"  [{c['layer']:6s}] {c['dim']:19s} {c['value'][:44]:44s} from={str(c['frm'])[:28]:28s} first={fmt(c['first'])} "
              f"post {c['f_post']}/{c['n_post']}={c['rate']:.2f} ref={c['ref_rate']:.2f}({c['ref'][:4]}) RR={c['rr']:.1f} p_holm={c['p_holm']:.1e} "
              f"excess={c['excess']:.2f} cov={c['coverage']:.2f} svcs={len(c['services'])} -> {c['verdict']}")
        c = res['cause'] if det['shift'] else None
        summary[scen] = {'shift': det['shift'], 'onset': fmt(det['tau_time']), 'truth_change': fmt(t['change_time']['unix_nano']) if t['change_time'] else None,
                         'layer': c['layer'] if c else None, 'dim': c['dim'] if c else None, 'value': c['value'] if c else None, 'from': c['frm'] if c else None, 'onset_refined': fmt(c['first']) if c and det['ci'][0] <= c['first'] <= det['ci'][1] else fmt(det['tau_time']),
                         'first_seen': fmt(c['first']) if c else None, 'excess_share': round(c['excess'], 2) if c else None,
                         'coverage': round(c['coverage'], 2) if c else None, 'rr': round(c['rr'], 1) if c else None,
                         'truth': (t['change'] or {}).get('dimension'), 'truth_to': (t['change'] or {}).get('to'), 'truth_layer': t['root_cause']}
        P('  SUMMARY', json.dumps(summary[scen]))
    if not FORCE: json.dump(summary, open('out/summary.json', 'w'), indent=1)
