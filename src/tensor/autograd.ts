// torch.autograd.grad: gradients of outputs with respect to chosen inputs, without touching .grad.
import { native } from './native.js';
import { nativeCall } from './dispatch.js';
import { Tensor } from './tensor.js';

export function autogradGrad(outputs: Tensor[], inputs: Tensor[], opts: { gradOutputs?: Tensor[]; retainGraph?: boolean; createGraph?: boolean } = {}): (Tensor | null)[] {
  const res = nativeCall('autograd.grad', [...outputs, ...inputs], () =>
    native.autogradGrad(outputs.map((t) => t.handle), inputs.map((t) => t.handle), opts.gradOutputs?.map((t) => t.handle) ?? null,
      opts.retainGraph ?? false, opts.createGraph ?? false));
  return res.map((h) => (h === null ? null : Tensor.fromHandle(h)));
}
