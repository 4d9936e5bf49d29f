// CLIP's text transformer (openai/CLIP clip/model.py, encode_text up to ln_final) under HF transformers'
// CLIPTextModel names, so diffusers' text_encoder/model.safetensors and SD checkpoints' cond_stage_model.transformer.
// load as they are: pre-norm blocks (LayerNorm → causal multi-head self-attention → residual; LayerNorm → MLP →
// residual), then a final LayerNorm. SD1.5 conditions its UNet on this last hidden state, [B, 77, 768].
import { Tensor, tidy } from '../../tensor/index.js';
import { F } from '../../tensor/index.js';
import { Embedding, Module, LayerNorm, Linear, ModuleList } from '../../nn/index.js';
import { resolveCLIPTextConfig, type CLIPTextConfig, type CLIPTextPresetName, type ResolvedCLIPTextConfig } from './config.js';

export class CLIPTextEmbeddings extends Module {
  readonly tokenEmbedding: Embedding;
  readonly positionEmbedding: Embedding;
  constructor(readonly config: ResolvedCLIPTextConfig) {
    super();
    this.tokenEmbedding = this.registerModule('token_embedding', new Embedding(config.vocabSize, config.width));
    this.positionEmbedding = this.registerModule('position_embedding', new Embedding(config.maxPositions, config.width));
  }
  /** ids [B, L] → token + position embeddings [B, L, width] (positions 0..L−1). */
  forward(ids: Tensor): Tensor {
    return tidy(() => this.tokenEmbedding.forward(ids).add(this.positionEmbedding.weight.narrow(0, 0, ids.shape[1])));
  }
}

/** Multi-head self-attention with a causal mask (each token sees itself and the tokens before it). */
export class CLIPAttention extends Module {
  readonly qProj: Linear;
  readonly kProj: Linear;
  readonly vProj: Linear;
  readonly outProj: Linear;
  readonly heads: number;
  readonly headDim: number;
  constructor(config: ResolvedCLIPTextConfig) {
    super();
    const w = config.width;
    this.heads = config.heads;
    this.headDim = w / config.heads;
    this.qProj = this.registerModule('q_proj', new Linear({ inFeatures: w, outFeatures: w }));
    this.kProj = this.registerModule('k_proj', new Linear({ inFeatures: w, outFeatures: w }));
    this.vProj = this.registerModule('v_proj', new Linear({ inFeatures: w, outFeatures: w }));
    this.outProj = this.registerModule('out_proj', new Linear({ inFeatures: w, outFeatures: w }));
  }
  /** x [B, L, width] → [B, L, width]. */
  forward(x: Tensor): Tensor {
    return tidy(() => {
      const [b, l, w] = x.shape;
      const split = (t: Tensor) => t.reshape(b, l, this.heads, this.headDim).transpose(1, 2); // [B, H, L, d]
      const h = F.scaledDotProductAttention(split(this.qProj.forward(x)), split(this.kProj.forward(x)), split(this.vProj.forward(x)), { isCausal: true });
      return this.outProj.forward(h.transpose(1, 2).reshape(b, l, w));
    });
  }
}

/** x·σ(1.702·x): the GELU approximation CLIP was trained with. */
export function quickGelu(x: Tensor): Tensor {
  return tidy(() => x.mul(x.mul(1.702).sigmoid()));
}

export class CLIPMLP extends Module {
  readonly fc1: Linear;
  readonly fc2: Linear;
  constructor(readonly config: ResolvedCLIPTextConfig) {
    super();
    this.fc1 = this.registerModule('fc1', new Linear({ inFeatures: config.width, outFeatures: config.intermediate }));
    this.fc2 = this.registerModule('fc2', new Linear({ inFeatures: config.intermediate, outFeatures: config.width }));
  }
  forward(x: Tensor): Tensor {
    return tidy(() => {
      const h = this.fc1.forward(x);
      return this.fc2.forward(this.config.activation === 'quick_gelu' ? quickGelu(h) : F.gelu(h));
    });
  }
}

