"""Deep learning image enhancement with engineered losses: super-resolution, colourisation and style transfer with fastai U-Nets

Modules:

- `enhance_lab.app`: A local web app for the three tasks, the way the fastai course deploys its models: drop a photo in, compare before and after with a slider, download the full-resolution result. Built with Gradio on the bundled release models.
- `enhance_lab.cli`: One console script for everything a practitioner does: assemble the offline corpus, train, upscale, colourise, stylise, evaluate against bicubic, and a quick demo. Exit codes: 0 all good, 1 some inputs failed (each listed with its reason, the rest processed), 2 usage error.
- `enhance_lab.core`: One switch — the *profile* — sets image size, batch size, photo count, epochs and the networks used, so that every notebook and command runs at the right scale for the machine it is on.
- `enhance_lab.corpus`: The offline training, validation and test photos: a manifest of photographs that Debian packages ship (package, path, licence, hash), assembled idempotently into a folder with its attribution, and remembered when it is put elsewhere.
- `enhance_lab.data`: Where photos come from (bundled samples, the offline Debian corpus, online sets, any folder), how they are degraded (downscaled, crappified, greyed), and the DataLoaders for the three tasks. Reading them safely, whatever their mode, is `00b_images`'s job.
- `enhance_lab.evaluation`: Per-photo and mean quality tables for super-resolution (PSNR-Y, SSIM-Y, sharpness, VGG feature distance, against bicubic and peers) and colourisation (colourfulness, PSNR, SSIM, Lab ab error, feature distance), on held-out photos.
- `enhance_lab.experiments`: What every experiment notebook (20–25) shares: which photos and profile it runs on, the release models' recipes and how to train them from Python, run records that are reused only while the code that made them is unchanged, the rule that turns seeds into verdicts, and the findings that the README gathers.
- `enhance_lab.export`: `export_onnx` writes a bundled or trained model as an ONNX file that runs without PyTorch (onnxruntime, a browser, a phone), checked against PyTorch on a real photo before it is kept; `enhance-lab export` does the same from the command line.
- `enhance_lab.features`: Perceptual and style losses compare images through the activations of a fixed, pretrained VGG16. This module builds that network from ImageNet weights (torchvision, online) or — offline — from the VGG16 backbone of an HED edge detector shipped in a PyPI wheel, converted once to safetensors.
- `enhance_lab.images`: Reading photos safely whatever their mode (EXIF orientation, transparency, 16-bit, CMYK, palette; a clear error naming the file otherwise), greyscale and size, and the conversions between PIL images and tensors. This module imports neither fastai nor torchvision, so the inference path that uses it starts in seconds.
- `enhance_lab.inference`: Trained models saved as safetensors weights plus a JSON config and loaded without unpickling anything; prediction on photos of any size through overlapping, smoothly blended tiles; colourisation that keeps the photo's own full-resolution luminance; and file handling that never loses a user's data.
- `enhance_lab.learners`: `superres_learner`, `colorize_learner` and `style_learner` put data, U-Net and loss together with the article's defaults; callbacks record every loss term, stop on a NaN with the guilty term named, and seed every epoch's data. Mixed precision on CUDA, bfloat16 autocast as an option on CPU, and multi-process training with fastai's distributed support. (Runs by steps, checkpoints and resuming: `07a_training`.)
- `enhance_lab.losses`: The heart of the article: losses that judge images the way people do. A hook-based perceptual (feature) loss and a Gram-matrix style loss on the frozen VGG16, an SSIM loss, and the combined presets used for super-resolution, colourisation and style transfer, with a callback that records every term.
- `enhance_lab.metrics`: Pixel metrics the article discusses, a MATLAB-compatible SSIM, and the literature's evaluation protocol (Y channel of YCbCr, border crop) so our numbers compare with published tables.
- `enhance_lab.models`: fastai's `DynamicUnet` (rebuilt in plain PyTorch, weight for weight) on a pretrained encoder (EfficientNet-Lite0 offline; ResNet18/34 as in the article), with self-attention, batch / weight / spectral normalisation in the decoder, blur, and a residual output.
- `enhance_lab.peers`: A small PyTorch loader for the UpscalerJS RDN super-resolution models (TF.js files from npm), verified against the sample outputs the npm package ships — a real, independent baseline beside bicubic.
- `enhance_lab.training`: `train(recipe, out, steps=N)` trains a model for exactly N optimiser steps (one-cycle over the N), validates and checkpoints every few hundred steps in safe files, resumes exactly in a new process, keeps the loss terms of every piece of a run, and saves the model with its config. `enhance-lab train` is this function behind a command line."""

__version__ = "0.1.0"

import warnings as _warnings
# fastai's import-time notice about torch.jit.script (a torch deprecation, nothing for users to act on): silenced once
# here, for every notebook, command and script, before any submodule imports fastai
_warnings.filterwarnings('ignore', message='`torch.jit.script` is deprecated', category=FutureWarning)
_warnings.filterwarnings('ignore', message='`torch.nn.utils.weight_norm` is deprecated', category=FutureWarning)  # fastai's weight norm
_warnings.filterwarnings('ignore', message='IProgress not found')          # tqdm in a kernel without ipywidgets
