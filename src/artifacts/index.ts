// fmboost's on-disk artifacts: the format tags, training checkpoints, the config translation and openArtifact.
export { BUNDLE_FORMAT, BUNDLE_VERSION, CHECKPOINT_FORMAT, CHECKPOINT_VERSION, WEIGHTS_FORMAT } from './formats.js';
export {
  saveCheckpoint, loadCheckpoint, CheckpointDir, CheckpointError, CHECKPOINT_EXT,
  type CheckpointData, type LoadedCheckpoint, type CheckpointInfo, type CheckpointKind,
} from './checkpoint.js';
export { openArtifact, ArtifactError, type Artifact, type ArtifactKind } from './open.js';
export { unetModelConfig, vaeModelOverrides } from './config_translation.js';
