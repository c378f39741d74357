"""Train 24_ablations' arms outside Jupyter, one shard of them per process, so that a 2-core machine runs two at a time.

One run on both cores of a 2-core CPU uses them less well than two runs on one core each (about 10% more runs an hour
with two). This runs the notebook's own code cells in order up to its training loop (skipping the seeding check and
the figure set-up), then trains and evaluates every `n`-th arm from the `i`-th, for each seed given, through the
notebook's `run_arm`: the same keys, records and resumable checkpoints as the notebook. Running the notebook afterwards
reuses every run whose key matches.

    cd nbs && export ENHANCE_LAB_PROFILE=cpu OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
    SHARD=0/2 nohup python ../tools/run_ablations.py 0 1 > shard0.log 2>&1 &
    SHARD=1/2 nohup python ../tools/run_ablations.py 0 1 > shard1.log 2>&1 &
"""
import json, os, sys, time
import torch

NOTEBOOK, LOOP = '24_ablations.ipynb', 't0 = time.time()'
SKIP = ('first_batch', 'screen_figures()')      # the seeding check and the notebook's figure format: not needed here


def notebook_namespace() -> dict:
    "The notebook's definitions: its code cells run in order until the training loop."
    ns = {'__name__': '__main__'}
    for cell in json.load(open(NOTEBOOK))['cells']:
        src = ''.join(cell['source'])
        if cell['cell_type'] != 'code' or any(s in src for s in SKIP): continue
        if src.startswith(LOOP): return ns
        exec(compile(src, NOTEBOOK, 'exec'), ns)
    sys.exit(f"{NOTEBOOK}: no cell starts with {LOOP!r}")


if __name__ == '__main__':
    i, n = map(int, os.environ.get('SHARD', '0/1').split('/'))
    seeds = [int(s) for s in sys.argv[1:]] or [0, 1]
    ns = notebook_namespace()
    print(f"shard {i} of {n}, {torch.get_num_threads()} thread(s), seeds {seeds}", flush=True)
    for seed in seeds:
        for name in list(ns['ARMS'])[i::n]:
            print(time.strftime('%H:%M:%S'), name, 'seed', seed, flush=True)
            ns['run_arm'](name, seed)
    print('all arms of this shard done', flush=True)
