// The layering of src/ (npm test runs `depcruise`, .ci/run runs npm test): a folder may import only folders of a
// lower rank, never a sibling of its own rank (type-only imports count), and no run-time import may close a cycle.
//   util → tensor (with the native addon) → nn, io, distributed → flow, diffusion, models, data, metrics → artifacts
//        → upscale → train, pipeline → eval, serve → cli        (src/index.ts, the package entry, may import any of them)
const RANKS = [
  ['util'],
  ['tensor'],
  ['nn', 'io', 'distributed'],
  ['flow', 'diffusion', 'models', 'data', 'metrics'],
  ['artifacts'],
  ['upscale'],
  ['train', 'pipeline'],
  ['eval', 'serve'],
  ['cli'],
];

const forbidden = [
  { name: 'no-circular', severity: 'error', comment: 'an import cycle (type-only imports may close one: they vanish at run time)', from: { path: '^src/' }, to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } } },
  { name: 'no-test-imports', severity: 'error', comment: 'src/ must not import tests, bench or scripts', from: { path: '^src/' }, to: { path: '^(tests|bench|scripts)/' } },
];
RANKS.forEach((folders, rank) => {
  for (const f of folders) {
    const above = RANKS.slice(rank + 1).flat();
    const siblings = folders.filter((g) => g !== f);
    const banned = [...above, ...siblings];
    if (!banned.length) continue;
    forbidden.push({
      name: `layer-${f}`,
      severity: 'error',
      comment: `src/${f} may import only ${RANKS.slice(0, rank).flat().join(', ') || 'node and npm modules'}`,
      from: { path: `^src/${f}/` },
      to: { path: `^src/(${banned.join('|')})/` },
    });
  }
});
// Every folder of src/ must have a rank (a new folder is placed on purpose).
forbidden.push({
  name: 'unranked-folder',
  severity: 'error',
  comment: 'a folder of src/ without a rank in .dependency-cruiser.cjs',
  from: { path: '^src/' },
  to: { path: `^src/(?!(${RANKS.flat().join('|')})/)[^/]+/` },
});

module.exports = {
  forbidden,
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(dist|node_modules)/' },
  },
};
