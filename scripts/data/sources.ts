// Which Debian packages the natural-photo set is drawn from, which files in them are candidates,
// and the verdicts of a visual review (contact sheets, see data/README.md).
//
// Packages that were downloaded, reviewed and contain no photos are listed in REVIEWED_WITHOUT_PHOTOS
// (so nobody re-does that review); they are not downloaded by assemble.sh.

export type Verdict = 'photo' | 'graphic';

export interface PackageSource {
  package: string;
  /** Globs (`*` within a path segment, `**` across segments) over paths inside the package. */
  include: string[];
  /**
   * Map from the installed location to the path in the *source* tree, which is what the
   * `Files:` patterns of debian/copyright refer to. First matching prefix wins.
   */
  sourcePrefix: Array<[installed: string, source: string]>;
  /**
   * Visual-review verdicts by file base name (no extension). Candidates without an entry take the
   * heuristic's verdict (features.ts). A 'graphic' verdict always carries the reason in `why`.
   */
  review?: Record<string, { verdict: Verdict; why: string }>;
  /**
   * Files that show the same scene (stereo pairs, light/dark variants, sizes of one wallpaper):
   * [regexp, replacement] rules applied in turn to the file's name to give its group name.
   * Near-duplicates are also merged automatically by perceptual hash (assemble.ts).
   */
  groupRules?: Array<[pattern: string, replacement: string]>;
  /** Keep only the largest landscape file of each folder (wallpapers shipped in several sizes). */
  largestPerDir?: boolean;
  /** Name files by this path segment (0-based) instead of their base name, for reviews and groups. */
  nameSegment?: number;
  /** Verdict for every candidate without a `review` entry, when the whole package was reviewed. */
  defaultVerdict?: { verdict: Verdict; why: string };
  /** Free-text note on licensing stored in the manifest next to the Debian license. */
  licenseNote?: string;
}

const G = (why: string) => ({ verdict: 'graphic' as const, why });
const P = (why = 'visual review') => ({ verdict: 'photo' as const, why });

