// The degradation names and what each does (no native imports: the training config schema reads them).
export const DEGRADATIONS = ['bilinear', 'bicubic_aa', 'bilinear_aa', 'area'] as const;
export type Degradation = (typeof DEGRADATIONS)[number];

export const DEGRADATION_DOCS: Record<Degradation, string> = {
  bilinear: 'bilinear without antialias (the reference; aliased)',
  bicubic_aa: 'antialiased bicubic (PIL/MATLAB-style imresize; the usual SR benchmark)',
  bilinear_aa: 'antialiased bilinear (a triangle filter)',
  area: "area averaging (PyTorch's mode='area': the mean of each f×f block for integer factors)",
};
