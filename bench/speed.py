"""Training and inference speed of enhance_lab on this machine: today's configuration (fp32, contiguous memory)
against the new default (`precision='auto'`, channels-last), in one process, from the same seed.

Run by hand on a quiet machine (nothing else training), from the repository root:

    python bench/speed.py               # writes bench/RESULTS.md (CPU: bf16 against fp32, `cpu` profile)
    python bench/speed.py --steps 10    # a quick look
    python bench/speed.py --profile gpu --random-weights   # on CUDA: fp16 against fp32, `gpu` profile, bench/RESULTS-gpu.md

`--random-weights` builds the same networks with random weights (encoder and VGG16 loss network), for a machine that
can neither download ImageNet weights nor holds the offline ones: the arithmetic, and so the speed, is the same.

Training: for each learner at the `cpu` profile's settings (crop, batch, encoder frozen as in the recipes) it runs
the same N optimiser steps twice — baseline and new default — timing the whole step (data → U-Net → loss → backward
→ optimiser) and recording the training loss, then scores both models on the same validation batches with the
float32 loss, so a speed-up that changed what is learnt would show. Inference: x2 `upscale` of a photo to a
4000×3000 output, milliseconds per output megapixel and peak memory, each configuration in its own process.
"""
from __future__ import annotations
import argparse, json, os, platform, resource, subprocess, sys, time
from pathlib import Path

import numpy as np
import torch
from fastai.callback.core import Callback, CancelFitException
from fastai.torch_core import set_seed

from enhance_lab.core import cpu_has_native_bf16, get_profile, resolve_precision
from enhance_lab.corpus import default_corpus_dir
from enhance_lab.data import colorize_dls, photo_splits, style_dls, superres_dls
from enhance_lab.learners import colorize_learner, style_learner, superres_learner

BASELINE = dict(precision='fp32', channels_last=False)
NEW = dict(precision='auto', channels_last=True)
TASKS = {'superres x2': (lambda src, p, n: superres_dls(src, 2, profile=p, steps_per_epoch=n), superres_learner),
         'superres x4': (lambda src, p, n: superres_dls(src, 4, profile=p, steps_per_epoch=n), superres_learner),
         'colorize': (lambda src, p, n: colorize_dls(src, profile=p, steps_per_epoch=n), colorize_learner),
         'style': (lambda src, p, n: style_dls(src, profile=p, steps_per_epoch=n), style_learner)}


def bench_profile(name: str, bs: int | None = None):
    "The run profile `name`, with batch size `bs` when given."
    p = get_profile(name)
    return p.replace(bs=bs or p.bs)


class StepTimer(Callback):
    "Wall time between consecutive training steps (data loading included) and of each step's compute alone; stops after `n` steps."
    order = 99
    def __init__(self, n: int): self.n, self.stamps, self.computes, self.losses = n, [], [], []
    def before_fit(self): self.stamps.append(self.now())
    def now(self) -> float:
        "Wall time, once the GPU (if any) has finished the queued work."
        if torch.cuda.is_available(): torch.cuda.synchronize()
        return time.perf_counter()
    def before_batch(self):
        if self.training: self.t_batch = self.now()
    def after_batch(self):
        if not self.training: return
        self.stamps.append(self.now())
        self.computes.append(self.stamps[-1] - self.t_batch)
        self.losses.append(self.learn.loss.item())
        if len(self.losses) >= self.n: raise CancelFitException()


def fp32_valid_loss(learn, n_batches: int = 4) -> float:
    "Mean float32 loss of the learner's model on the first validation batches (precision put back afterwards)."
    learn.model.set_precision('fp32'), learn.loss_func.set_precision('fp32')
    learn.model.eval()
    with torch.no_grad():
        values = [learn.loss_func(learn.model(x), y).item() for (x, y), _ in zip(learn.dls.valid, range(n_batches))]
    return float(np.mean(values))