export const SOURCES: PackageSource[] = [
  {
    package: 'endless-sky-data',
    include: ['usr/share/games/endless-sky/images/land/*.jpg'],
    sourcePrefix: [['usr/share/games/endless-sky/', '']],
    // Landscape/city/space photographs, 720×360, "cropped and edited" per debian/copyright.
    defaultVerdict: P('visual review of all 273: photographs (incl. NASA space/launch photos), no renders'),
  },
  {
    package: 'lomiri-wallpapers-16.04',
    include: ['usr/share/backgrounds/*.jpg'],
    sourcePrefix: [['usr/share/backgrounds/', '16.04/']],
    defaultVerdict: P('visual review: photographs except the two listed'),
    review: {
      analogpattern_by_Peter_Nerlich: G('abstract grain/bokeh texture, no scene'),
      umang_by_Abhishek_Mudgal: G('smooth colour gradient'),
    },
  },
  {
    package: 'lomiri-wallpapers-20.04',
    include: ['usr/share/backgrounds/*.jpg'],
    sourcePrefix: [['usr/share/backgrounds/', '20.04/']],
    review: {
      Fossa_by_Jasper_Roks: G('vector illustration'),
      'Infinite-Sea_by_Aury88': G('digital painting'),
      'Painting-Colors_by__herobrine7gamer': G('vector stripes'),
      Kleiber_by_Lukas_Baubkus: P(),
    },
  },
  {
    package: 'mate-backgrounds',
    include: ['usr/share/backgrounds/mate/nature/*.jpg', 'usr/share/backgrounds/mate/abstract/*.jpg'],
    sourcePrefix: [['usr/share/backgrounds/mate/', '']],
    defaultVerdict: P('visual review: the nature/ folder holds photographs only'),
    review: {
      Elephants: G('fractal render'),
      Elephants_3840x2160: G('fractal render'),
      Elephants_5640x3172: G('fractal render'),
    },
    groupRules: [['^Elephants.*$', 'Elephants']],
  },
  {
    package: 'plasma-workspace-wallpapers',
    // Every wallpaper ships several sizes; assemble keeps the largest landscape one per folder.
    include: ['usr/share/wallpapers/*/contents/images/*.jpg', 'usr/share/wallpapers/*/contents/images/*.png',
      'usr/share/wallpapers/*/contents/images_dark/*.jpg', 'usr/share/wallpapers/*/contents/images_dark/*.png'],
    sourcePrefix: [['usr/share/wallpapers/', '']],
    largestPerDir: true,
    nameSegment: 3,
    review: Object.fromEntries([
      ...['Altai', 'Canopee', 'Cascade', 'Cluster', 'Elarun', 'Flow', 'FlyingKonqui', 'Honeywave', 'IceCold',
        'Kay', 'Kokkini', 'MilkyWay', 'Opal', 'PastelHills', 'Patak', 'Shell', 'Volna']
        .map((n) => [n, G('vector/3D render')]),
      ['Autumn', G('painting')], ['SafeLanding', G('illustration')],
      ...['BytheWater', 'ColdRipple', 'ColorfulCups', 'DarkestHour', 'EveningGlow', 'FallenLeaf', 'Grey', 'Kite',
        'OneStandsOut', 'Path', 'summer_1am'].map((n) => [n, P()]),
    ]),
    // Base names are sizes (5120x2880): reviews and groups use the wallpaper's folder name instead.
  },
  {
    package: 'python3-skimage',
    include: ['usr/lib/python3/dist-packages/skimage/data/*.png', 'usr/lib/python3/dist-packages/skimage/data/*.jpg'],
    sourcePrefix: [['usr/lib/python3/dist-packages/', '']],
    review: Object.fromEntries([
      ...['astronaut', 'chelsea', 'coffee', 'motorcycle_left', 'motorcycle_right', 'rocket'].map((n) => [n, P()]),
      ['hubble_deep_field', G('astronomical image, not a natural RGB scene')],
      ['retina', G('medical fundus image')], ['ihc', G('microscopy')],
      ['truncated', G('deliberately truncated JPEG (decoder test)')],
    ]),
    groupRules: [['^motorcycle_(left|right)$', 'motorcycle']],
    defaultVerdict: G('not a natural RGB photo (test pattern, greyscale, texture or clip art); reviewed on a contact sheet'),
    licenseNote: 'Per-image provenance is given in the docstrings of skimage/data/_fetchers.py '
      + '(astronaut/rocket: NASA/SpaceX public domain; chelsea, coffee: CC0 by the photographers).',
  },
  {
    package: 'opencv-doc',
    include: ['usr/share/doc/opencv-doc/examples/data/*.jpg', 'usr/share/doc/opencv-doc/examples/data/*.png'],
    sourcePrefix: [['usr/share/doc/opencv-doc/examples/', 'samples/']],
    review: Object.fromEntries([
      ...['aero1', 'aero3', 'aloeL', 'aloeR', 'apple', 'baboon', 'board', 'building', 'butterfly', 'ela_modified',
        'ela_original', 'fruits', 'home', 'left', 'right', 'leuvenA', 'leuvenB', 'messi5', 'orange', 'squirrel_cls',
        'stuff', 'graf1', 'graf3', 'chicky_512', 'rubberwhale1', 'rubberwhale2', 'smarties'].map((n) => [n, P()]),
      ...['Blender_Suzanne1', 'Blender_Suzanne2', 'blox'].map((n) => [n, G('3D render')]),
      ['starry_night', G('painting')], ['HappyFish', G('clip art')],
      ['licenseplate_motion', G('synthetically motion-blurred test image')],
      ['text_defocus', G('synthetically blurred document')], ['text_motion', G('synthetically blurred document')],
      ['pca_test1', G('binary-like silhouettes on white')],
      ...['aloeGT', 'box', 'box_in_scene', 'basketball1', 'basketball2'].map((n) => [n, G('greyscale or ground-truth map')]),
    ]),
    // Stereo pairs / viewpoint pairs show the same scene: keep them in one split.
    groupRules: [['^(aero|aloe|leuven|graf|rubberwhale|ela_).*$', '$1'], ['^(left|right)$', 'stereo-room']],
    defaultVerdict: G('not a natural RGB photo (synthetic pattern, greyscale calibration shot, logo or document); reviewed on a contact sheet'),
    licenseNote: 'debian/copyright covers samples/data only by its catch-all paragraph; several classic test '
      + 'images (baboon, fruits, messi5) have no recorded upstream photographer licence.',
  },
];

/** Downloaded, reviewed on contact sheets, and found to hold no usable natural photos. */
export const REVIEWED_WITHOUT_PHOTOS: Record<string, string> = {
  'gnome-backgrounds': 'all wallpapers are SVG or rendered WebP graphics',
  'ukui-wallpapers': 'illustrations and vector art',
  'sway-backgrounds': 'logo graphics',
  'lomiri-wallpapers': 'two logo/graphic backgrounds',
  'desktop-base': 'Debian theme artwork (vector graphics)',
  'stellarium-data': 'nebula/deep-sky images, not natural RGB scenes (246 MB; not downloaded)',
};

/** Candidates smaller than this on their short side cannot give one training tile: skipped. */
export const MIN_SHORT_SIDE = 256;

/** Fraction of groups assigned to the test split, and the salt of the split hash. Changing either
 *  changes the versioned test split (data/test_split.json) — bump SPLIT_VERSION with it. */
export const TEST_FRACTION = 0.12;
export const SPLIT_VERSION = 'fmboost-photos-split-v1';
