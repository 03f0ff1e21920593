import pkg from '../package.json' with { type: 'json' };

/** The gateway's version, from its package.json (inlined into the image's bundle). */
export const VERSION: string = pkg.version;
