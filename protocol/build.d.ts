/** Replaced at bundle time by scripts/build.mjs with the version in package.json. */
declare const REACTORSCOPE_VERSION: string;