def train_run(task: str, config: dict, source: str, steps: int, warmup: int, profile: str, random_weights: bool,
              bs: int | None = None, lr: float = 1e-3) -> dict:
    "Train `steps` steps of `task` in `config` from seed 0 (encoder frozen as in the `cpu` recipes); time per step after `warmup`, losses."
    make_dls, make_learner = TASKS[task]
    p = bench_profile(profile, bs)
    set_seed(0, reproducible=True)
    dls = make_dls(source, p, steps + 1)
    weights = dict(pretrained='none', vgg_weights='random') if random_weights else {}
    learn = make_learner(dls, profile=p, **weights, **config)
    if p.name != 'gpu': learn.freeze()
    timer = StepTimer(steps)
    learn.fit(1, lr, cbs=[timer])
    step_s, compute_s = np.diff(timer.stamps)[warmup:], timer.computes[warmup:]
    result = dict(task=task, precision=learn.precision, channels_last=config['channels_last'], steps=steps,
                  s_per_step=float(np.median(step_s)), steps_per_min=60/float(np.median(step_s)),
                  compute_steps_per_min=60/float(np.median(compute_s)),
                  train_loss_last5=float(np.mean(timer.losses[-5:])), valid_loss_fp32=fp32_valid_loss(learn))
    learn.loss_func.remove()
    return result


def inference_child(config: str, out_mp: float) -> dict:
    "Time x2 upscaling of a photo to about `out_mp` megapixels in this process (called in a fresh subprocess), on CUDA if there is one."
    from PIL import Image
    from enhance_lab.data import skimage_photos
    from enhance_lab.images import open_rgb
    from enhance_lab.inference import upscale_image
    from enhance_lab.models import build_unet
    torch.manual_seed(0)
    cuda = torch.cuda.is_available()
    model = build_unet('resnet34' if cuda else 'efficientnet_lite0', 'none' if cuda else 'auto', 'spectral', img_size=64).eval()
    if cuda: model.cuda()
    if config == 'new': model.set_precision(resolve_precision('auto', 'cuda' if cuda else 'cpu', 'gpu' if cuda else 'cpu'))
    w, h = round((out_mp*1e6*4/3)**0.5)//2, round((out_mp*1e6*3/4)**0.5)//2
    img = open_rgb(skimage_photos()[0]).resize((w, h), Image.BICUBIC)
    upscale_image(model, img.crop((0, 0, 256, 256)), 2)             # warm-up
    t0 = time.perf_counter()
    out = upscale_image(model, img, 2)                              # returns a PIL image: the GPU has finished
    seconds = time.perf_counter() - t0
    return dict(config=config, output=f'{out.width}x{out.height}', seconds=seconds,
                ms_per_mp=1000*seconds/(out.width*out.height/1e6),
                peak_rss_gb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1e6,
                peak_gpu_gb=torch.cuda.max_memory_allocated()/1e9 if cuda else 0.)


def inference_run(config: str, out_mp: float) -> dict:
    "`inference_child` in a fresh process, so that its peak memory is its own."
    res = subprocess.run([sys.executable, __file__, '--inference-child', config, '--out-mp', str(out_mp)],
                         capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def startup_time(repeats: int = 3) -> float:
    "Best wall time of `enhance-lab --help`."
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, '-m', 'enhance_lab.cli', '--help'], capture_output=True, check=True)
        times.append(time.perf_counter() - t0)
    return min(times)


