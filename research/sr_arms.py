"""Scouting arms for issue #31 (both super-resolution models add faint period-2 stripes; x4 is marginal).

Finding that chose the first arm (inference only, the shipped models on 12 held-out photos): the share of each
feature map's column detail that is one image-wide period-2 stripe (+a, -a, +a… with the same sign everywhere) is
0.014 after the last U-Net block (half resolution), **0.60 right after the final PixelShuffle** (full resolution), 0.48
after the residual block, 0.32 at the output convolution and 0.24 in the output image (the truth: 0.009, the bicubic
input: 0.001). fastai's DynamicUnet blurs every PixelShuffle but the last (`blur_final` applies to the last U-Net block
only): the final 1x1 convolution computes each 2x2 block's four pixels from four separate filters, which drift apart in
training (29 % of their norm here) — a stripe wherever the photo is smooth. `final-blur` adds the blur (replication pad
+ 2x2 average, Sugawara et al.'s fix that fastai uses elsewhere) after the final PixelShuffle.

Each arm trains the release recipe (superres x2, the combined loss preset, encoder frozen, cpu profile, seed 0) for
1,000 steps (one-cycle, lr 1e-3, a checkpoint every 100 steps: resumable), then is measured on `21_superres`'s 49
held-out photos (long side 384, Y, border = scale) against bicubic: PSNR-Y, SSIM-Y, stripe energy over the truth's,
and the coherent-stripe share per stage. Weights stay in the cache; records go to research/sr_arms/<arm>.json.

x4 arms (the issue's levers, each against `x4-reference`): the final blur, 256-px crops at batch 2 (an x4 model sees
32x32 input pixels in a 128-px crop), starting from the shipped x2 model, and a ten times larger MAE weight.
x2's second stage (`x2-unfrozen`, against the shipped x2 itself): the shipped model fine-tuned 1,000 steps at lr 3e-4
with its encoder unfrozen, as the x4 release's second stage is.

    python research/sr_arms.py ARM [ARM ...]
    python research/sr_arms.py --model PATH [NAME]   # a model `enhance-lab train` saved (a release candidate), measured the same way -> research/sr_models/
    python research/sr_arms.py --tiling      # inference only: does tiling add stripes? -> research/sr_tiling.json
"""
import json, sys
from pathlib import Path

import numpy as np
from enhance_lab.core import cache_dir, get_profile
from enhance_lab.data import mod_crop, superres_input
from enhance_lab.evaluation import bicubic_upscaler, coherent_stripe_share, mean_table, stripe_shares, superres_table
from enhance_lab.experiments import experiment_setup
from enhance_lab.images import image_to_tensor, open_rgb, shrink
from enhance_lab.inference import bundled_models, load_model, read_config, upscale_image
from enhance_lab.losses import VGGTerms
from enhance_lab.training import Recipe, _load_init, recipe_learner
from arms import fit_resumable, run_arms, saved_model

REFERENCE = dict(scale=2, final_blur=False, size=None, bs=None, init=None, mae=None, freeze=True, lr=1e-3)
ARMS = {
    'reference': {},                    # the release recipe at the arms' budget
    'final-blur': {'final_blur': True}, # the final PixelShuffle blurred like every other one
    'x4-reference': {'scale': 4},       # the x4 release recipe's first stage at the arms' budget
    'x4-final-blur': {'scale': 4, 'final_blur': True},
    'x4-crop256': {'scale': 4, 'size': 256, 'bs': 2},     # 64x64 input pixels a crop instead of 32x32; the same pixels a step
    'x4-from-x2': {'scale': 4, 'init': 'superres-x2'},    # the input is bicubic-upscaled either way: start from the x2 model
    'x4-mae': {'scale': 4, 'mae': 1.},                    # MAE weight 1 instead of 0.1: a larger pixel share of the loss
    'x2-unfrozen': {'final_blur': True, 'init': 'superres-x2', 'freeze': False, 'lr': 3e-4},   # the shipped x2 fine-tuned with its encoder unfrozen, as x4's second stage
}
SEED = 0
OUT = Path(__file__).parent/'sr_arms'
MODELS = Path(__file__).parent/'sr_models'     # whole models measured like the arms (not arms: 21_superres tabulates sr_arms/)
STAGES = {'last block (1/2 res)': 7, 'final PixelShuffle': 8, 'residual block': 11, 'output conv': 12}


def train_arm(name: str):
    "Train arm `name` (resuming its checkpoint if any): (the model in eval mode, the run's facts) and the arm's settings."
    arm = {**REFERENCE, **ARMS[name]}
    profile = get_profile('cpu') if arm['size'] is None else get_profile('cpu').replace(size=arm['size'], bs=arm['bs'])
    recipe = Recipe('superres', scale=arm['scale'], source='corpus', freeze=arm['freeze'], profile=profile, seed=SEED, blur_final=arm['final_blur'],
                    loss_weights=None if arm['mae'] is None else {'mae': arm['mae']})
    learn = recipe_learner(recipe, steps_per_epoch=100)
    if arm['init']:
        path = bundled_models()[arm['init']]
        _load_init(learn, path, read_config(path))
    return fit_resumable(learn, name, cache_dir('sr_arms', name), lr=arm['lr']), arm


