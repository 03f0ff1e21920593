/** For other packages' tests (`@matrixos/proxy/testing`): the Anthropic stand-in, and the real proxy as a process. */
export * from './process.ts';
export * from './upstream/index.ts';
