"""Language id on questions with a restricted set of ~25 living languages (what a Rust build would compile in)."""
import json, collections, re
from lingua import LanguageDetectorBuilder, IsoCode639_1
from common import SCENARIOS
from signals import strip_nonlang
CODES = 'en es fr de pt it nl pl ru uk tr ar hi zh ja ko vi id sv da nb fi cs ro hu el he'.split()
langs = [getattr(IsoCode639_1, c.upper()) for c in CODES]
det = LanguageDetectorBuilder.from_iso_codes_639_1(*langs).with_preloaded_language_models().build()
rows = [json.loads(l) for s in SCENARIOS for l in open(f'out/{s}.jsonl')]
for thr in (0.0, 0.3, 0.5):
    c = collections.Counter(); pairs = collections.Counter()
    for r in rows:
        for field in ('question', 'answer'):
            t = strip_nonlang(r[field])
            v = det.compute_language_confidence_values(t)
            l = v[0].language.iso_code_639_1.name.lower() if v and v[0].value >= thr and len(t.split()) >= 3 else None
            if field == 'question':
                c[(l == r['truth']['language'], l is None)] += 1; ql = l
            else: al = l
        pairs[(r['truth']['language'], ql, al, r['truth']['failing'])] += 1
    print('thr', thr, 'question acc (correct, undetermined):', dict(c))
    print('   (truth q lang, det q, det a, failing):', dict(pairs))
