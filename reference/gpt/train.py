"""The lecture's training loop (given, not graded): AdamW on random batches, with the train and
val losses estimated every `eval_interval` steps as the mean over `eval_iters` batches."""
import torch

from .data import get_batch


@torch.no_grad()
def estimate_loss(model, splits, block_size, batch_size, eval_iters, generator=None,
                  device='cpu'):
    """Mean loss over `eval_iters` random batches of each split, in eval mode (no dropout)."""
    out = {}
    model.eval()
    for name, data in splits.items():
        losses = torch.zeros(eval_iters)
        for k in range(eval_iters):
            X, Y = get_batch(data, block_size, batch_size, generator)
            _, loss = model(X.to(device), Y.to(device))
            losses[k] = loss.item()
        out[name] = losses.mean().item()
    model.train()
    return out


def train(model, train_data, val_data, max_iters, eval_interval, eval_iters, learning_rate,
          block_size, batch_size, generator=None, device='cpu', on_eval=None, on_step=None):
    """Train `model` in place; returns [(step, train loss, val loss), ...] at each evaluation."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate)
    splits = {'train': train_data, 'val': val_data}
    history = []
    for it in range(max_iters):
        # every once in a while evaluate the loss on train and val sets
        if it % eval_interval == 0 or it == max_iters - 1:
            losses = estimate_loss(model, splits, block_size, batch_size, eval_iters,
                                   generator, device)
            history.append((it, losses['train'], losses['val']))
            if on_eval:
                on_eval(it, losses)
        xb, yb = get_batch(train_data, block_size, batch_size, generator)
        _, loss = model(xb.to(device), yb.to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if on_step:
            on_step(it)
    return history
