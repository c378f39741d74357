"""Where a `gpu`-profile training step spends its time: torch's profiler over 10 super-resolution x2 steps (after
10 warm-up steps) in one precision, printed as two tables (by CPU time, by GPU time).

Run on a CUDA machine, from the repository root (random weights: same networks, no downloads):

    python bench/profile_step.py fp32 > bench/PROFILE-gpu-fp32.txt
    python bench/profile_step.py fp16 > bench/PROFILE-gpu-fp16.txt
"""
import sys, time
import torch
from fastai.callback.core import Callback, CancelFitException
from fastai.torch_core import set_seed
from torch.profiler import ProfilerActivity, profile

from enhance_lab.core import get_profile
from enhance_lab.data import superres_dls
from enhance_lab.learners import superres_learner


class ProfileSteps(Callback):
    "Profile training steps `start`…`start + n - 1`, print the tables, then stop training."
    order = 99
    def __init__(self, start: int = 10, n: int = 10): self.start, self.n, self.seen = start, n, 0
    def after_batch(self):
        if not self.training: return
        self.seen += 1
        if self.seen == self.start:
            torch.cuda.synchronize()
            self.prof, self.t0 = profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]), time.perf_counter()
            self.prof.__enter__()
        elif self.seen == self.start + self.n:
            torch.cuda.synchronize()
            print(f"{self.n} steps: {time.perf_counter() - self.t0:.3f} s wall")
            self.prof.__exit__(None, None, None)
            averages = self.prof.key_averages()
            print(averages.table(sort_by='self_cpu_time_total', row_limit=25, max_name_column_width=60))
            print(averages.table(sort_by='self_cuda_time_total', row_limit=15, max_name_column_width=60))
            raise CancelFitException()


if __name__ == '__main__':
    precision = sys.argv[1] if len(sys.argv) > 1 else 'fp32'
    p = get_profile('gpu')
    set_seed(0)
    dls = superres_dls('samples', 2, profile=p, steps_per_epoch=40)
    learn = superres_learner(dls, profile=p, pretrained='none', vgg_weights='random', precision=precision)
    print(f"superres x2, gpu profile ({p.size} px crops, batch {p.bs}), precision {precision}, {torch.cuda.get_device_name()}")
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3, cbs=[ProfileSteps()])
