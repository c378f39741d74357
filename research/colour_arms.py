"""Scouting arms for issue #30 (the colouriser paints a wash that is worse than the grey input on unseen photos).

Each arm changes one thing against the shipped recipe (MSE on RGB, weight norm, self-attention, residual output,
encoder unfrozen, 128-px crops, batch 8) and trains 1,000 optimiser steps on the offline corpus, cpu profile, seed 0
(one-cycle, lr 1e-3, a checkpoint every 100 steps: resumable). It is then measured on `22_colorize`'s 49 held-out
photos (long side 384, `colorize_image` as users run it): mean a*b* error, on how many photos it beats the grey input,
its worst excess over the grey input, and its colourfulness over the truth's. Beside the model as trained, the
"do no harm" read-out: the chroma (Cb, Cr) scaled by the factor that gives the lowest a*b* error on the corpus's
validation photos — chosen there, never on the test photos (the `-scenes` arms train and choose on the corpus plus
GCompris's 110 scenes: 90 more training and 20 more validation photos). Weights stay in the cache; the record goes to
research/colour_arms/<arm>.json and a picture of four photos to research/colour_arms/<arm>.jpg.

    python research/colour_arms.py ARM [ARM ...]      (arms: see ARMS)
    python research/colour_arms.py --confidence bins-scenes   (a trained bins arm read out by its confidence: record ARM-confidence)
    python research/colour_arms.py --model PATH [NAME]         (a model `enhance-lab train` saved, e.g. a 4,000-step release candidate:
                                                                record and picture NAME in research/colour_models/)
    python research/colour_arms.py --oracle PATH NAME           (what any per-photo chroma gate could reach with that model: each
                                                                photo's best factor chosen with its truth -> research/colour_oracle-NAME.json)
"""
import hashlib, json, sys
from pathlib import Path

import numpy as np
import torch
from fastai.torch_core import set_seed
from kornia.color import lab_to_rgb, rgb_to_lab, rgb_to_ycbcr, ycbcr_to_rgb
from PIL import Image

from enhance_lab.core import cache_dir, get_profile
from enhance_lab.data import colorize_dls, photo_splits
from enhance_lab.evaluation import ab_error, colorize_table, colourfulness, mean_table
from enhance_lab.experiments import experiment_setup
from enhance_lab.images import image_to_tensor, open_rgb, shrink, tensor_to_image, to_grey
from enhance_lab.inference import colorize_image, load_model
from enhance_lab.learners import enhance_learner
from enhance_lab.losses import PRESETS, EnhanceLoss
from arms import fit_resumable, run_arms, saved_model

REFERENCE = dict(loss={'mse': 1.}, ab=0., freeze=False, source='corpus', bins=False)
ARMS = {
    'mse': {},                                                  # the shipped recipe, at the arms' budget
    'ab-distance': {'loss': {}, 'ab': 1.},                      # the measure itself: a*b* distance, the photo's luminance kept
    'ab-distance-frozen': {'loss': {}, 'ab': 1., 'freeze': True},  # the same, the ImageNet encoder kept as it is
    'hybrid': {'loss': PRESETS['colorize']},                    # the article's hybrid loss (SSIM, feature, Gram, a little MAE)
    'ab-distance-feature': {'loss': {'feature': 0.25}, 'ab': 1.},  # the measure plus the article's feature term
    'mse-scenes': {'source': 'corpus+scenes'},                  # the shipped recipe on twice the scenes (GCompris's photos added)
    'ab-distance-scenes': {'loss': {}, 'ab': 1., 'source': 'corpus+scenes'},  # ab-distance on twice the scenes
    'bins-scenes': {'loss': {}, 'bins': True, 'source': 'corpus+scenes'},   # Zhang et al. 2016: a*b* as one of Q bins, rare colours weighted up, annealed mean
    'ab-distance-frozen-scenes': {'loss': {}, 'ab': 1., 'freeze': True, 'source': 'corpus+scenes'},  # the ImageNet encoder kept: its features are not fitted to 189 photos
}
SEED = 0
OUT = Path(__file__).parent/'colour_arms'
MODELS = Path(__file__).parent/'colour_models'      # whole models measured like the arms (not arms: 22_colorize tabulates colour_arms/)
SCALES = np.round(np.arange(0, 2.01, 0.125), 3)                 # the read-out's chroma factors tried on the validation photos


