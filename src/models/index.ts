// Models with the reference's module trees (state_dict keys equal PyTorch's): EfficientUNet, AutoencoderKL.
export * as unet from './unet/index.js';
export * as vae from './vae/index.js';
export * as sd from './sd/index.js';
export { EfficientUNet, resolveUNetConfig, timestepEmbedding, unetStateDictFromCheckpoint, type EfficientUNetConfig, type ResolvedUNetConfig } from './unet/index.js';
export { AutoencoderKL, DiagonalGaussianDistribution, PatchMoments, pcaInitShortcut, resolveVAEConfig, SD_VAE_DEFAULTS, toLdmVaeStateDict, diffusersVaeKeyToLdm, type AutoencoderKLConfig, type ResolvedVAEConfig } from './vae/index.js';
export { ModelConfigError } from './config_util.js';
export { runParity, loadParityFixture, DEFAULT_TOLERANCE, ZERO_GRAD_FLOOR, ParityFixtureError, type ParityFixture, type ParityReport, type ParityEntry, type ParityTolerance } from './parity.js';
export { UNET_PRESETS, VAE_PRESETS, createUNet, createVAE, presetConfig, type Preset, type UNetPresetName, type VAEPresetName } from './presets.js';
export { unetMacs, vaeMacs, sdUnetMacs } from './flops.js';
export {
  loadVae, loadUnet, readVaeWeights, readUnetWeights, buildVae, buildUnet, inferVaeConfig, configForMetadata, ModelLoadError, WEIGHTS_FORMAT,
  readVaeStateDict, loadVaeWeightsInto, type ReadVaeStateDictOptions, type VaeStateDict,
  type SourceFormat, type LoadVaeOptions, type LoadUnetOptions, type ModelWeights, type ConfigSpec,
} from './load.js';
export { convertWeights, detectModelKinds, type ConvertOptions, type ConvertReport, type ModelKind } from './convert.js';
export * as clip from './clip/index.js';
export { CLIPTokenizer, CLIPTextModel, loadCLIPTextModel } from './clip/index.js';