def report(train: list[dict], infer: list[dict], help_s: float, args, source: str, wall: float) -> str:
    "The results as Markdown."
    n_train = len(photo_splits(source)['train'])
    p, gpu = bench_profile(args.profile, args.bs), torch.cuda.get_device_name() if torch.cuda.is_available() else None
    flags = (' --random-weights' if args.random_weights else '') + (f' --bs {args.bs}' if args.bs else '')
    lines = ['# Speed: today (fp32, contiguous) vs the new default', '',
             f'Written by `python bench/speed.py --profile {args.profile}{flags} --steps {args.steps} --warmup {args.warmup}` on '
             f'{time.strftime("%Y-%m-%d")}; {"GPU " + gpu + ", " if gpu else ""}{os.cpu_count()} CPU cores '
             f'({platform.processor() or platform.machine()}), native bf16: {cpu_has_native_bf16()}, '
             f'torch {torch.__version__}, {torch.get_num_threads()} threads; benchmark wall time {wall/60:.1f} min.', '',
             f'## Training steps ({p.name} profile: {p.size} px crops, batch {p.bs}, encoder {p.encoder if p.name != "gpu" else "ResNet34 / ResNet18"} '
             f'{"trained" if p.name == "gpu" else "frozen"}, source {source!r} with {n_train} training photos'
             f'{"; random weights, same networks" if args.random_weights else ""})', '',
             'Steps per minute: median over steps after the warm-up, data loading included; "compute" leaves out the '
             'loading of the batch (forward, loss, backward, optimiser only). Loss after the same steps from the same '
             'seed: the mean training loss of the last 5 steps, and the float32 loss of the final model on the same 4 '
             'validation batches.', '',
             '| learner | baseline steps/min | new steps/min | speed-up | compute speed-up | new precision | train loss baseline / new | valid loss (fp32) baseline / new |',
             '|---|---|---|---|---|---|---|---|']
    for base, new in zip(train[::2], train[1::2]):
        lines.append(f"| {base['task']} | {base['steps_per_min']:.1f} | {new['steps_per_min']:.1f} | "
                     f"**{new['steps_per_min']/base['steps_per_min']:.2f}×** | {new['compute_steps_per_min']/base['compute_steps_per_min']:.2f}× | {new['precision']} | "
                     f"{base['train_loss_last5']:.4f} / {new['train_loss_last5']:.4f} | "
                     f"{base['valid_loss_fp32']:.4f} / {new['valid_loss_fp32']:.4f} |")
    base, new = infer
    lines += ['', f'## Inference: x2 upscale to {base["output"]} (tiles of 512, overlap 64; random-weight U-Net, same architecture)', '',
              '| configuration | seconds | ms per output megapixel | peak RSS (GB) | peak GPU memory (GB) |', '|---|---|---|---|---|']
    for r in infer: lines.append(f"| {r['config']} | {r['seconds']:.2f} | {r['ms_per_mp']:.0f} | {r['peak_rss_gb']:.2f} | {r['peak_gpu_gb']:.2f} |")
    lines += ['', f"Speed-up: **{base['ms_per_mp']/new['ms_per_mp']:.2f}×**.", '',
              '## Start-up', '', f'`enhance-lab --help`: {help_s:.2f} s wall (best of 3).', '']
    return '\n'.join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--steps', type=int, default=40, help='optimiser steps per configuration and learner')
    ap.add_argument('--warmup', type=int, default=5, help='steps left out of the timing')
    ap.add_argument('--tasks', nargs='+', default=list(TASKS), choices=list(TASKS))
    ap.add_argument('--out-mp', type=float, default=12., help='output megapixels of the inference benchmark')
    ap.add_argument('--profile', choices=['cpu', 'gpu'], default='gpu' if torch.cuda.is_available() else 'cpu',
                    help="training settings: the `cpu` profile's (encoder frozen) or the `gpu` profile's (needs CUDA)")
    ap.add_argument('--bs', type=int, help="batch size (default: the profile's)")
    ap.add_argument('--random-weights', action='store_true', help='random encoder and VGG16 weights (offline machines; same speed)')
    ap.add_argument('--out', type=Path, help='the report (default: bench/RESULTS.md, or bench/RESULTS-gpu.md on CUDA)')
    ap.add_argument('--inference-child', choices=['baseline', 'new'], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.inference_child:
        print(json.dumps(inference_child(args.inference_child, args.out_mp))); return
    if args.profile == 'gpu' and not torch.cuda.is_available(): ap.error('--profile gpu needs a CUDA device')
    out = args.out or Path(__file__).parent/('RESULTS-gpu.md' if torch.cuda.is_available() else 'RESULTS.md')
    t0 = time.time()
    source = 'corpus' if (default_corpus_dir()/'train').is_dir() else 'samples'
    train = []
    for task in args.tasks:
        for config in (BASELINE, NEW):
            train.append(train_run(task, config, source, args.steps, args.warmup, args.profile, args.random_weights, args.bs))
            print(json.dumps(train[-1]), flush=True)
    infer = [inference_run(c, args.out_mp) for c in ('baseline', 'new')]
    for r in infer: print(json.dumps(r), flush=True)
    text = report(train, infer, startup_time(), args, source, time.time() - t0)
    out.write_text(text)
    print(text)


if __name__ == '__main__': main()