def stage_shares(model, paths, scale: int) -> dict:
    "`stripe_shares` at each full-resolution stage of `model` on `paths` (long side 384), beside the bicubic input's and the truth's."
    hrs = [mod_crop(shrink(open_rgb(p), 384), scale) for p in paths]
    inputs = [image_to_tensor(superres_input(hr, scale))[None] for hr in hrs]
    shares = stripe_shares(model, inputs, {k: model.unet.layers[i] for k, i in STAGES.items()})
    y_share = lambda ts: float(np.mean([coherent_stripe_share(t.mean(1, keepdim=True)).item() for t in ts]))
    return {k: round(v, 4) for k, v in {**shares, 'bicubic input': y_share(inputs), 'truth': y_share([image_to_tensor(hr)[None] for hr in hrs])}.items()}


def evaluate_arm(name: str, model, run: dict, arm: dict, steps: int = 1000, out: Path = OUT):
    "Measure `model` on the held-out photos against bicubic; the record (settings `arm`, `steps`, the `run`'s facts) goes to `out`/`name`.json."
    setup, scale = experiment_setup('cpu'), arm['scale']
    methods = {'bicubic': bicubic_upscaler(scale), name: lambda lr: upscale_image(model, lr, scale, tile=None)}
    with VGGTerms(vgg_weights=setup.vgg_weights) as vgg:      # the feature distance: the third measure for a loss change
        table = superres_table(methods, setup.test_paths, scale, vgg, max_side=setup.eval_side)
    wide = table.pivot(index='photo', columns='method')
    means = mean_table(table)
    record = {'arm': name, 'config': arm, 'steps': steps, 'seed': SEED, **run, 'test_photos': len(wide),
              'eval_side': setup.eval_side,
              'psnr_gain_db': means.loc[name, 'psnr_y'] - means.loc['bicubic', 'psnr_y'],
              'psnr_better': int((wide['psnr_y'][name] > wide['psnr_y']['bicubic']).sum()),
              'ssim_gain': means.loc[name, 'ssim_y'] - means.loc['bicubic', 'ssim_y'],
              'ssim_better': int((wide['ssim_y'][name] > wide['ssim_y']['bicubic']).sum()),
              'feature_gain': means.loc['bicubic', 'feature'] - means.loc[name, 'feature'],
              'feature_better': int((wide['feature'][name] < wide['feature']['bicubic']).sum()),
              'stripes_mean': means.loc[name, 'stripes'], 'stripes_at_or_below_truth': int((wide['stripes'][name] <= 1).sum()),
              'bicubic_stripes_at_or_below_truth': int((wide['stripes']['bicubic'] <= 1).sum()),
              'coherent_stripe_share': stage_shares(model, setup.test_paths[:12], scale),
              'per_photo': table.drop(columns='feature').round(4).values.tolist(),     # the columns of the records before the feature distance
              'per_photo_feature': table[['photo', 'method', 'feature']].round(4).values.tolist()}
    out.mkdir(exist_ok=True)
    (out/f'{name}.json').write_text(json.dumps(record, indent=1))
    print(json.dumps({k: v for k, v in record.items() if not k.startswith('per_photo')}))


def evaluate_model(path: str, name: str | None = None):
    "Measure a super-resolution model saved by `enhance-lab train` (a release candidate) as the arms are: its record, named `name` (default: its file's name), in research/sr_models/."
    model, run, settings, steps = saved_model(path)
    evaluate_arm(name or Path(path).stem, model, run, settings | {'scale': read_config(path)['scale']}, steps, MODELS)


def tiling_check(n_photos: int = 12, side: int = 768, tile: int = 256):
    "The shipped models on `n_photos` test photos at `side` px, whole and in `tile`-px tiles (64 px shared): stripes and PSNR-Y of each, and how far the two outputs differ."
    setup, record = experiment_setup('cpu'), {'photos': n_photos, 'side': side, 'tile': tile, 'overlap': 64}
    for scale in (2, 4):
        model, _ = load_model(f'superres-x{scale}', 'superres', scale)
        greys = []                     # each output's grey levels: superres_table runs the methods in order, photo by photo
        def run(tiles):
            def up(lr):
                out = upscale_image(model, lr, scale, tile=tiles)
                greys.append(np.asarray(out.convert('L'), dtype=np.float32))
                return out
            return up
        table = superres_table({'whole': run(None), f'{tile}-px tiles': run(tile)}, setup.test_paths[:n_photos], scale, max_side=side)
        wide = table.pivot(index='photo', columns='method')
        diff = [np.abs(whole - tiled) for whole, tiled in zip(greys[::2], greys[1::2])]
        record[f'x{scale}'] = {m: {'psnr_y': round(float(wide['psnr_y'][m].mean()), 3), 'stripes_mean': round(float(wide['stripes'][m].mean()), 3),
                                   'stripes_at_or_below_truth': int((wide['stripes'][m] <= 1).sum())} for m in ('whole', f'{tile}-px tiles')}
        record[f'x{scale}']['grey_levels_changed_by_tiling'] = {'mean': round(float(np.mean([d.mean() for d in diff])), 4),
                                                               'max': round(float(max(d.max() for d in diff)), 2)}
    (Path(__file__).parent/'sr_tiling.json').write_text(json.dumps(record, indent=1))
    print(json.dumps(record))


if __name__ == '__main__':
    if sys.argv[1:] == ['--tiling']: tiling_check()
    elif sys.argv[1:2] == ['--model']: evaluate_model(*sys.argv[2:4])
    else: run_arms(sys.argv[1:], ARMS, OUT, train_arm, evaluate_arm)
