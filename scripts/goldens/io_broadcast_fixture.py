"""Writes tests/fixtures/io/broadcast.ckpt: a 1-2 KB Lightning-style checkpoint whose VAE weights are stride-0 views
(torch.zeros(1).expand(...)) that claim a huge model over one-element storages. torch.save keeps the views as they
are, so a reader that trusts the shapes infers an enormous VAE config and allocates it (a probe saw 9.2 GB).
Run: /usr/bin/python3 scripts/goldens/io_broadcast_fixture.py"""
import os
import torch

OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'tests', 'fixtures', 'io')
z = torch.zeros(1)
sd = {
    'first_stage_model.encoder.conv_in.weight': z.expand(8192, 3, 3, 3),
    'first_stage_model.encoder.conv_in.bias': z.expand(8192),
    'first_stage_model.encoder.down.0.block.0.conv1.weight': z.expand(8192, 8192, 3, 3),
}
torch.save({'state_dict': sd}, os.path.join(OUT, 'broadcast.ckpt'))
print('wrote', os.path.join(OUT, 'broadcast.ckpt'), os.path.getsize(os.path.join(OUT, 'broadcast.ckpt')), 'bytes')