def ab_distance(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    "Mean a*b* distance (CIE Lab) of `pred` to `target` (RGB in [0, 1]) after giving `pred` the target's luminance, as `colorize_image` does."
    with torch.autocast(pred.device.type, enabled=False):
        pred, target = pred.float().clamp(0, 1), target.float()
        ycc = torch.cat([rgb_to_ycbcr(target)[:, :1], rgb_to_ycbcr(pred)[:, 1:]], 1)
        d = rgb_to_lab(ycbcr_to_rgb(ycc).clamp(0, 1))[:, 1:] - rgb_to_lab(target)[:, 1:]
        return (d.pow(2).sum(1) + 1e-6).sqrt().mean()


class ColourLoss(EnhanceLoss):
    "`EnhanceLoss`'s terms plus `ab` times the a*b* distance (in units of 100: a*b* spans about ±100)."
    def __init__(self, weights: dict, ab: float): super().__init__(weights); self.ab = ab

    def forward(self, pred, target):
        if self.weights: total = super().forward(pred, target)
        else: total, self.terms = 0., {}
        if self.ab:
            d = ab_distance(pred, target)
            self.terms['ab'] = d.item()
            total = total + self.ab*d/100
        return total

    def __repr__(self): return ' + '.join([super().__repr__()]*bool(self.weights) + [f'{self.ab:g}*ab']*bool(self.ab))


BIN = 10.                        # a*b* bin side (Zhang et al.: 10)
SIGMA, LAMBDA, T = 5., 0.5, 0.38  # soft-encoding spread, rebalancing mix with the uniform, read-out temperature (theirs)


def ab_bins(paths: list[Path], side: int = 128) -> tuple[torch.Tensor, torch.Tensor]:
    "The a*b* bins the training photos use (centres, (Q, 2)) and how often (Q,): each photo shrunk to `side`, every pixel counted."
    counts = torch.zeros(22, 22)                           # a and b from -110 to 110 by 10
    for p in paths:
        ab = rgb_to_lab(image_to_tensor(shrink(open_rgb(p), side))[None])[0, 1:].reshape(2, -1)
        i = ((ab + 110)/BIN).long().clamp(0, 21)
        counts += torch.bincount(i[0]*22 + i[1], minlength=22*22).reshape(22, 22).float()
    used = counts.flatten() > 0
    grid = torch.stack(torch.meshgrid(torch.arange(22.), torch.arange(22.), indexing='ij'), -1).reshape(-1, 2)*BIN - 110 + BIN/2
    return grid[used], counts.flatten()[used]/counts.sum()


def rebalancing_weights(centres: torch.Tensor, share: torch.Tensor) -> torch.Tensor:
    "Zhang et al.'s class weights: 1/((1-λ)·p̃ + λ/Q), p̃ the bins' share smoothed by a Gaussian of SIGMA units, scaled so the expected weight is 1."
    near = torch.exp(-torch.cdist(centres, centres).pow(2)/(2*SIGMA**2))
    smooth = near @ share / near.sum(1)
    smooth = smooth/smooth.sum()
    w = 1/((1 - LAMBDA)*smooth + LAMBDA/len(share))
    return w/(smooth*w).sum()


class BinLoss(EnhanceLoss):
    "Cross-entropy of the model's Q bin logits against each target pixel's a*b* soft-encoded on its 5 nearest bins, weighted by the rarity of its nearest bin."
    def __init__(self, centres: torch.Tensor, weights: torch.Tensor):
        super().__init__({}); self.register_buffer('centres', centres); self.register_buffer('rarity', weights)

    def forward(self, logits, target):
        with torch.autocast(logits.device.type, enabled=False):
            ab = rgb_to_lab(target.float())[:, 1:].permute(0, 2, 3, 1).reshape(-1, 2)
            d, idx = torch.cdist(ab, self.centres).topk(5, largest=False)
            soft = torch.softmax(-d.pow(2)/(2*SIGMA**2), 1)
            logp = torch.log_softmax(logits.float(), 1).permute(0, 2, 3, 1).reshape(-1, len(self.centres))
            ce = -(soft*logp.gather(1, idx)).sum(1)
            loss = (self.rarity[idx[:, 0]]*ce).mean()
        self.terms = {'ce': loss.item()}
        return loss

    def __repr__(self): return f'rebalanced cross-entropy over {len(self.centres)} a*b* bins'


def annealed_ab(logits: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    "a*b* (b, 2, h, w) as the annealed mean of the bins: softmax of `logits`/T over the bin `centres`."
    return torch.einsum('bqhw,qc->bchw', torch.softmax(logits.float()/T, 1), centres)


class AnnealedMean(torch.nn.Module):
    "The bin model as a colouriser: the annealed mean of its bins (softmax of logits/T) as a*b*, the input's own lightness, RGB out."
    def __init__(self, net, centres: torch.Tensor):
        super().__init__(); self.net = net; self.register_buffer('centres', centres)

    def ab(self, x):
        "The a*b* of `x`: the annealed mean of its bins."
        return annealed_ab(self.net(x), self.centres)

    def forward(self, x):
        return lab_to_rgb(torch.cat([rgb_to_lab(x.float())[:, :1], self.ab(x)], 1)).clamp(0, 1)


class ConfidentMean(AnnealedMean):
    "The annealed mean with each pixel's a*b* times `scale`·confidence^`gamma` (confidence: 1 - the entropy of its bins over log Q): less colour where the model is unsure."
    def __init__(self, net, centres: torch.Tensor):
        super().__init__(net, centres); self.gamma, self.scale, self._cache = 0., 1., {}

    def ab(self, x):
        "The annealed mean times `scale`·confidence^`gamma`; the net runs once per input (the read-out is chosen over many settings)."
        key = hashlib.sha1(x.detach().float().cpu().numpy().tobytes()).hexdigest()
        if key not in self._cache:
            z = self.net(x).float()
            p1 = torch.softmax(z, 1)
            confidence = 1 + (p1*torch.log(p1.clamp_min(1e-12))).sum(1, keepdim=True)/np.log(len(self.centres))
            self._cache[key] = annealed_ab(z, self.centres), confidence
        ab, confidence = self._cache[key]
        return ab*self.scale*confidence.pow(self.gamma)


def bins_learner(dls, source: str):
    "A colour learner whose U-Net ends in one logit per a*b* bin of `source`'s training photos, trained with `BinLoss`."
    centres, share = ab_bins(photo_splits(source)['train'])
    print(f"{len(centres)} a*b* bins used by the training photos")
    learn = enhance_learner(dls, 'colorize', BinLoss(centres, rebalancing_weights(centres, share)), norm='weight', residual=False,
                            profile=get_profile('cpu'), seed=SEED)
    layers = learn.model.unet.layers
    layers[-2][0] = torch.nn.Conv2d(layers[-2][0].in_channels, len(centres), 1)
    layers[-1] = torch.nn.Identity()                               # logits, not a sigmoid-ranged image
    learn.metrics = []                                             # PSNR and a*b* gain need an image; `evaluate_arm` measures it
    learn.centres = centres
    return learn


def train_arm(name: str):
    "Train arm `name` (resuming its checkpoint if any): (the model in eval mode, the run's facts) and the arm's settings."
    arm = {**REFERENCE, **ARMS[name]}
    p = get_profile('cpu')
    set_seed(SEED, reproducible=True)
    dls = colorize_dls(arm['source'], profile=p, steps_per_epoch=100)
    if arm['bins']: learn = bins_learner(dls, arm['source'])
    else: learn = enhance_learner(dls, 'colorize', ColourLoss(arm['loss'], arm['ab']), norm='weight', profile=p, seed=SEED)
    if arm['freeze']: learn.freeze()
    arm = {**arm, 'loss': repr(learn.loss_func)}                   # the record names the loss the arm trained with
    model, run = fit_resumable(learn, name, cache_dir('colour_arms', name))
    return (AnnealedMean(model, learn.centres).eval() if arm['bins'] else model, run), arm


def chroma_scaled(img: Image.Image, k: float) -> Image.Image:
    "`img` with its chroma (Cb, Cr about their neutral 0.5) times `k`; luminance unchanged."
    ycc = rgb_to_ycbcr(image_to_tensor(img)[None])
    ycc[:, 1:] = 0.5 + k*(ycc[:, 1:] - 0.5)
    return tensor_to_image(ycbcr_to_rgb(ycc)[0].clamp(0, 1), inplace=True)


def chroma_errors(model, paths: list[Path], side: int = 384) -> tuple[list, list, list, np.ndarray]:
    "The truths, grey inputs and `model`'s colours on `paths` (shrunk to `side`), and the a*b* error of each photo (rows) at each chroma factor of `SCALES` (columns)."
    truths = [shrink(open_rgb(p), side) for p in paths]
    greys = [to_grey(t) for t in truths]
    outs = [colorize_image(model, g) for g in greys]
    return truths, greys, outs, np.array([[ab_error(chroma_scaled(o, k), t) for k in SCALES] for o, t in zip(outs, truths)])


def best_chroma_scale(model, paths: list[Path]) -> tuple[float, list[float]]:
    "The chroma factor of `SCALES` with the lowest mean a*b* error of `model`'s colours on `paths`, and every factor's mean."
    errors = chroma_errors(model, paths)[-1].mean(0)
    return float(SCALES[int(np.argmin(errors))]), [float(e) for e in errors]


def evaluate_arm(name: str, model, run: dict, arm: dict, steps: int = 1000, out: Path = OUT):
    "The arm's record and picture, in `out`."
    setup = experiment_setup('cpu')
    k, valid_errors = best_chroma_scale(model, photo_splits(arm['source'])['valid'])   # 11 photos, 31 with the scenes
    readout = f'{name} x{k:g} chroma'
    methods = {'greyscale input': lambda g: g, name: lambda g: colorize_image(model, g),
               readout: lambda g: chroma_scaled(colorize_image(model, g), k)}
    table = colorize_table(methods, setup.test_paths, max_side=setup.eval_side)
    ab = table.pivot(index='photo', columns='method', values='ab_error')
    means = mean_table(table)
    def scores(m):
        excess = ab[m] - ab['greyscale input']
        return {'ab_error': means.loc[m, 'ab_error'], 'better_than_grey': int((excess < 0).sum()), 'worst_excess_over_grey': float(excess.max()),
                'colourfulness_over_truth': means.loc[m, 'colourfulness']/means.loc[m, 'colourfulness (truth)']}
    record = {'arm': name, 'config': arm, 'steps': steps, 'seed': SEED,
              **run, 'test_photos': len(ab), 'eval_side': setup.eval_side,
              'grey_ab_error': means.loc['greyscale input', 'ab_error'], 'model': scores(name),
              'readout_chroma_scale': k, 'readout_valid_errors': dict(zip(map(float, SCALES), valid_errors)), 'readout': scores(readout),
              'per_photo_columns': ['photo', *ab.columns], 'per_photo_ab_error': ab.round(3).reset_index().values.tolist()}
    out.mkdir(exist_ok=True)
    (out/f'{name}.json').write_text(json.dumps(record, indent=1))
    picks = [p for p in setup.test_paths if p.stem in ('fruits', 'sheep', 'astronaut', 'coffee', 'trees_above', 'lighthouse')][:4]
    rows = []
    for p in picks:
        truth = shrink(open_rgb(p), 256); grey = to_grey(truth); coloured = colorize_image(model, grey)
        rows.append([grey, coloured, chroma_scaled(coloured, k), truth])
    h = sum(r[0].height for r in rows)
    sheet, y = Image.new('RGB', (256*4, h), 'white'), 0
    for r in rows:
        for i, im in enumerate(r): sheet.paste(im, (256*i, y))
        y += r[0].height
    sheet.save(out/f'{name}.jpg', quality=85)
    print(json.dumps({k: v for k, v in record.items() if not k.startswith(('per_photo', 'readout_valid'))}))


GAMMAS = (0., 0.5, 1., 2., 3.)                                   # the confidence read-out's exponents tried on the validation photos


def evaluate_confidence(name: str):
    "Arm `name` (a trained bins arm) read out by its confidence, (gamma, scale) chosen on the validation photos; measured like an arm, recorded as NAME-confidence."
    (model, run), arm = train_arm(name)                        # a finished arm: its checkpoint, no training
    model = ConfidentMean(model.net, model.centres).eval()
    truths = [shrink(open_rgb(p), 384) for p in photo_splits(arm['source'])['valid']]
    greys = [to_grey(t) for t in truths]
    errors = {}
    for g in GAMMAS:
        for k in SCALES:
            model.gamma, model.scale = g, float(k)
            errors[(g, float(k))] = float(np.mean([ab_error(colorize_image(model, grey), t) for grey, t in zip(greys, truths)]))
    model.gamma, model.scale = min(errors, key=errors.get)
    print(f"{name}: confidence read-out gamma {model.gamma:g}, scale {model.scale:g} (validation a*b* error {errors[(model.gamma, model.scale)]:.3f}; "
          f"the best global scale {min((e, k) for (g, k), e in errors.items() if g == 0)})")
    evaluate_arm(f'{name}-confidence', model, run, {**arm, 'readout': f'annealed mean x {model.scale:g} x confidence^{model.gamma:g}', 'readout_valid_errors': {f'{g:g},{k:g}': e for (g, k), e in errors.items()}})


def evaluate_model(path: str, name: str | None = None):
    "Measure a model saved by `enhance-lab train` as the arms are (its read-out chosen on its source's validation photos): record and picture named `name` (default: its file's name + '-candidate') in research/colour_models/."
    model, run, settings, steps = saved_model(path)
    evaluate_arm(name or Path(path).stem + '-candidate', model, run, settings, steps, MODELS)


def grey_detail(grey: Image.Image) -> float:
    "Mean absolute difference between neighbouring grey levels (0-1), down and across: how much fine texture a photo has."
    g = np.asarray(grey.convert('L'), np.float32)/255
    return float(np.abs(np.diff(g, axis=0)).mean() + np.abs(np.diff(g, axis=1)).mean())


def evaluate_oracle(path: str, name: str):
    "The bound on any per-photo chroma gate for a saved model (or a shipped model's name): on the validation and test photos, each photo's a*b* error at its best factor of `SCALES` (chosen with its truth) and how well that factor follows what a gate could see — the grey photo's fine texture, the output's colourfulness. Record research/colour_oracle-NAME.json (beside, not among, the models' records: 22_colorize tabulates those)."
    model, _ = load_model(path)
    record = {'model': path, 'factors': [float(k) for k in SCALES]}
    for split, paths in {'valid': photo_splits('corpus+scenes')['valid'], 'test': experiment_setup('cpu').test_paths}.items():
        truths, greys, outs, errors = chroma_errors(model, paths)
        grey_errors, model_errors = np.array([ab_error(g, t) for g, t in zip(greys, truths)]), errors[:, list(SCALES).index(1.)]
        best = SCALES[errors.argmin(1)]
        follows = lambda feature: float(np.corrcoef(best, feature)[0, 1])
        record[split] = {'photos': len(paths), 'grey_ab_error': grey_errors.mean(), 'model_ab_error': model_errors.mean(),
                         'model_better_than_grey': int((model_errors < grey_errors).sum()), 'oracle_ab_error': errors.min(1).mean(),
                         'oracle_better_than_grey': int((errors.min(1) < grey_errors - 1e-6).sum()),
                         'best_factor_mean': float(best.mean()), 'best_factor_zero': int((best == 0).sum()),
                         'corr_best_factor_grey_detail': follows([grey_detail(g) for g in greys]),
                         'corr_best_factor_output_colourfulness': follows([colourfulness(o) for o in outs]),
                         'corr_best_factor_truth_colourfulness': follows([colourfulness(t) for t in truths])}
    (Path(__file__).parent/f'colour_oracle-{name}.json').write_text(json.dumps(record, indent=1))
    print(json.dumps(record))


if __name__ == '__main__':
    if sys.argv[1:2] == ['--confidence']: evaluate_confidence(sys.argv[2])
    elif sys.argv[1:2] == ['--model']: evaluate_model(*sys.argv[2:4])
    elif sys.argv[1:2] == ['--oracle']: evaluate_oracle(*sys.argv[2:4])
    else: run_arms(sys.argv[1:], ARMS, OUT, train_arm, evaluate_arm)
