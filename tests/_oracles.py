"""Oracles shared by test folders (import: ``from tests._oracles import ...``)."""

import numpy as np

import backprop_lib as bp


def sgd_mse_outputs(net, x, y, lr, steps):
    """Full-batch GD with bp.optim.SGD and bp.nn.MSELoss (mean of (f − y)², no ½): SGD at lr/2
    on it is GD at lr on L = 1/(2n)Σ(f − y)², the loss of bp.ntk. Outputs (steps + 1, n)."""
    loss_fn, opt = bp.nn.MSELoss(), bp.optim.SGD(net.parameters(), lr=lr / 2)
    outputs = []
    for step in range(steps + 1):
        out = net(x)
        outputs.append(out[:, 0].copy())
        if step == steps:
            break
        loss_fn(out, y[:, None])
        opt.zero_grad()
        net.backward(loss_fn.backward())
        opt.step()
    return np.array(outputs)
