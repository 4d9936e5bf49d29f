// PyTorch's default initialisations. Drawn from the given generator, else libtorch's default one, in
// torch's order (weight, then bias), so manualSeed(s) then constructing a layer equals PyTorch's layer.
import { Tensor, Generator, noGrad } from '../tensor/index.js';

/** fan_in and fan_out as torch.nn.init._calculate_fan_in_and_fan_out. */
export function fans(shape: number[]): { fanIn: number; fanOut: number } {
  if (shape.length < 2) throw new RangeError(`fans: need at least 2 dims, got [${shape.join(',')}]`);
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[1] * receptive, fanOut: shape[0] * receptive };
}

export function uniform_(t: Tensor, low: number, high: number, g?: Generator): Tensor {
  return noGrad(() => t.uniform_(low, high, g));
}
export function normal_(t: Tensor, mean: number, std: number, g?: Generator): Tensor {
  return noGrad(() => t.normal_(mean, std, g));
}
export function zeros_(t: Tensor): Tensor {
  return noGrad(() => t.zero_());
}
export function ones_(t: Tensor): Tensor {
  return noGrad(() => t.fill_(1));
}

/** kaiming_uniform_(a=√5), the default for Linear and Conv weights: U(±1/√fan_in). */
export function kaimingUniformDefault_(t: Tensor, g?: Generator): Tensor {
  const { fanIn } = fans(t.shape);
  const gain = Math.sqrt(2 / (1 + 5));
  const bound = gain * Math.sqrt(3 / fanIn);
  return uniform_(t, -bound, bound, g);
}

/** Default bias init: U(±1/√fan_in of the weight). */
export function biasDefault_(bias: Tensor, weightShape: number[], g?: Generator): Tensor {
  const { fanIn } = fans(weightShape);
  const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
  return uniform_(bias, -bound, bound, g);
}

export function xavierUniform_(t: Tensor, gain = 1, g?: Generator): Tensor {
  const { fanIn, fanOut } = fans(t.shape);
  const a = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform_(t, -a, a, g);
}
