// CLIP ViT-L/14's text side, SD1.5's conditioning: the BPE tokenizer and the text transformer (HF CLIPTextModel names).
export { CLIPTokenizer, CLIPTokenizerError, bytesToUnicode, BOS_TOKEN, EOS_TOKEN, type CLIPTokenizeOptions } from './tokenizer.js';
export { cleanText, fixText, htmlUnescape } from './text_clean.js';
export { resolveCLIPTextConfig, CLIP_TEXT_PRESETS, type CLIPTextConfig, type ResolvedCLIPTextConfig, type CLIPTextPresetName, type CLIPActivation } from './config.js';
export { CLIPTextModel, CLIPTextTransformer, CLIPTextEmbeddings, CLIPEncoder, CLIPEncoderLayer, CLIPAttention, CLIPMLP, quickGelu } from './text_encoder.js';
export {
  loadCLIPTextModel, loadCLIPTextWeights, clipTextStateDict, checkCLIPTextStateDict, inferCLIPTextConfig, CLIPLoadError, SD_TEXT_PREFIX,
  type LoadCLIPTextOptions,
} from './load.js';