export class CLIPEncoderLayer extends Module {
  readonly selfAttn: CLIPAttention;
  readonly layerNorm1: LayerNorm;
  readonly mlp: CLIPMLP;
  readonly layerNorm2: LayerNorm;
  constructor(config: ResolvedCLIPTextConfig) {
    super();
    this.selfAttn = this.registerModule('self_attn', new CLIPAttention(config));
    this.layerNorm1 = this.registerModule('layer_norm1', new LayerNorm({ normalizedShape: config.width, eps: config.eps }));
    this.mlp = this.registerModule('mlp', new CLIPMLP(config));
    this.layerNorm2 = this.registerModule('layer_norm2', new LayerNorm({ normalizedShape: config.width, eps: config.eps }));
  }
  forward(x: Tensor): Tensor {
    return tidy(() => {
      const h = x.add(this.selfAttn.forward(this.layerNorm1.forward(x)));
      return h.add(this.mlp.forward(this.layerNorm2.forward(h)));
    });
  }
}

export class CLIPEncoder extends Module {
  readonly layers: ModuleList<CLIPEncoderLayer>;
  constructor(config: ResolvedCLIPTextConfig) {
    super();
    this.layers = this.registerModule('layers', new ModuleList(Array.from({ length: config.layers }, () => new CLIPEncoderLayer(config))));
  }
  forward(x: Tensor): Tensor {
    return tidy(() => {
      let h = x;
      for (const layer of this.layers) {
        const next = layer.forward(h);
        if (h !== x) h.dispose(); // keep one layer's activations alive at a time
        h = next;
      }
      return h === x ? x.alias() : h;
    });
  }
}

export class CLIPTextTransformer extends Module {
  readonly embeddings: CLIPTextEmbeddings;
  readonly encoder: CLIPEncoder;
  readonly finalLayerNorm: LayerNorm;
  constructor(readonly config: ResolvedCLIPTextConfig) {
    super();
    this.embeddings = this.registerModule('embeddings', new CLIPTextEmbeddings(config));
    this.encoder = this.registerModule('encoder', new CLIPEncoder(config));
    this.finalLayerNorm = this.registerModule('final_layer_norm', new LayerNorm({ normalizedShape: config.width, eps: config.eps }));
  }
  forward(ids: Tensor): Tensor {
    return tidy(() => this.finalLayerNorm.forward(this.encoder.forward(this.embeddings.forward(ids))));
  }
}

/** HF's CLIPTextModel: parameters under text_model.*; forward gives the last hidden state after final_layer_norm. */
export class CLIPTextModel extends Module {
  readonly config: ResolvedCLIPTextConfig;
  readonly textModel: CLIPTextTransformer;
  constructor(config: CLIPTextConfig | CLIPTextPresetName | Record<string, unknown>) {
    super();
    this.config = resolveCLIPTextConfig(config);
    this.textModel = this.registerModule('text_model', new CLIPTextTransformer(this.config));
  }

  /** ids [B, L] integer token ids (L ≤ maxPositions) → last hidden state [B, L, width]. */
  forward(ids: Tensor): Tensor {
    const { vocabSize, maxPositions } = this.config;
    if (ids.ndim !== 2) throw new RangeError(`CLIPTextModel: ids must be [batch, length], got [${ids.shape.join(', ')}]`);
    if (ids.dtype !== 'int64' && ids.dtype !== 'int32') throw new TypeError(`CLIPTextModel: ids must be int64 (or int32), got ${ids.dtype}`);
    if (ids.shape[1] < 1 || ids.shape[1] > maxPositions) throw new RangeError(`CLIPTextModel: sequence length ${ids.shape[1]} is outside 1..${maxPositions} positions`);
    if (ids.device !== 'meta' && ids.numel > 0) {
      const [lo, hi] = tidy(() => [ids.min().item(), ids.max().item()]);
      if (lo < 0 || hi >= vocabSize) throw new RangeError(`CLIPTextModel: token ids must be in 0..${vocabSize - 1}, got ${lo < 0 ? lo : hi}`);
    }
    return tidy(() => this.textModel.forward(ids.dtype === 'int64' ? ids : ids.long()));
  }
}
