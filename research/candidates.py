"""Release candidates: recipes the arms point to that have not shipped, for a lent GPU to train at the release budget in
one device call (`bash release/device.sh --models NAME ...`, beside or instead of `RELEASE_RECIPES`' names). Each is
measured like the arms before it may replace a release model (`research/style_arms.py --model`, `25_release_models`);
on a CPU, `enhance-lab train` trains the same recipe (`train_arguments` prints its command line).
"""
from enhance_lab.experiments import RELEASE_RECIPES
from enhance_lab.training import Recipe

# issue #29: the Gram term on each quarter of every crop at relu1_2..relu4_3, reflect padding, a 16-px loss margin; Gram 3.5
STYLE_G35 = Recipe('style', freeze=True, loss_weights={'gram': 3.5}, gram_layers=(3, 8, 15, 22), gram_cells=2, padding='reflect', loss_margin=16)
# issue #31: the x4 release recipe (final PixelShuffle blurred, finding s5; an unfrozen second stage), started from the x2 model
X4_STAGE1, X4_STAGE2 = RELEASE_RECIPES['superres-x4']

CANDIDATES = {
    # at Gram 4.5, 4,000 steps: content 1.30 and style 0.373 against the targets 1.2 and 0.45; at 3.5: content 1.209,
    # style 0.400, 8/12 photos with every cell <= 0.6 — refused, research/README.md finding 22
    'style-margin16-g35': [(STYLE_G35, 1)],
    # the same, then a quarter as many steps again at lr 3e-4 with the cells' Gram distances combined as a power mean (p = 4):
    # the worst-styled cells of every crop get more of the gradient — refused, finding 23
    'style-margin16-g35-power4': [(STYLE_G35, 1), (STYLE_G35.replace(gram_power=4., init='{previous}', lr=3e-4), 0.25)],
    # the x4 release recipe from ImageNet instead of the x2 model (finding s-x4)
    'superres-x4-blur': [(X4_STAGE1[0].replace(init=None), X4_STAGE1[1]), X4_STAGE2],
}
